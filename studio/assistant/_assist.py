"""Echo Brain's tasks on a studio: ask the routed model, get a validated proposal, and
apply it only when accepted; talk about the project in stored conversations.

:class:`EchoBrain` reads the current screenplay (``studio export``'s view of the
database), asks for a structured proposal, and turns it into a :class:`Proposal`: a
diff against the screenplay plus the validator's findings. Nothing is written until
:meth:`EchoBrain.accept`, which imports the proposed screenplay through the same path
as ``studio import`` (validation, one transaction). The proposal file is kept under
``HOME/assistant/`` as a record of what was accepted.

:meth:`EchoBrain.chat` holds a conversation about the project: the system prompt
carries the project (characters, scenes) cut to a share of the context budget, the
stored history follows, and the client trims the oldest turns if the whole does not
fit. :meth:`EchoBrain.suggest_prompt` proposes a segment prompt from scene memory;
:meth:`EchoBrain.accept_prompt` stores it (see :mod:`studio.assistant._prompting`).
Both are kept as conversations (``studio assist chat --list``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from studio._exceptions import NotFoundError
from studio._studio import Studio
from studio.assistant._client import ChatClient
from studio.assistant._context import (
    DEFAULT_REPLY_TOKENS,
    configured_context_tokens,
    estimate_message_tokens,
    estimate_tokens,
    fit_messages,
)
from studio.assistant._conversations import ConversationStore, NewMessage
from studio.assistant._exceptions import AssistantOfflineError, StaleProposalError
from studio.assistant._prompting import (
    PromptProposal,
    apply_prompt,
    check_suggestion,
    load_segment_context,
    prompt_messages,
)
from studio.assistant._proposals import (
    Proposal,
    propose_breakdown,
    propose_character,
    propose_expansion,
    screenplay_data,
)
from studio.assistant._routing import Router
from studio.assistant._schemas import CharacterSheet, PromptSuggestion, SceneBreakdown, SceneExpansion
from studio.assistant._timeouts import DEFAULT_TIMEOUTS, Timeouts
from studio.assistant._types import Message
from studio.project._importer import ImportSummary, export_screenplay, import_file
from studio.project._screenplay import Screenplay
from studio.storage._database import Database
from studio.storage._queries import find_or_raise_project

__all__ = ["PROPOSALS_DIR", "ChatReply", "EchoBrain", "project_brief"]

PROPOSALS_DIR = "assistant"
_EXCERPT = 240
#: The share of the prompt budget the project description may take in a chat; the
#: rest is for the conversation itself.
BRIEF_SHARE = 0.5

SYSTEM_PROMPT = (
    "You are Echo Brain, the creative assistant of an anime production studio. You help "
    "directors plan episodes, direct scenes and design characters. Stay consistent with "
    "the project below: use only the character names it lists unless asked to create "
    "one, keep the established look and tone, and be concrete and visual."
)


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _EXCERPT else text[: _EXCERPT - 1] + "…"


def project_brief(screenplay: Screenplay, *, max_tokens: int | None = None) -> str:
    """A compact text description of the project for the model's context.

    Args:
        screenplay: The project.
        max_tokens: Cut the description to about this many tokens: the project and its
            characters first, then scenes in order while they fit, then a line saying how
            many were left out. ``None`` keeps everything.
    """
    lines = _brief_lines(screenplay)
    if max_tokens is None or estimate_tokens("\n".join(lines)) <= max_tokens:
        return "\n".join(lines)
    kept: list[str] = []
    for index, line in enumerate(lines):
        remaining = len(lines) - index
        tail = f"({remaining} more lines about characters and scenes left out to fit the context)"
        if estimate_tokens("\n".join([*kept, line, tail])) > max_tokens:
            kept.append(tail)
            break
        kept.append(line)
    text = "\n".join(kept)
    # Even the first lines may not fit a tiny budget: cut characters, never overflow.
    limit = max_tokens * 4
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def _brief_lines(screenplay: Screenplay) -> list[str]:
    lines = [f"Project: {screenplay.title}"]
    if screenplay.description:
        lines.append(f"Premise: {_excerpt(screenplay.description)}")
    if screenplay.characters:
        lines.append("Characters:")
        for c in screenplay.characters:
            look = ", ".join(x for x in (c.hair, c.outfit) if x)
            lines.append(
                f"- {c.name}: {_excerpt(c.description)}" + (f" (looks: {look})" if look else "")
            )
    for episode in screenplay.episodes:
        lines.append(f"Episode {episode.number}: {episode.title}".rstrip(": "))
        if episode.synopsis:
            lines.append(f"  Synopsis: {_excerpt(episode.synopsis)}")
        for scene in episode.scenes:
            lines.append(f"  Scene {scene.number}: {scene.title} — {_excerpt(scene.description)}")
    return lines


@dataclass(frozen=True)
class ChatReply:
    """One finished chat turn, as stored.

    Attributes:
        conversation_id: The conversation (new or continued); resume it with this id.
        content: The assistant's reply.
        model: The model that answered.
        prompt_tokens: Estimated size of what was sent (after fitting).
        completion_tokens: Estimated size of the reply.
        dropped: How many earlier messages were left out to fit the context.
        finish_reason: The server's finish reason (``"length"``: the reply was cut off).
    """

    conversation_id: int
    content: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    dropped: int = 0
    finish_reason: str | None = None

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"


class EchoBrain:
    """The assistant bound to one studio (its database and home).

    Args:
        database: The studio's database.
        home: The studio home (accepted proposals are kept under ``home/assistant``).
        client: The model-server client.
        router: Which model answers which task.
        owns_client: Close ``client`` in :meth:`close`.
    """

    def __init__(
        self,
        *,
        database: Database,
        home: Path,
        client: ChatClient,
        router: Router,
        owns_client: bool = False,
    ) -> None:
        self._database = database
        self._home = home
        self._client = client
        self._router = router
        self._owns_client = owns_client
        self._conversations = ConversationStore(database)

    @classmethod
    def from_studio(
        cls,
        studio: Studio,
        *,
        client: ChatClient | None = None,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        context_tokens: int | None = None,
    ) -> EchoBrain:
        """The assistant for an open studio, on the configured model server.

        Args:
            studio: The open studio.
            client: A client to use instead of opening one (not closed by the assistant).
            timeouts: Limits for the client this opens.
            context_tokens: The model's context window; ``None`` reads
                ``STUDIO_LLM_CONTEXT_TOKENS`` (default 8192). Ignored with ``client``.

        Raises:
            AssistantOfflineError: no ``STUDIO_LLM_URL`` (and no ``client`` given).
            ConfigurationError: ``STUDIO_LLM_CONTEXT_TOKENS`` is malformed.
        """
        router = Router.from_settings(studio.settings)
        if client is not None:
            return cls(database=studio.database, home=studio.home, client=client, router=router)
        if not studio.settings.llm_url:
            raise AssistantOfflineError.not_configured()
        if context_tokens is None:
            context_tokens = configured_context_tokens(studio.settings)
        owned = ChatClient.from_settings(
            studio.settings, timeouts=timeouts, context_tokens=context_tokens
        )
        return cls(
            database=studio.database,
            home=studio.home,
            client=owned,
            router=router,
            owns_client=True,
        )

    def __enter__(self) -> EchoBrain:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the client if this assistant opened it."""
        if self._owns_client:
            self._client.close()

    def __repr__(self) -> str:
        return f"EchoBrain(home={str(self._home)!r}, client={self._client!r})"

    @property
    def conversations(self) -> ConversationStore:
        """The stored conversations of this studio."""
        return self._conversations

    def _system_prompt(self, current: Screenplay) -> str:
        """Echo Brain's instructions and the project, the latter cut to its share of the budget.

        The system message is never trimmed by context fitting, so a large project must
        not be allowed to crowd out the conversation or the request itself.
        """
        budget = self._client.context_tokens - DEFAULT_REPLY_TOKENS
        brief = project_brief(current, max_tokens=max(int(budget * BRIEF_SHARE), 1))
        return f"{SYSTEM_PROMPT}\n\n{brief}"

    def screenplay(self, *, project: str | None = None) -> Screenplay:
        """The project's current screenplay, as ``studio export`` sees it."""
        return export_screenplay(self._database, project=project, home=self._home)

    def breakdown(
        self, *, episode: int, synopsis: str, project: str | None = None
    ) -> Proposal:
        """Propose episode ``episode``'s scenes from a synopsis (routed to ``breakdown``).

        Raises:
            AssistantError: the model server failed or its reply never matched the schema
                (nothing is written either way).
            NotFoundError: no such project.
        """
        current = self.screenplay(project=project)
        model = self._router.model_for("breakdown")
        request = [
            Message.system(self._system_prompt(current)),
            Message.user(
                f"Break this synopsis for episode {episode} into scenes, in story order. "
                "Each scene is one continuous shot sequence in one place; give each a title, "
                "a concrete visual description, location, time of day, mood, the characters "
                "on screen, key dialogue, the camera and the lighting, and a duration in "
                f"seconds.\n\nSynopsis:\n{synopsis}"
            ),
        ]
        result = self._client.ask_structured(request, SceneBreakdown, model=model)
        return propose_breakdown(current, episode, result, synopsis=synopsis, model=model)

    def expand(self, *, scene: int, project: str | None = None) -> Proposal:
        """Propose direction for scene ``scene`` (routed to ``expand``).

        Raises:
            NotFoundError: no such project or scene.
            AssistantError: as for :meth:`breakdown`.
        """
        current = self.screenplay(project=project)
        found = next((s for _, s in current.scenes() if s.number == scene), None)
        if found is None:
            raise NotFoundError(f"no scene number {scene} in {current.title!r}")
        model = self._router.model_for("expand")
        request = [
            Message.system(self._system_prompt(current)),
            Message.user(
                f"Direct scene {scene}. For every character on screen give their action, "
                "facial expression, pose, position (left, center or right) and facing; then "
                "the camera angle and movement and the lighting.\n\nThe scene now (JSON):\n"
                f"{found.model_dump_json(exclude_defaults=True)}"
            ),
        ]
        result = self._client.ask_structured(request, SceneExpansion, model=model)
        return propose_expansion(current, scene, result, model=model)

    def character(self, *, name: str, brief: str, project: str | None = None) -> Proposal:
        """Propose a character sheet for ``name`` (routed to ``character``).

        Raises:
            NotFoundError, AssistantError: as for :meth:`breakdown`.
        """
        current = self.screenplay(project=project)
        model = self._router.model_for("character")
        request = [
            Message.system(self._system_prompt(current)),
            Message.user(
                f"Design the character {name!r}: appearance, outfit, hair, accessories, a "
                "palette of 3-5 #rrggbb colours, and the image-prompt tokens that draw them "
                f"consistently.\n\nBrief:\n{brief}"
            ),
        ]
        sheet = self._client.ask_structured(request, CharacterSheet, model=model)
        if sheet.name != name:
            sheet = sheet.model_copy(update={"name": name})
        return propose_character(current, sheet, model=model)

    def accept(self, proposal: Proposal, *, project: str | None = None) -> ImportSummary:
        """Apply a proposal: import its screenplay exactly as ``studio import`` would.

        The proposed YAML is written to ``HOME/assistant/`` first, so the validator's
        messages point at a real file and line, and the record stays.

        Raises:
            StaleProposalError: the screenplay changed after the proposal was made.
            ScreenplayError: the proposal is not a valid screenplay (the validator's
                messages); nothing is written to the database.
            StorageError: the database refused the import; nothing is written.
        """
        current = self.screenplay(project=project or str(proposal.before.get("title")))
        if screenplay_data(current) != proposal.before:
            raise StaleProposalError(
                "the screenplay changed after this proposal was made; ask the assistant "
                "again so the diff is against the current version"
            )
        folder = self._home / PROPOSALS_DIR
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = folder / f"{stamp}-{proposal.kind}.yaml"
        path.write_text(proposal.yaml(), encoding="utf-8")
        return import_file(self._database, path, home=self._home)

    # ------------------------------------------------------------------------- chat

    def chat(
        self,
        message: str,
        *,
        conversation: int | None = None,
        project: str | None = None,
        on_text: Callable[[str], None] | None = None,
    ) -> ChatReply:
        """One turn of a conversation about the project, streamed, then stored.

        The reply streams from the server (routed to ``chat``); ``on_text`` gets each
        piece as it arrives. The user's message and the reply are stored together once
        the reply is complete, so a failed or interrupted turn stores nothing.

        Args:
            message: What the user says.
            conversation: The stored conversation to continue; ``None`` starts one.
            project: The project to talk about (needed when the database holds several;
                a continued conversation keeps its own project).
            on_text: Called with each piece of the reply as it arrives.

        Raises:
            ValueError: ``message`` is blank.
            NotFoundError: no such conversation or project.
            ContextTooLargeError: the new message alone does not fit the context budget.
            AssistantError: the model server failed; nothing is stored.
        """
        text = message.strip()
        if not text:
            raise ValueError("say something: the message is empty")
        history: list[Message] = []
        if conversation is not None:
            stored = self._conversations.find_or_raise(conversation)
            project = stored.info.project
            history = [m.as_message() for m in stored.messages]
        current = self.screenplay(project=project)
        with self._database.session() as session:
            project_id = find_or_raise_project(session, current.title).id
        model = self._router.model_for("chat")
        budget = self._client.context_tokens - DEFAULT_REPLY_TOKENS
        request = [Message.system(self._system_prompt(current)), *history, Message.user(text)]
        # The client fits the request the same way; fitting here too tells what was
        # sent (for the token counts and the "left out" note).
        fitted = fit_messages(request, budget) if budget > 0 else None
        sent = fitted.messages if fitted is not None else tuple(request)
        parts: list[str] = []
        finish_reason: str | None = None
        for chunk in self._client.stream_chat(sent, model=model):
            if chunk.content:
                parts.append(chunk.content)
                if on_text is not None:
                    on_text(chunk.content)
            finish_reason = chunk.finish_reason or finish_reason
        reply = "".join(parts)
        prompt_tokens = estimate_message_tokens(sent)
        completion_tokens = estimate_tokens(reply)
        conversation_id, _ = self._conversations.append(
            conversation,
            [
                NewMessage("user", text),
                NewMessage(
                    "assistant",
                    reply,
                    model=model,
                    prompt_tokens=prompt_tokens,
                    completion_tokens=completion_tokens,
                ),
            ],
            project_id=project_id,
            task="chat",
            meta={"token_counts": "estimated"},
        )
        return ChatReply(
            conversation_id=conversation_id,
            content=reply,
            model=model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            dropped=fitted.dropped if fitted is not None else 0,
            finish_reason=finish_reason,
        )

    # ----------------------------------------------------------------------- prompts

    def suggest_prompt(self, *, segment: int) -> PromptProposal:
        """Propose a better prompt for segment id ``segment`` (routed to ``prompt``).

        The request carries the scene memory, each character's learned elements, the
        elements that keep failing, the stored prompt and the feedback on earlier
        attempts. The request and the answer are stored as a conversation (task
        ``prompt``), the answer with status ``proposed``; nothing else is written.

        Raises:
            NotFoundError: no segment has that id.
            AssistantError: as for :meth:`breakdown` (nothing is written either way).
        """
        with self._database.session() as session:
            context = load_segment_context(session, segment)
        model = self._router.model_for("prompt")
        current = self.screenplay(project=context.project)
        request = prompt_messages(self._system_prompt(current), context)
        suggestion = self._client.ask_structured(request, PromptSuggestion, model=model)
        proposal = PromptProposal(
            context=context,
            suggestion=suggestion,
            issues=check_suggestion(context, suggestion),
            model=model,
        )
        conversation_id, position = self._conversations.append(
            None,
            [
                NewMessage("user", request[-1].content),
                NewMessage(
                    "assistant",
                    suggestion.model_dump_json(),
                    model=model,
                    prompt_tokens=estimate_message_tokens(request),
                    completion_tokens=estimate_tokens(suggestion.model_dump_json()),
                    proposal=proposal.as_data(),
                    status="proposed",
                ),
            ],
            project_id=context.project_id,
            task="prompt",
            title=f"prompt for segment {context.segment_number} of scene {context.scene_number}",
            meta={"segment_id": context.segment_id, "token_counts": "estimated"},
        )
        return PromptProposal(
            context=context,
            suggestion=suggestion,
            issues=proposal.issues,
            model=model,
            conversation_id=conversation_id,
            position=position + 1,
        )

    def accept_prompt(self, proposal: PromptProposal) -> None:
        """Store a suggested prompt as the segment's prompt; mark the proposal accepted.

        Raises:
            SegmentLockedError: the segment is rendered or being rendered.
            StaleProposalError: its prompt changed after the suggestion was made.
            NotFoundError: the segment no longer exists.
            ValueError: the suggestion has continuity issues.
        """
        apply_prompt(self._database, proposal)
        if proposal.conversation_id is not None and proposal.position is not None:
            self._conversations.set_status(proposal.conversation_id, proposal.position, "accepted")

    def reject_prompt(self, proposal: PromptProposal) -> None:
        """Record that a suggestion was turned down (nothing else changes)."""
        if proposal.conversation_id is not None and proposal.position is not None:
            self._conversations.set_status(proposal.conversation_id, proposal.position, "rejected")
