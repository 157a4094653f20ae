"""``studio assist``: Echo Brain proposals, shown as diffs, applied only with --apply.

Registration: add ``"studio._cli._assist"`` to ``COMMAND_MODULES`` in ``_cli/__init__.py``.
With no model server configured, or the server down, every command says so and exits
1; nothing else in the studio depends on it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from studio._cli._common import StudioGroup, emit_json, open_studio, wants_json

if TYPE_CHECKING:  # imported when a command runs, so `studio --help` stays fast
    from studio._importer import ImportSummary
    from studio.assistant import EchoBrain, Proposal

COMMANDS: list[click.Command] = []


@click.group("assist", cls=StudioGroup)
def assist_group() -> None:
    """Echo Brain: proposals from an OpenAI-compatible model server (STUDIO_LLM_URL).

    Each command shows its proposal as a diff against the current screenplay and writes
    nothing unless --apply is given. --save FILE keeps the proposed screenplay, so that
    exactly the reviewed version can be applied later with `studio import FILE`.
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
