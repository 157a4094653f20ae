"""Render commands: render, prompts, demo."""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, Any

import click

from studio._cli._common import emit_json, error_document, open_studio, wants_json
from studio._exceptions import StudioError

if TYPE_CHECKING:
    from studio._studio import Studio
    from studio.render._pipeline import RenderProgress, RenderSummary

COMMANDS: list[click.Command] = []


def _render(
    studio: Studio,
    *,
    episode: int,
    project: str | None,
    backend: str,
    max_attempts: int | None,
    report: bool,
    template: str | None = None,
    render_pass: str | None = None,
    retry_review: bool = False,
) -> RenderSummary:
    """Render with a progress bar on stderr (silent under --json)."""
    from tqdm import tqdm

    from studio.render._pipeline import render_episode
    from studio.render._report import run_render_report

    bar = tqdm(total=100, unit="%", desc=f"episode {episode}", disable=wants_json(), leave=False)

    def advance(fraction: float) -> None:
        bar.update(max(0, round(fraction * 100) - bar.n))

    def show(event: RenderProgress) -> None:
        advance(event.fraction)
        bar.set_postfix_str(event.message[:40])

    try:
        if report:
            summary = run_render_report(
                studio,
                episode=episode,
                project=project,
                backend=backend,
                template=template,
                max_attempts=max_attempts,
                on_poll=advance,
                render_pass=render_pass,
                retry_review=retry_review,
            )
            # The report's summary is read back from the database, which does not say
            # which backend rendered: we do.
            return summary if summary.backend else dataclasses.replace(summary, backend=backend)
        return render_episode(
            studio,
            episode=episode,
            project=project,
            backend=backend,
            template=template,
            max_attempts=max_attempts,
            progress=show,
            render_pass=render_pass,
            retry_review=retry_review,
        )
    finally:
        bar.close()


def _print_summary(summary: RenderSummary, seconds: float) -> None:
    if wants_json():
        document = summary.as_dict()
        document["seconds"] = round(seconds, 2)
        emit_json(document)
    else:
        _print_text(summary, seconds)
    sound_error = (summary.sound or {}).get("error")
    if sound_error:
        # The pictures are done and kept; the sound is what failed, so the command fails.
        click.echo(f"error: the episode has no sound: {sound_error}", err=True)
        click.echo(f"the silent episode is kept: {summary.episode_video}", err=True)
        raise click.exceptions.Exit(1)


def _print_text(summary: RenderSummary, seconds: float) -> None:
    if summary.render_pass:
        click.echo(f"pass:   {summary.render_pass}")
    for scene in summary.scenes:
        statuses = ", ".join(
            f"{s['segment']}:{s['status']}" + (f" ({s['pass']} take {s['take']})" if s.get("take") else "")
            for s in scene["segments"]
        )
        click.echo(f"scene {scene['scene']:>3}  {scene['status']:<10} segments {statuses}")
    click.echo(f"video:  {summary.episode_video}")
    sound = summary.sound or {}
    for note in sound.get("notes", []):
        click.echo(f"note:   {note}")
    if sound.get("subtitles"):
        names = sound["subtitles"]
        click.echo(f"sound:  {len(sound['lines'])} lines spoken by {sound['backend']}; "
                   f"subtitles {names['vtt']}, {names['srt']}")  # fmt: skip
    if summary.report:
        click.echo(f"report: {summary.report}")
        click.echo(f"        {summary.report_html}")
    click.echo(f"time:   {seconds:.1f} s")


@click.command("render")
@click.option("--episode", type=int, required=True, help="Episode number.")
@click.option("--project", help="Project title (needed when the database holds several).")
@click.option("--backend", default="animatic", show_default=True, help="animatic or comfyui.")
@click.option(
    "--max-attempts", type=click.IntRange(1, 20), help="Attempts per segment (default: the screenplay's)."
)
@click.option(
    "--no-report", is_flag=True, help="Render in this process without the papermill report notebook."
)
@click.option("--template", help="ComfyUI workflow template (see `studio workflows list`).")
@click.option(
    "--pass",
    "render_pass",
    type=click.Choice(["previs", "final"]),
    help="previs (a storyboard video) or final. Default: previs on the animatic, final on any other "
    "backend. A final pass on an episode rendered as previs makes a new take of every segment; the "
    "previs takes are kept (`studio takes --segment ID`).",
)
@click.option(
    "--retry-review",
    is_flag=True,
    help="Also re-render segments kept for review (a plain re-run keeps them).",
)
def render_command(
    episode: int,
    project: str | None,
    backend: str,
    max_attempts: int | None,
    no_report: bool,
    template: str | None,
    render_pass: str | None,
    retry_review: bool,
) -> None:
    """Render an episode (resuming one that was interrupted) and write its report.

    Every generation is a take; a re-run keeps finished segments (completed, approved,
    or kept for review) and renders what is missing, including queued retakes.
    """
    started = time.perf_counter()
    with open_studio() as studio:
        try:
            summary = _render(
                studio,
                episode=episode,
                project=project,
                backend=backend,
                max_attempts=max_attempts,
                report=not no_report,
                template=template,
                render_pass=render_pass,
                retry_review=retry_review,
            )
        except (StudioError, KeyboardInterrupt) as error:
            if wants_json():
                emit_json(_failure(studio, error, episode, project, backend, started))
            raise
    _print_summary(summary, time.perf_counter() - started)


def _failure(studio: Studio, error: BaseException, episode: int, project: str | None,
             backend: str, started: float) -> dict[str, Any]:
    """The JSON document of a failed render: the error, and every scene and segment as the
    database has them now (what was kept, so a rerun resumes from there)."""
    from sqlalchemy import select

    from studio.render._pipeline import scene_summaries
    from studio.storage._models import EpisodeModel, ProjectModel

    code = error.exit_code if isinstance(error, StudioError) else 130
    document: dict[str, Any] = {
        "error": error_document(type(error).__name__, str(error) or "interrupted", code),
        "project": project, "episode": episode, "backend": backend,
        "seconds": round(time.perf_counter() - started, 2), "scenes": [],
    }
    with studio.database.session() as session:  # read only: nothing is re-planned
        query = (select(EpisodeModel, ProjectModel.title)
                 .join(ProjectModel, EpisodeModel.movie_id == ProjectModel.id)
                 .where(EpisodeModel.episode_number == episode))
        if project is not None:
            query = query.where(ProjectModel.title == project)
        found = session.execute(query).all()
        scene_ids = [s.id for s in found[0][0].scenes] if len(found) == 1 else []
        if len(found) == 1:
            document["project"] = found[0][1]
    document["scenes"] = scene_summaries(studio, scene_ids) if scene_ids else []
    kept = [s for scene in document["scenes"] for s in scene["segments"]
            if s.get("status") == "completed"]
    document["kept_segments"] = len(kept)
    return document


@click.command("prompts")
@click.option("--episode", type=int, required=True, help="Episode number.")
@click.option("--project", help="Project title.")
def prompts_command(episode: int, project: str | None) -> None:
    """Show (and store) every segment's composed prompt before anything is rendered."""
    from studio.render._pipeline import prepare_episode, scene_summaries

    with open_studio() as studio:
        briefs = prepare_episode(studio, episode=episode, project=project)
        scenes = scene_summaries(studio, [b.scene_id for b in briefs])
    if wants_json():
        emit_json({"episode": episode, "scenes": scenes})
        return
    for scene in scenes:
        for segment in scene["segments"]:
            click.echo(
                f"scene {scene['scene']} segment {segment['segment']} (id {segment['id']}) "
                f"[{segment['status']}] seed {segment['seed']}"
            )
            click.echo(f"  + {segment['prompt']}")
            click.echo(f"  - {segment['negative_prompt']}")


@click.command("demo")
@click.option("--no-render", is_flag=True, help="Only import the demo project.")
@click.option("--no-report", is_flag=True, help="Render without the papermill report notebook.")
def demo_command(no_render: bool, no_report: bool) -> None:
    """Import the bundled demo project and render its episode on the animatic backend."""
    started = time.perf_counter()
    with open_studio() as studio:
        summary = studio.import_demo()
        if no_render:
            if wants_json():
                emit_json({"import": summary.as_dict(), "projects": studio.status(project=summary.project)})
            else:
                click.echo(summary.describe())
                click.echo(studio.status_text(project=summary.project))
            return
        if not wants_json():
            click.echo(summary.describe())
        result = _render(
            studio,
            episode=1,
            project=summary.project,
            backend="animatic",
            max_attempts=None,
            report=not no_report,
        )
    _print_summary(result, time.perf_counter() - started)


COMMANDS.extend([render_command, prompts_command, demo_command])
