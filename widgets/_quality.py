"""QualityPanel: per-segment and per-seam charts, flagged events, and human review.

Charts are drawn with matplotlib's object API on an Agg canvas and shown as PNG in an
``Image`` widget: no pyplot state, no backend selection, and the same bytes in
JupyterLab, Voila and tests. A review (1-5, notes) approves the segment's chosen take
(:func:`studio.project.approve_segment`) or rejects it
(:func:`studio.project.reject_segment`), which queues a retake with the notes; the panel
then queues a ``retake`` job that a dashboard worker renders (never this kernel), and
shows the new take once it is done. Every take of the segment is listed with a player
and a "Use this take" button, so takes can be played side by side and one chosen. A
segment, its scene or a time range of the episode can be retaken from here too.
"""

from __future__ import annotations

import html
import io
import math
from typing import Any

import ipywidgets as w

from studio import Studio
from studio.jobs import JobInfo, JobStatus
from studio.project import QualityRow, TakeInfo, approve_segment, list_episodes, quality_rows, reject_segment
from widgets._feedback import Feedback, MediaCache, Panel, badge, plural, read_bytes
from widgets._takes import RetakeWatch, TakesView, queue_retake

__all__ = ["QualityPanel", "render_charts"]

MAX_PREVIEW_BYTES = 50 * 1024 * 1024  # a segment's video; larger ones show their first frame only

_SEGMENT_SERIES = (
    ("overall", "overall", "#1f4e79"),
    ("frame_consistency", "frame consistency", "#3fb7b0"),
    ("motion_smoothness", "motion smoothness", "#ee6c4d"),
    ("color_stability", "colour stability", "#8a6100"),
)


def render_charts(rows: list[QualityRow]) -> bytes:
    """PNG of two charts: scores per segment, and continuity per seam."""
    from matplotlib.figure import Figure  # imported here: 0.3 s that only this panel needs

    figure = Figure(figsize=(9, 5.2), dpi=80, layout="constrained")
    top, bottom = figure.subplots(2, 1)
    labels = [row.label for row in rows]
    positions = list(range(len(rows)))
    width = 0.8 / len(_SEGMENT_SERIES)
    for k, (key, name, colour) in enumerate(_SEGMENT_SERIES):
        values = [_value(row.scores.get(key)) for row in rows]
        top.bar([p + (k - 1.5) * width for p in positions], values, width, label=name, color=colour)
    top.set_title("Scores per segment (1 is best)")
    top.set_ylim(0, 1.05)
    top.set_xticks(positions, labels)
    top.set_xlabel("scene.segment")
    top.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    seams = [row for row in rows if row.segment > 1 or row.scores.get("seam_continuity") is not None]
    seam_positions = list(range(len(seams)))
    bottom.bar(
        seam_positions,
        [_value(r.scores.get("seam_continuity")) for r in seams],
        color="#3fb7b0",
        label="continuity",
    )
    bottom.set_ylim(0, 1.05)
    bottom.set_ylabel("seam continuity")
    bottom.set_xticks(seam_positions, [f"→{r.label}" for r in seams])
    bottom.set_title("Per seam: continuity (bars) and jump ratio (line)")
    ratio_axis = bottom.twinx()
    ratio_axis.plot(
        seam_positions, [_value(r.seam_jump_ratio) for r in seams], "o-", color="#b00020", label="jump ratio"
    )
    ratio_axis.set_ylabel("jump ratio")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _value(value: float | None) -> float:
    return value if value is not None and math.isfinite(value) else 0.0


class QualityPanel(Panel):
    """Quality of one episode's segments, and approve/reject with a rating and notes.

    Args:
        studio: The open studio.
        project: Project title; ``None`` for the only project.
        lazy: Draw the charts only when :meth:`refresh` is first called (the app does
            that when the tab is opened), so opening the dashboard stays fast.
        watch: Follow queued retake jobs in a background thread (tests call
            ``panel.retakes.check()`` instead).
    """

    def __init__(
        self, studio: Studio, *, project: str | None = None, lazy: bool = False, watch: bool = True
    ) -> None:
        self.studio = studio
        self.project = project
        self.feedback = Feedback()
        self._rows: list[QualityRow] = []
        self.loaded = False
        guard = self.feedback.guard

        self.episode = w.Dropdown(description="Episode", options=[])
        self.episode.observe(guard("Opening the episode")(lambda _: self.refresh()), names="value")
        self.refresh_button = w.Button(description="Refresh", icon="refresh")
        self.refresh_button.on_click(guard("Refreshing")(lambda _: self.refresh(reload_episodes=True)))
        self.chart = w.Image(format="png", layout=w.Layout(max_width="720px"))
        self.chart.add_class("studio-quality-chart")
        self.summary = w.HTML()
        self.events = w.HTML()
        self.events.add_class("studio-events")

        self.segment = w.Dropdown(description="Segment", options=[])
        self.segment.add_class("studio-review-segment")
        self.rating = w.ToggleButtons(
            description="Rating", options=[("1", 1), ("2", 2), ("3", 3), ("4", 4), ("5", 5)], value=3
        )
        self.rating.style.button_width = "36px"
        self.rating.add_class("studio-rating")
        self.notes = w.Textarea(description="Notes", placeholder="what works, what does not", rows=2)
        self.notes.add_class("studio-review-notes")
        self.approve = w.Button(description="Approve", icon="thumbs-up", button_style="success")
        self.reject = w.Button(description="Reject", icon="thumbs-down", button_style="danger")
        self.approve.add_class("studio-approve")
        self.reject.add_class("studio-reject")
        self.approve.on_click(guard("Saving the review")(lambda _: self.review("approved")))
        self.reject.on_click(guard("Saving the review")(lambda _: self.review("rejected")))
        self.segment_review = w.HTML()
        self.retakes = RetakeWatch(
            studio, guard("Showing the retake")(self._retake_finished), background=watch
        )
        self.takes = TakesView(studio, self.feedback, self._take_chosen)
        self.retake_scope = w.Dropdown(
            description="Retake",
            options=[("this segment", "segment"), ("its scene", "scene"), ("a time range", "range")],
            value="segment",
        )
        self.retake_scope.add_class("studio-retake-scope")
        self.retake_start = w.BoundedFloatText(description="From (s)", min=0.0, max=1e7, value=0.0)
        self.retake_end = w.BoundedFloatText(description="To (s)", min=0.0, max=1e7, value=0.0)
        self.retake_start.add_class("studio-retake-start")
        self.retake_end.add_class("studio-retake-end")
        self.retake_button = w.Button(description="Retake", icon="redo")
        self.retake_button.add_class("studio-retake")
        self.retake_button.on_click(guard("Queueing the retake")(lambda _: self.retake()))
        self._media = MediaCache()
        # What is being rated: the segment's video, or its frame while there is none.
        self.preview_video = w.Video(format="mp4", autoplay=False, controls=True, loop=True, width=384)
        self.preview_video.add_class("studio-review-video")
        self.preview_image = w.Image(format="png", layout=w.Layout(width="384px"))
        self.preview_image.add_class("studio-review-frame")
        self.preview_video.layout.display = self.preview_image.layout.display = "none"

        self.widget = w.VBox(
            [
                w.HBox([self.episode, self.refresh_button]),
                self.summary,
                self.chart,
                w.HTML("<b>Flagged events</b>"),
                self.events,
                w.HTML("<b>Review a segment</b>"),
                self.segment,
                self.segment_review,
                w.HBox([self.preview_video, self.preview_image]),
                self.rating,
                self.notes,
                w.HBox([self.approve, self.reject]),
                w.HTML("<b>Takes</b>"),
                self.takes.widget,
                w.HBox([self.retake_scope, self.retake_start, self.retake_end, self.retake_button]),
                self.feedback.widget,
            ]
        )
        self.widget.add_class("studio-quality-panel")
        self.segment.observe(guard("Opening the segment")(lambda _: self._show_review()), names="value")
        if not lazy:
            self.refresh(reload_episodes=True)

    # ------------------------------------------------------------------ public

    def refresh(self, *, reload_episodes: bool = False) -> None:
        """Read the episode's scores and redraw (loads the episode list the first time)."""
        if reload_episodes or not self.loaded:
            self.loaded = True
            rows = list_episodes(self.studio, project=self.project)
            current = self.episode.value
            self.episode.options = [(f"{r.number}. {r.title or 'untitled'}", r.number) for r in rows]
            numbers = [r.number for r in rows]
            if numbers and current not in numbers:
                self.episode.value = numbers[0]  # fires refresh() through the observer
                return
        if self.episode.value is None:
            self.summary.value = "<i>No episodes yet.</i>"
            return
        self._rows = quality_rows(self.studio, self.episode.value, project=self.project)
        self._draw()

    def review(self, verdict: str) -> int | None:
        """Approve or reject the chosen segment; returns the first feedback id when rated.

        A rejection queues a retake with the notes and a ``retake`` job that a dashboard
        worker renders; the new take is listed (and chosen) once it is done.
        """
        segment_id = self.segment.value
        if segment_id is None:
            self.feedback.warning("Choose a segment to review (render the episode first).")
            return None
        notes = self.notes.value.strip()
        rating = int(self.rating.value)
        if verdict == "approved":
            feedback_id = approve_segment(self.studio, int(segment_id), rating=rating, notes=notes)
        else:
            feedback_id = reject_segment(self.studio, int(segment_id), rating=rating, notes=notes)
        label = next((r.label for r in self._rows if r.segment_id == segment_id), str(segment_id))
        self.notes.value = ""
        said = f' Your note is kept with it: "{notes}".' if notes else ""
        message = f"Segment {label} {verdict} with {rating}/5.{said}"
        if verdict != "approved":
            queued = queue_retake(
                self.studio, self.feedback, episode=self.episode.value, project=self.project
            )
            self.retakes.follow(queued.job.id)
            message += f" Its retake is queued as job {queued.job.id}; the new take shows here when done."
        self.refresh()
        self.segment.value = segment_id
        self.feedback.success(message)
        return feedback_id

    def retake(self) -> int | None:
        """Queue a retake of the chosen segment, its scene, or a time range of the
        episode (with the notes); returns the job id."""
        row = next((r for r in self._rows if r.segment_id == self.segment.value), None)
        scope = self.retake_scope.value
        if self.episode.value is None or (row is None and scope != "range"):
            self.feedback.warning("Choose a segment to retake (render the episode first).")
            return None
        notes = self.notes.value.strip()
        selection: dict[str, int | float] = {}
        if scope == "range":
            start, end = float(self.retake_start.value), float(self.retake_end.value)
            if end <= start:
                self.feedback.warning("Give a time range whose end (To) is after its start (From).")
                return None
            selection, what = {"start": start, "end": end}, f"seconds {start:g}-{end:g}"
        elif row is not None and scope == "scene":
            selection, what = {"scene": row.scene}, f"scene {row.scene}"
        elif row is not None:
            selection, what = {"segment": row.segment_id}, f"segment {row.label}"
        queued = queue_retake(
            self.studio,
            self.feedback,
            episode=self.episode.value,
            project=self.project,
            notes=notes,
            **selection,  # type: ignore[arg-type]
        )
        self.notes.value = ""
        self.retakes.follow(queued.job.id)
        self.refresh()
        self.feedback.info(f"Retake of {what} queued as job {queued.job.id}; its takes show here when done.")
        return queued.job.id

    def close(self) -> None:
        """Stop following retakes, then close every widget."""
        self.retakes.stop()
        super().close()

    # ---------------------------------------------------------------- internals

    def _draw(self) -> None:
        rows = self._rows
        current = self.segment.value
        self.segment.options = [(f"{r.label} · {r.shown_status}", r.segment_id) for r in rows]
        if rows:
            # From an empty list a Dropdown selects nothing: choose the first segment ourselves.
            ids = [r.segment_id for r in rows]
            self.segment.value = current if current in ids else ids[0]
        if not rows:
            self.chart.layout.display = "none"
            self.summary.value = "<i>No segments yet: render the episode to see its quality.</i>"
            self.events.value = ""
            self._show_review()
            return
        self.chart.value = render_charts(rows)
        self.chart.layout.display = None
        reviewed = sum(1 for r in rows if r.review)
        scores = [s for s in (r.scores.get("overall") for r in rows) if s is not None]
        mean = f"{sum(scores) / len(scores):.2f}" if scores else "n/a"
        self.summary.value = (
            f"{plural(len(rows), 'segment')} · mean overall score {mean} · {reviewed} reviewed"
        )
        events = [(r, e) for r in rows for e in r.events]
        if events:
            body = "".join(
                f"<tr><td>{r.label}</td><td>{html.escape(str(e.get('kind', '')))}</td>"
                f"<td>{e.get('frame', '')}</td><td>{html.escape(str(e.get('message', '')))}</td></tr>"
                for r, e in events
            )
            self.events.value = (
                "<table><tr><th>segment</th><th>event</th><th>frame</th><th>what</th></tr>"
                + body
                + "</table>"
            )
        else:
            self.events.value = "<i>No flagged events.</i>"
        self._show_review()

    def _retake_finished(self, job: JobInfo) -> None:
        if job.status is JobStatus.SUCCEEDED:
            self.refresh()
            self.feedback.success(f"Retake job {job.id} is done: the new take is listed under Takes.")
        elif job.status is JobStatus.CANCELLED:
            self.feedback.warning(f"Retake job {job.id}: {job.message or 'cancelled'}")
        else:
            self.feedback.error(f"Retake job {job.id} failed: {job.error or job.message}")

    def _take_chosen(self, take: TakeInfo) -> None:
        self.refresh()
        self.segment.value = take.segment_id

    def _show_review(self) -> None:
        row = next((r for r in self._rows if r.segment_id == self.segment.value), None)
        self._show_preview(row)
        self.takes.show(row.segment_id if row is not None else None)
        if row is None:
            self.segment_review.value = ""
            return
        review: dict[str, Any] = row.review or {}
        if review:
            self.segment_review.value = (
                f"Latest review: {badge(str(review.get('verdict', '')))} {review.get('rating', '')}/5 "
                f"{html.escape(str(review.get('notes', '')))}"
            )
        else:
            self.segment_review.value = f"{badge(row.status)} not reviewed yet"

    def _show_preview(self, row: QualityRow | None) -> None:
        video = read_bytes(row.video, limit=MAX_PREVIEW_BYTES) if row and row.video else None
        image = self._media.get(row.preview) if row and row.preview and video is None else None
        if video is not None and video != self.preview_video.value:
            self.preview_video.value = video
        self.preview_video.layout.display = None if video else "none"
        self.preview_image.value = image or b""
        self.preview_image.layout.display = None if image else "none"
