"""Editor interchange: export-timeline."""

from __future__ import annotations

from pathlib import Path

import click

from studio._cli._common import emit_json, open_studio, wants_json

COMMANDS: list[click.Command] = []


@click.command("export-timeline")
@click.option("--episode", type=int, required=True, help="Episode number.")
@click.option("--project", help="Project title (needed when the database holds several).")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The .otio file to write (default: beside the episode video).",
)
def export_timeline_command(episode: int, project: str | None, out: Path | None) -> None:
    """Write a rendered episode as an OpenTimelineIO timeline for an editor (Resolve, Kdenlive)."""
    from studio.render._timeline import export_timeline

    with open_studio() as studio:
        path = export_timeline(studio, episode=episode, project=project, out=out)
    if wants_json():
        emit_json({"episode": episode, "timeline": str(path)})
    else:
        click.echo(f"timeline: {path}")


COMMANDS.append(export_timeline_command)
