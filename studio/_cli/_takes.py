"""Director's commands: retake, takes, review."""

from __future__ import annotations

import time
from typing import Any

import click

from studio._cli._common import emit_json, open_studio, registered_in, wants_json

COMMANDS: list[click.Command] = []
command = registered_in(COMMANDS)


@command
@click.command("retake")
@click.option("--segment", type=int, help="Retake one segment (its id: `studio prompts --episode N`).")
@click.option("--scene", type=int, help="Retake every segment of a scene.")
@click.option("--episode", type=int, help="The episode of a time range (or of --resume).")
@click.option("--from", "start", metavar="TIME", help="Start of the range in the episode video: 00:12.")
@click.option("--to", "end", metavar="TIME", help="End of the range: 00:20 (default: the end).")
@click.option("--notes", default="", help="Director's notes, added to the retake's prompt.")
@click.option("--backend", help="animatic or comfyui (default: the backend of the chosen take).")
@click.option(
    "--pass",
    "render_pass",
    type=click.Choice(["previs", "final"]),
    help="The pass of the new takes (default: the chosen take's).",
)
@click.option("--max-attempts", type=click.IntRange(1, 20), help="Attempts per segment.")
@click.option("--template", help="ComfyUI workflow template.")
@click.option("--project", help="Project title (needed when the database holds several).")
@click.option("--queue", "queue_job", is_flag=True, help="Queue a `retake` job for `studio worker` instead.")
@click.option(
    "--resume", is_flag=True, help="Render what is queued in --episode (after a crash)."
)
def retake_command(
    segment: int | None,
    scene: int | None,
    episode: int | None,
    start: str | None,
    end: str | None,
    notes: str,
    backend: str | None,
    render_pass: str | None,
    max_attempts: int | None,
    template: str | None,
    project: str | None,
    queue_job: bool,
    resume: bool,
) -> None:
    """Regenerate segments, re-chain what follows in their scene, and restitch.

    Name the segments with --segment ID, --scene N, or --episode N --from 00:12 --to 00:20.
    Each gets a new take starting from the previous chosen take's last frame; the
    segments after it in the scene are kept when they still continue the new last frame
    and regenerated when not. Other scenes are kept. Earlier takes stay
    (`studio takes --segment ID`). An interrupted retake resumes with --resume.
    """
    from studio.render import parse_timecode, queue_retake, render_retakes, select_segments

    started = time.perf_counter()
    low = parse_timecode(start) if start is not None else None
    high = parse_timecode(end) if end is not None else None
    with open_studio() as studio:
        if queue_job:
            from studio.jobs import enqueue_retake

            job_id, selection = enqueue_retake(
                studio,
                project=project,
                segment=segment,
                scene=scene,
                episode=episode,
                start=low,
                end=high,
                notes=notes,
                backend=backend,
                render_pass=render_pass,
                max_attempts=max_attempts,
            )
            document: dict[str, Any] = {"job": job_id, **selection.as_dict()}
            if wants_json():
                emit_json(document)
            else:
                click.echo(f"queued retake job {job_id} for segments {list(selection.segment_ids)}")
            return
        if resume:
            if episode is None:
                raise click.UsageError("--resume needs --episode N")
            selection_dict: dict[str, Any] = {"episode": episode, "segments": [], "scenes": []}
        else:
            if segment is None and scene is None and low is None and high is None:
                raise click.UsageError(
                    "name what to retake: --segment ID, --scene N, or --episode N --from MM:SS --to MM:SS"
                )
            selection = select_segments(
                studio, project=project, segment=segment, scene=scene, episode=episode, start=low, end=high
            )
            queue_retake(studio, selection, notes=notes, backend=backend, render_pass=render_pass)
            selection_dict = selection.as_dict()
            episode = selection.episode
            project = selection.project
        summary = render_retakes(
            studio, episode=episode, project=project, max_attempts=max_attempts, template=template
        )
    seconds = time.perf_counter() - started
    if wants_json():
        emit_json({"retake": selection_dict, **summary.as_dict(), "seconds": round(seconds, 2)})
        return
    wanted = set(selection_dict["segments"])
    for scene_doc in summary.scenes:
        for seg in scene_doc["segments"]:
            if seg["id"] in wanted or not wanted:
                click.echo(
                    f"scene {scene_doc['scene']} segment {seg['segment']} (id {seg['id']}): {seg['status']}, "
                    f"{seg['pass']} take {seg['take']} of {len(seg['takes'])}"
                )
    click.echo(f"video:  {summary.episode_video}")
    click.echo(f"time:   {seconds:.1f} s")


@command
@click.command("takes")
@click.option("--segment", type=int, required=True, help="Segment id.")
@click.option("--choose", type=int, metavar="TAKE", help="Make take number TAKE the chosen one.")
def takes_command(segment: int, choose: int | None) -> None:
    """List a segment's takes (previs and final, retries, retakes), or choose one.

    The chosen take is the one shown and stitched; `studio render` stitches its scene again.
    """
    from studio._exceptions import NotFoundError
    from studio.project import choose_take, list_takes

    with open_studio() as studio:
        takes = list_takes(studio, segment)
        if choose is not None:
            match = [t for t in takes if t.take == choose]
            if not match:
                numbers = ", ".join(str(t.take) for t in takes) or "none"
                raise NotFoundError(f"segment {segment} has no take {choose}; its takes: {numbers}")
            choose_take(studio, match[0].id)
            takes = list_takes(studio, segment)
    if wants_json():
        emit_json({"segment": segment, "takes": [t.as_dict() for t in takes]})
        return
    for take in takes:
        mark = "*" if take.chosen else " "
        overall = f"{take.overall:.3f}" if take.overall is not None else "-"
        click.echo(
            f"{mark} take {take.take:>2}  {take.render_pass:<6} {take.status:<9} {take.backend:<9} "
            f"seed {take.seed}  overall {overall}" + (f"  notes: {take.notes}" if take.notes else "")
        )


@command
@click.command("review")
@click.option("--segment", type=int, required=True, help="Segment id.")
@click.option("--approve", "verdict", flag_value="approved", help="Approve the chosen take.")
@click.option("--reject", "verdict", flag_value="rejected", help="Reject it and queue a retake.")
@click.option("--rating", type=click.IntRange(1, 5), help="1-5; stored per character present.")
@click.option("--notes", default="", help="What to change (a rejection's retake uses them).")
def review_command(segment: int, verdict: str | None, rating: int | None, notes: str) -> None:
    """Approve a segment, or reject it with notes (queues a retake: `studio retake --resume`)."""
    from studio.project import approve_segment, list_takes, reject_segment

    if verdict is None:
        raise click.UsageError("say --approve or --reject")
    with open_studio() as studio:
        if verdict == "approved":
            feedback = approve_segment(studio, segment, rating=rating, notes=notes)
        else:
            feedback = reject_segment(studio, segment, rating=rating, notes=notes)
        chosen = next((t for t in list_takes(studio, segment) if t.chosen), None)
        with studio.database.session() as session:
            from studio.storage import SegmentModel

            row = session.get(SegmentModel, segment)
            status = row.status if row is not None else None
    document = {
        "segment": segment,
        "verdict": verdict,
        "status": status,
        "feedback": feedback,
        "take": chosen.as_dict() if chosen else None,
    }
    if wants_json():
        emit_json(document)
    elif verdict == "approved":
        click.echo(f"segment {segment} approved")
    else:
        click.echo(f"segment {segment} rejected; retake queued (run `studio retake --resume --episode N`)")
