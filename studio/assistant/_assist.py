"""Echo Brain's tasks on a studio: ask the routed model, get a validated proposal, and
apply it only when accepted.

:class:`EchoBrain` reads the current screenplay (``studio export``'s view of the
database), asks for a structured proposal, and turns it into a :class:`Proposal`: a
diff against the screenplay plus the validator's findings. Nothing is written until
:meth:`EchoBrain.accept`, which imports the proposed screenplay through the same path
as ``studio import`` (validation, one transaction). The proposal file is kept under
``HOME/assistant/`` as a record of what was accepted.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from studio._exceptions import NotFoundError
from studio._importer import ImportSummary, export_screenplay, import_file
from studio._screenplay import Screenplay
from studio._storage._database import Database
from studio._studio import Studio
from studio.assistant._client import ChatClient
from studio.assistant._context import DEFAULT_CONTEXT_TOKENS
from studio.assistant._exceptions import AssistantOfflineError, StaleProposalError
from studio.assistant._proposals import (
    Proposal,
    propose_breakdown,
    propose_character,
    propose_expansion,
    screenplay_data,
)
from studio.assistant._routing import Router
from studio.assistant._schemas import CharacterSheet, SceneBreakdown, SceneExpansion
from studio.assistant._timeouts import DEFAULT_TIMEOUTS, Timeouts
from studio.assistant._types import Message

__all__ = ["PROPOSALS_DIR", "EchoBrain", "project_brief"]

PROPOSALS_DIR = "assistant"
_EXCERPT = 240

SYSTEM_PROMPT = (
    "You are Echo Brain, the creative assistant of an anime production studio. You help "
    "directors plan episodes, direct scenes and design characters. Stay consistent with "
    "the project below: use only the character names it lists unless asked to create "
    "one, keep the established look and tone, and be concrete and visual."
)


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _EXCERPT else text[: _EXCERPT - 1] + "…"


def project_brief(screenplay: Screenplay) -> str:
    """A compact text description of the project for the model's context."""
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
    return "\n".join(lines)


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

    @classmethod
    def from_studio(
        cls,
        studio: Studio,
        *,
        client: ChatClient | None = None,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        context_tokens: int = DEFAULT_CONTEXT_TOKENS,
    ) -> EchoBrain:
        """The assistant for an open studio, on the configured model server.

        Raises:
            AssistantOfflineError: no ``STUDIO_LLM_URL`` (and no ``client`` given).
        """
        router = Router.from_settings(studio.settings)
        if client is not None:
            return cls(database=studio.database, home=studio.home, client=client, router=router)
        if not studio.settings.llm_url:
            raise AssistantOfflineError.not_configured()
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
            Message.system(f"{SYSTEM_PROMPT}\n\n{project_brief(current)}"),
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
            Message.system(f"{SYSTEM_PROMPT}\n\n{project_brief(current)}"),
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
            Message.system(f"{SYSTEM_PROMPT}\n\n{project_brief(current)}"),
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
