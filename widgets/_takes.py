"""The takes of one segment (play, compare, choose) and the retakes the panels queue.

A retake is never rendered in the kernel: :func:`studio.jobs.start_retake` queues a
``retake`` job and makes sure a dashboard worker runs it, as the Render queue tab does
for renders. :class:`RetakeWatch` follows the jobs a panel queued: it launches another
worker while one waits for it (a ``--once`` worker may exit an instant before the job
was queued), and calls back once they finish so the panel can show the new take.
"""

from __future__ import annotations

import html
import logging
import threading
from collections.abc import Callable

import ipywidgets as w

from studio import Studio
from studio.jobs import JobInfo, QueuedRender, get_job, resume_waiting_jobs, start_retake
from studio.project import TakeInfo, choose_take, list_takes
from widgets._feedback import Feedback, badge, read_bytes

__all__ = ["RetakeWatch", "TakesView", "queue_retake"]

log = logging.getLogger("widgets")

MAX_TAKE_BYTES = 50 * 1024 * 1024  # a take's video; larger ones are listed without a player


def queue_retake(
    studio: Studio,
    feedback: Feedback,
    *,
    episode: int | None,
    project: str | None = None,
    scene: int | None = None,
    segment: int | None = None,
    start: float | None = None,
    end: float | None = None,
    notes: str = "",
) -> QueuedRender:
    """Queue a retake job, make sure a worker runs it, and say so in ``feedback``."""
    queued = start_retake(
        studio,
        project=project,
        episode=episode,
        scene=scene,
        segment=segment,
        start=start,
        end=end,
        notes=notes,
    )
    worker = queued.worker
    note = ""
    if worker is not None:
        note = (
            f" Worker {worker.pid} started (log: {worker.log_path.name})."
            if worker.launched
            else f" The dashboard's worker {worker.pid} will run it."
        )
    feedback.info(f"Retake queued as job {queued.job.id}.{note}")
    return queued


class RetakeWatch:
    """Follows retake jobs a panel queued until they finish.

    Args:
        studio: The open studio.
        on_finished: Called (in the watch's thread, or in :meth:`check`'s caller) with
            each job once it has finished.
        interval: Seconds between polls; the thread runs only while a job is followed.
        background: Poll in a thread (tests call :meth:`check` instead).
    """

    def __init__(
        self,
        studio: Studio,
        on_finished: Callable[[JobInfo], None],
        *,
        interval: float = 1.0,
        background: bool = True,
    ) -> None:
        self.studio = studio
        self.on_finished = on_finished
        self.interval = interval
        self.background = background
        self.jobs: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def follow(self, job_id: int) -> None:
        """Follow one more job (starts the thread when ``background``)."""
        with self._lock:
            self.jobs.add(job_id)
        if self.background and (self._thread is None or not self._thread.is_alive()):
            self._stop.clear()
            self._thread = threading.Thread(target=self._poll, name="studio-retake-watch", daemon=True)
            self._thread.start()

    def check(self) -> list[JobInfo]:
        """Read the followed jobs once; returns (and reports) those that finished."""
        with self._lock:
            jobs = [get_job(self.studio.database, job_id) for job_id in sorted(self.jobs)]
            finished = [job for job in jobs if job.status.is_finished]
            waiting = [job for job in jobs if not job.status.is_finished]
            for job in finished:
                self.jobs.discard(job.id)
        if waiting:
            resume_waiting_jobs(self.studio, waiting)
        for job in finished:
            self.on_finished(job)
        return finished

    def stop(self) -> None:
        """Stop the thread; returns once it has ended."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _poll(self) -> None:
        failures = 0
        while self.jobs and not self._stop.wait(self.interval):
            try:
                self.check()
                failures = 0
            except Exception as error:  # keep following; say it once, not every second
                failures += 1
                if failures == 1:
                    log.warning("following retakes failed: %s", error)


class TakesView:
    """Every take of one segment, each with a player and a "Use this take" button."""

    def __init__(self, studio: Studio, feedback: Feedback, on_chosen: Callable[[TakeInfo], None]) -> None:
        self.studio = studio
        self.feedback = feedback
        self.on_chosen = on_chosen
        self.segment_id: int | None = None
        self.takes: list[TakeInfo] = []
        self._videos: dict[int, bytes] = {}  # take id -> bytes: a take's file never changes
        self.widget = w.VBox()
        self.widget.add_class("studio-takes")

    def show(self, segment_id: int | None) -> None:
        """List the takes of ``segment_id`` (``None``: none)."""
        self.segment_id = segment_id
        self.takes = list_takes(self.studio, segment_id) if segment_id is not None else []
        if not self.takes:
            self.widget.children = [w.HTML("<i>No takes yet: render the episode to make the first.</i>")]
            return
        self.widget.children = [self._row(take) for take in self.takes]

    def choose(self, take_id: int) -> TakeInfo:
        """Make a take the segment's chosen take and list the takes again."""
        chosen = choose_take(self.studio, take_id)
        self.feedback.success(f"Take {chosen.take} is now used for segment {chosen.segment_id}.")
        self.show(chosen.segment_id)
        self.on_chosen(chosen)
        return chosen

    def _row(self, take: TakeInfo) -> w.Widget:
        overall = f" · overall {take.overall:.2f}" if take.overall is not None else ""
        seed = f" · seed {take.seed}" if take.seed is not None else ""
        chosen = " <b>chosen</b>" if take.chosen else ""
        notes = f"<br><small>notes: {html.escape(take.notes)}</small>" if take.notes else ""
        label = w.HTML(
            f"Take {take.take} · {html.escape(take.render_pass)} · {html.escape(take.backend)}"
            f"{seed}{overall} "
            f"{badge(take.status)}{chosen}{notes}"
        )
        label.layout.width = "420px"  # the players line up in a column, whatever the label says
        label.add_class("studio-take-label")
        children: list[w.Widget] = [label]
        video = self._video(take)
        if video is not None:
            player = w.Video(value=video, format="mp4", autoplay=False, controls=True, loop=True, width=256)
            player.add_class("studio-take-video")
            children.append(player)
        use = w.Button(description="Use this take", icon="check", disabled=take.chosen or take.video is None)
        use.add_class("studio-use-take")
        use.on_click(
            self.feedback.guard("Choosing the take")(lambda _, take_id=take.id: self.choose(take_id))
        )
        children.append(use)
        row = w.HBox(children)
        row.add_class("studio-take-row")
        if take.chosen:
            row.add_class("studio-take-chosen")
        return row

    def _video(self, take: TakeInfo) -> bytes | None:
        if take.video is None:
            return None
        if take.id not in self._videos:
            data = read_bytes(take.video, limit=MAX_TAKE_BYTES)
            if data is None:
                return None
            self._videos[take.id] = data
        return self._videos[take.id]
