"""The episode report: ``parameterized/render_episode.ipynb`` executed by papermill.

``run_render_report`` renders an episode *inside* the notebook's kernel, so the
executed notebook is the record of that render (progress, contact sheet, scores,
video). A failing cell becomes a :class:`studio.RenderError` naming the cell, and the
partial report is kept. The helpers below are what the notebook's thin cells call.
"""

from __future__ import annotations

import base64
import html
import threading
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from studio._exceptions import RenderError
from studio._video import remove_abandoned, write_text_atomic
from studio.backends import Backend, create_backend
from studio.project._views import episode_progress
from studio.render._pipeline import RenderSummary, slug
from studio.storage._models import EpisodeModel, ProjectModel
from studio.storage._states import RenderPass

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from studio._studio import Studio

__all__ = [
    "contact_sheet",
    "contact_sheet_and_waveform_html",
    "sound_report_html",
    "takes_table_html",
    "figure_png",
    "report_paths",
    "run_render_report",
    "scores_figure",
    "scores_table_html",
    "summary_from_database",
    "video_html",
]

KERNEL_NAME = "python3"
EMBED_VIDEO_LIMIT = 25 * 1024 * 1024  # larger episodes are linked, not embedded


def notebook_template() -> Path:
    """The packaged render notebook (``parameterized/`` in the repository)."""
    return Path(str(resources.files("studio._parameterized") / "render_episode.ipynb"))


def report_paths(home: Path, project: str, episode: int) -> tuple[Path, Path]:
    folder = home / "reports" / slug(project)
    return folder / f"episode_{episode:02d}.ipynb", folder / f"episode_{episode:02d}.html"


def run_render_report(
    studio: Studio,
    *,
    episode: int,
    project: str | None = None,
    backend: str = "animatic",
    template: str | None = None,
    max_attempts: int | None = None,
    job_id: int | None = None,
    on_poll: Callable[[float], None] | None = None,
    render_pass: str | None = None,
    retry_review: bool = False,
) -> RenderSummary:
    """Execute the render notebook for one episode and export it to HTML.

    Args:
        on_poll: Called about twice a second with the episode's progress (0..1) read
            from the database, for a progress bar in the calling process.
        render_pass: ``previs`` or ``final`` (default: previs on the animatic, final
            otherwise); see :func:`studio.render.render_episode`.
        retry_review: Re-render segments kept for review too.

    Raises:
        RenderError: a cell failed (the message names it; the partial report is kept).
        NotFoundError: unknown project or episode (checked before the kernel starts).
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from studio.render._pipeline import prepare_episode

    # Fail fast, before a kernel starts: the project, the episode and the backend's limits.
    engine = create_backend(backend, studio.settings)
    try:
        briefs = prepare_episode(
            studio,
            episode=episode,
            project=project,
            backend=engine,
            parameters={"template": template} if template else {},
        )
    finally:
        _close_backend(engine)
    title = briefs[0].project
    notebook, page = report_paths(studio.home, title, episode)
    notebook.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned(notebook.parent)  # a report killed while exporting its page
    parameters = {
        "home": str(studio.home),
        "database_url": studio.settings.database_url,
        "project": title,
        "episode": episode,
        "backend": backend,
        "template": template or "",
        "comfyui_urls": ",".join(studio.settings.comfyui_urls),
        "max_attempts": max_attempts or 0,
        "job_id": job_id or 0,
        "render_pass": render_pass or "",
        "retry_review": retry_review,
    }
    stop = threading.Event()
    watcher = None
    if on_poll is not None:
        watcher = threading.Thread(
            target=_watch, args=(studio, title, episode, on_poll, stop), name="report-progress", daemon=True
        )
        watcher.start()
    try:
        papermill.execute_notebook(
            str(notebook_template()),
            str(notebook),
            parameters=parameters,
            kernel_name=KERNEL_NAME,
            progress_bar=False,
            log_output=False,
            request_save_on_cell_execute=True,
            cwd=str(notebook.parent),
        )
    except PapermillExecutionError as error:
        if error.ename != "RenderCancelled":
            # A cancelled render keeps its notebook but skips the page (seconds of
            # nbconvert): Cancel must take effect at once; a finished re-run writes it.
            _export_html(notebook, page)
        raise RenderError(
            f"the render report failed in cell {error.cell_index} ({error.ename}: {error.evalue}); "
            f"the partial report is at {notebook}",
            episode=episode,
            report_path=str(notebook),
        ) from None
    finally:
        stop.set()
        if watcher is not None:
            watcher.join()
    _export_html(notebook, page)
    summary = summary_from_database(studio, title, episode)
    summary.report, summary.report_html = notebook, page
    summary.backend = backend
    summary.render_pass = render_pass or RenderPass.default_for(backend).value
    return summary


def _close_backend(engine: Backend) -> None:
    from studio.render._pipeline import run_coroutine

    run_coroutine(engine.aclose)


def _watch(
    studio: Studio, project: str, episode: int, sink: Callable[[float], None], stop: threading.Event
) -> None:
    while not stop.wait(0.5):
        sink(episode_progress(studio, episode, project=project).fraction)
    sink(episode_progress(studio, episode, project=project).fraction)


def summary_from_database(studio: Studio, project: str, episode: int) -> RenderSummary:
    from studio.render._pipeline import scene_summaries

    with studio.database.session() as session:
        row = session.scalars(
            select(EpisodeModel)
            .join(ProjectModel, EpisodeModel.movie_id == ProjectModel.id)
            .where(ProjectModel.title == project, EpisodeModel.episode_number == episode)
        ).one()
        video = studio.home / row.final_video_path if row.final_video_path else Path()
        scene_ids = [s.id for s in row.scenes]
    from studio.sound import read_sound_record

    return RenderSummary(
        project=project,
        episode=episode,
        episode_video=video,
        backend="",
        seconds=0.0,
        scenes=scene_summaries(studio, scene_ids),
        sound=read_sound_record(video) if video.is_file() else None,
    )


def _export_html(notebook: Path, page: Path) -> None:
    import nbformat
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(notebook, as_version=4))  # type: ignore[no-untyped-call]
    write_text_atomic(page, body)


# ------------------------------------------------------------- what the cells display


def contact_sheet(summary: RenderSummary) -> Figure:
    """First and last frame of every segment, one row per segment."""
    from matplotlib.figure import Figure

    from studio._video import read_image

    rows = [(sc["scene"], seg) for sc in summary.scenes for seg in sc["segments"] if seg["video"]]
    # A bare Figure (no pyplot): no global backend switch, and IPython displays it inline.
    figure = Figure(figsize=(6, 1.8 * max(1, len(rows))))
    axes = figure.subplots(max(1, len(rows)), 2, squeeze=False)
    for (scene, segment), (first_ax, last_ax) in zip(rows, axes, strict=False):
        stem = Path(segment["video"]).with_suffix("")
        for ax, which in ((first_ax, "first"), (last_ax, "last")):
            image = Path(f"{stem}_{which}.png")
            if image.is_file():
                ax.imshow(read_image(image))
            ax.set_title(f"scene {scene} · segment {segment['segment']} · {which}", fontsize=7)
            ax.axis("off")
    figure.tight_layout()
    return figure


def scores_table_html(summary: RenderSummary) -> str:
    header = (
        "<tr><th>scene</th><th>segment</th><th>status</th><th>pass</th><th>take</th><th>takes</th>"
        "<th>attempts</th><th>seed</th>"
        + "".join(f"<th>{name}</th>" for name in _SCORE_NAMES)
        + "<th>decision</th><th>why, and what each retry changed</th></tr>"
    )
    body = []
    for scene in summary.scenes:
        for segment in scene["segments"]:
            scores = segment["scores"] or {}
            cells = "".join(
                f"<td>{scores[n]:.3f}</td>" if isinstance(scores.get(n), float) else "<td>-</td>"
                for n in _SCORE_NAMES
            )
            body.append(
                f"<tr><td>{scene['scene']}</td><td>{segment['segment']}</td>"
                f"<td>{html.escape(segment['status'])}</td>"
                f"<td>{html.escape(str(segment.get('pass') or '-'))}</td>"
                f"<td>{segment.get('take') or '-'}</td><td>{len(segment.get('takes') or [])}</td>"
                f"<td>{segment['attempts']}</td><td>{segment['seed']}</td>"
                f"{cells}<td>{html.escape(str(segment['decision']))}</td>"
                f"<td>{html.escape(_why(segment))}</td></tr>"
            )
    return f"<table>{header}{''.join(body)}</table>"


def _why(segment: dict[str, Any]) -> str:
    """The decision's reasons, then each retry's escalation changes (``attempt 3: steps=35``)."""
    changes = [
        f"attempt {a['attempt']}: " + ", ".join(f"{k}={v}" for k, v in a["changes"].items())
        for a in segment.get("attempt_log") or []
        if a.get("changes")
    ]
    return "; ".join([*(segment.get("reasons") or []), *changes])


def takes_table_html(summary: RenderSummary) -> str:
    """Every take of every segment: its pass, backend, seed, score, and which is chosen."""
    header = (
        "<tr><th>scene</th><th>segment</th><th>take</th><th>pass</th><th>status</th><th>backend</th>"
        "<th>seed</th><th>overall</th><th>chosen</th><th>notes</th></tr>"
    )
    body = []
    for scene in summary.scenes:
        for segment in scene["segments"]:
            for take in segment.get("takes") or []:
                overall = take.get("overall")
                chosen = f"yes ({take.get('chosen_by')})" if take.get("chosen") else ""
                body.append(
                    f"<tr><td>{scene['scene']}</td><td>{segment['segment']}</td><td>{take['take']}</td>"
                    f"<td>{html.escape(str(take['pass']))}</td><td>{html.escape(str(take['status']))}</td>"
                    f"<td>{html.escape(str(take['backend']))}</td><td>{take['seed']}</td>"
                    f"<td>{f'{overall:.3f}' if isinstance(overall, float) else '-'}</td>"
                    f"<td>{chosen}</td><td>{html.escape(str(take.get('notes') or ''))}</td></tr>"
                )
    return f"<table>{header}{''.join(body)}</table>"


_SCORE_NAMES = ("frame_consistency", "motion_smoothness", "seam_continuity", "color_stability", "overall")


def scores_figure(summary: RenderSummary) -> Figure:
    from matplotlib.figure import Figure

    labels: list[str] = []
    series: dict[str, list[float]] = {name: [] for name in _SCORE_NAMES}
    for scene in summary.scenes:
        for segment in scene["segments"]:
            labels.append(f"{scene['scene']}.{segment['segment']}")
            for name in _SCORE_NAMES:
                value = (segment["scores"] or {}).get(name)
                series[name].append(value if isinstance(value, float) else float("nan"))
    figure = Figure(figsize=(8, 3))
    ax = figure.subplots()
    for name, values in series.items():
        ax.plot(labels, values, marker="o", label=name)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("scene.segment")
    ax.set_ylabel("score")
    ax.legend(fontsize=7, loc="lower left")
    figure.tight_layout()
    return figure


def video_html(path: Path) -> str:
    """An HTML5 player for the episode, with its sound and subtitles: embedded when
    small, linked when large."""
    from studio.sound import subtitles_track_html

    if path.stat().st_size <= EMBED_VIDEO_LIMIT:
        data = base64.b64encode(path.read_bytes()).decode()
        source = f"data:video/mp4;base64,{data}"
    else:
        source = html.escape(path.as_uri())
    return f'<video controls width="640" src="{source}">{subtitles_track_html(path)}</video>'


def contact_sheet_and_waveform_html(summary: RenderSummary) -> str:
    """The contact sheet with the episode's waveform beside it."""
    from studio.sound import read_sound_record
    from studio.sound._views import waveform_png

    sheet = base64.b64encode(figure_png(contact_sheet(summary))).decode()
    cells = [f'<img alt="contact sheet" src="data:image/png;base64,{sheet}">']
    record = read_sound_record(summary.episode_video) if summary.episode_video.is_file() else None
    if record and record.get("audio"):
        wave = base64.b64encode(waveform_png(summary.episode_video, record)).decode()
        cells.append(f'<img class="studio-waveform" alt="waveform" src="data:image/png;base64,{wave}">')
    style = "display:flex;gap:12px;align-items:flex-start"
    return f'<div style="{style}">{"".join(f"<div>{c}</div>" for c in cells)}</div>'


def sound_report_html(summary: RenderSummary) -> str:
    """Each line with its voice and time, the subtitles, and any sound failure."""
    from studio.sound import sound_html

    if not summary.episode_video.is_file():
        return "<p>No episode video.</p>"
    return sound_html(summary.episode_video, waveform=False)


def figure_png(figure: Figure) -> bytes:
    """PNG bytes of a figure, for ``IPython.display.Image`` (no pyplot backend involved)."""
    from io import BytesIO

    buffer = BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()
