"""QueuePanel: start renders, watch their progress, cancel, retry, play; jobs; server health.

The panel never renders in its kernel. Render queues a ``render_episode`` job in
``production_jobs`` and makes sure a worker runs it (:mod:`studio.jobs._dashboard` launches a
detached ``studio worker --once`` when no dashboard worker is alive), so closing the
browser tab never stops a render. The progress bars read the database (job rows and the
episode's segments), so they move for any render of the episode: started here, from
another tab, from ``studio enqueue`` or ``studio render`` in a terminal.

A background thread polls once per ``interval`` seconds and only sets traits (values,
descriptions, styles) or appends to the log, which is what updates reliably from a
thread in both JupyterLab and Voila (reference/notebook-stack.md section 5).
"""

from __future__ import annotations

import html
import logging
import threading
from pathlib import Path

import ipywidgets as w

from studio import Studio
from studio.jobs import (
    RENDER_JOB_TYPE,
    RETAKE_JOB_TYPE,
    DashboardWorker,
    JobInfo,
    JobStatus,
    QueuedRender,
    list_jobs,
    request_cancel,
    resume_waiting_jobs,
    retry_render,
    start_render,
)
from studio.project import Progress, episode_progress, list_episodes, server_health
from studio.sound import sound_html
from widgets._feedback import (
    Feedback,
    MediaCache,
    Panel,
    badge,
    close_tree,
    describe_error,
    plural,
    read_bytes,
)

__all__ = ["QueuePanel"]

log = logging.getLogger("widgets")

MAX_VIDEO_BYTES = 200 * 1024 * 1024


_BAR_STYLES = {JobStatus.SUCCEEDED: "success", JobStatus.FAILED: "danger", JobStatus.CANCELLED: "warning"}


def _episode_of(job: JobInfo) -> tuple[str | None, int]:
    project = job.parameters.get("project")
    return (str(project) if project is not None else None), int(job.parameters.get("episode", 0))


def _worker_note(worker: DashboardWorker | None) -> str:
    if worker is None:
        return ""
    if worker.launched:
        return f" Worker {worker.pid} started (log: {worker.log_path.name})."
    return f" The dashboard's worker {worker.pid} will run it."


def _episode_state(progress: Progress, latest: JobInfo | None) -> str:
    """The episode's state as its latest render left it.

    An episode keeps the state its last *finished* render wrote; a render that was
    cancelled, or is queued again, says so instead of an older run's ``failed``.
    """
    if progress.status == "completed" or latest is None:
        return progress.status
    if latest.status is JobStatus.CANCELLED:
        return "cancelled"
    if latest.status is JobStatus.QUEUED:
        return "queued"
    return progress.status


class _RenderRow:
    """One render job: label, progress bar, message and its buttons."""

    def __init__(self, panel: QueuePanel, job: JobInfo) -> None:
        self.job = job
        self.video: Path | None = None
        self.label = w.HTML()
        self.bar = w.FloatProgress(min=0.0, max=1.0, layout=w.Layout(width="260px"))
        self.bar.add_class("studio-render-progress")
        self.message = w.HTML()
        self.cancel = w.Button(description="Cancel", icon="stop", layout=w.Layout(width="90px"))
        self.retry = w.Button(description="Retry", icon="repeat", layout=w.Layout(width="90px"))
        self.play = w.Button(description="Play", icon="play", layout=w.Layout(width="90px"))
        guard = panel.feedback.guard
        self.cancel.on_click(guard("Cancelling")(lambda _: panel.cancel(self.job.id)))
        self.retry.on_click(guard("Retrying")(lambda _: panel.retry(self.job.id)))
        self.play.on_click(guard("Playing")(lambda _: panel.play(self.video)))
        self.widget = w.HBox([self.label, self.bar, self.cancel, self.retry, self.play, self.message])
        self.widget.add_class("studio-render-row")

    def update(self, job: JobInfo, progress: Progress | None) -> None:
        self.job = job
        self.video = progress.video if progress is not None else None
        _, episode = _episode_of(job)
        fraction = 1.0 if job.status is JobStatus.SUCCEEDED else job.progress / 100
        planned = progress.planned if progress else 0
        counts = f" · {progress.done}/{plural(planned, 'segment')}" if progress and planned else ""
        active = job.status in (JobStatus.QUEUED, JobStatus.RUNNING)
        if job.cancel_requested and job.status is JobStatus.RUNNING:
            text = "stopping…"
        elif job.status is JobStatus.QUEUED:
            text = html.escape(job.message or "waiting for a worker")
        else:
            text = html.escape(job.error or job.message)
        if job.job_type == RENDER_JOB_TYPE:
            what = html.escape(str(job.parameters.get("backend", "animatic")))
            if job.parameters.get("render_pass"):
                what += f" · {html.escape(str(job.parameters['render_pass']))} pass"
        else:
            what = html.escape(job.job_type)
        with self.widget.hold_sync():
            self.label.value = f"Episode {episode} · {what} · job {job.id} {badge(job.status.value)}"
            self.bar.value = fraction
            self.bar.bar_style = _BAR_STYLES.get(job.status, "")
            self.message.value = f"<small>{fraction:.0%}{counts} {text}</small>"
            self.cancel.disabled = not active or job.cancel_requested
            self.retry.disabled = job.status not in (JobStatus.FAILED, JobStatus.CANCELLED)
            self.play.disabled = self.video is None


class QueuePanel(Panel):
    """Renders and jobs of one project with live progress.

    Args:
        studio: The open studio.
        project: Project title; ``None`` for the only project.
        interval: Seconds between polls of the database.
        auto_refresh: Poll in a background thread (tests call :meth:`refresh` instead).
    """

    def __init__(
        self,
        studio: Studio,
        *,
        project: str | None = None,
        interval: float = 1.0,
        auto_refresh: bool = True,
    ) -> None:
        self.studio = studio
        self.project = project
        self.interval = interval
        self.feedback = Feedback()
        self._rows: dict[int, _RenderRow] = {}
        self._lock = threading.Lock()  # one refresh at a time (thread and buttons)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._mine: set[int] = set()  # render jobs started or retried here: kept running by a worker
        self._active_seen: set[int] = set()  # render jobs seen queued or running: announced when done
        guard = self.feedback.guard

        backends = ["animatic"] + (["comfyui"] if studio.settings.comfyui_urls else [])
        self.episode = w.Dropdown(description="Episode", options=[])
        self.backend = w.Dropdown(description="Backend", options=backends, value="animatic")
        self.render_button = w.Button(description="Render", icon="film", button_style="primary")
        self.render_button.add_class("studio-render")
        self.render_button.on_click(guard("Starting the render")(lambda _: self.start_render()))
        # The final pass re-renders the chosen previs takes on a generator; the animatic
        # has no final look of its own, so the button is offered only beside one.
        self.final_button = w.Button(
            description="Render final pass",
            icon="star",
            layout=w.Layout(display=None if "comfyui" in backends else "none"),
        )
        self.final_button.add_class("studio-render-final")
        self.final_button.on_click(
            guard("Starting the final pass")(lambda _: self.start_render(render_pass="final"))
        )
        self.episode.observe(guard("Reading progress")(lambda _: self.refresh()), names="value")

        self.progress = w.FloatProgress(
            min=0.0, max=1.0, description="Progress", layout=w.Layout(width="60%")
        )
        self.progress.add_class("studio-progress")
        self.progress.add_class("studio-episode-progress")
        self.progress_text = w.HTML()
        self.progress_text.add_class("studio-progress-text")
        # The newest frame of the render (a backend's sampling preview, else the last
        # finished segment's last frame), so a long render shows it is moving.
        self._media = MediaCache(size=8)
        self.preview = w.Image(format="png", layout=w.Layout(width="256px", display="none"))
        self.preview.add_class("studio-render-preview")
        self.play_episode = w.Button(description="Play episode", icon="play")
        self.play_episode.add_class("studio-play-episode")
        self.play_episode.on_click(guard("Playing the episode")(lambda _: self.play(self._episode_video())))

        self.renders = w.VBox()
        self.renders.add_class("studio-renders")
        self.jobs = w.HTML()
        self.jobs.add_class("studio-jobs")
        self.job_id = w.BoundedIntText(
            description="Job id", min=1, max=2**31 - 1, layout=w.Layout(width="160px")
        )
        self.cancel_job = w.Button(description="Cancel job", icon="stop")
        self.retry_job = w.Button(description="Retry job", icon="repeat")
        self.cancel_job.on_click(guard("Cancelling the job")(lambda _: self._job_action("cancel")))
        self.retry_job.on_click(guard("Retrying the job")(lambda _: self._job_action("retry")))

        self.servers = w.HTML()
        self.servers.add_class("studio-servers")
        self.check_servers = w.Button(description="Check servers", icon="heartbeat")
        self.check_servers.on_click(guard("Checking servers")(lambda _: self.check_health()))

        self.player = w.Video(format="mp4", autoplay=False, controls=True, width=512)
        self.player.add_class("studio-player")
        # Beside the player: the episode's waveform, each line's voice, the subtitles.
        self.sound = w.HTML()
        self.sound.add_class("studio-sound")
        self.player_box = w.VBox([self.player, self.sound], layout=w.Layout(display="none"))

        self.widget = w.VBox(
            [
                w.HBox([self.episode, self.backend, self.render_button, self.final_button]),
                w.HBox([self.progress, self.play_episode]),
                self.progress_text,
                self.preview,
                self.player_box,
                w.HTML("<b>Render jobs</b>"),
                self.renders,
                w.HTML("<b>Job queue</b>"),
                self.jobs,
                w.HBox([self.job_id, self.cancel_job, self.retry_job]),
                w.HTML("<b>ComfyUI servers</b>"),
                w.HBox([self.servers, self.check_servers]),
                self.feedback.widget,
            ]
        )
        self.widget.add_class("studio-queue-panel")
        self.load_episodes()
        self.refresh()
        self.check_health(background=auto_refresh)
        if auto_refresh:
            self.start()

    # ------------------------------------------------------------------ public

    def load_episodes(self) -> None:
        """Fill the episode choice from the database."""
        rows = list_episodes(self.studio, project=self.project)
        options = [(f"{r.number}. {r.title or 'untitled'}", r.number) for r in rows]
        current = self.episode.value
        self.episode.options = options
        numbers = [n for _, n in options]
        if numbers:
            self.episode.value = current if current in numbers else numbers[0]

    def start_render(self, *, render_pass: str | None = None) -> QueuedRender | None:
        """Queue a render of the chosen episode and make sure a worker runs it.

        ``render_pass="final"`` renders the final pass on the chosen backend (the
        animatic when none other is chosen is refused: it has no final look).
        """
        episode = self.episode.value
        if episode is None:
            self.feedback.warning("There is no episode to render; import a screenplay first.")
            return None
        backend = self.backend.value
        if render_pass == "final" and backend == "animatic":
            self.feedback.warning("Choose a generator backend (comfyui) for the final pass.")
            return None
        queued = start_render(
            self.studio, episode=episode, project=self.project, backend=backend, render_pass=render_pass
        )
        self._mine.add(queued.job.id)
        if queued.already_active:
            self.feedback.warning(
                f"Episode {episode} is already rendering (job {queued.job.id}, {queued.job.status.value}); "
                f"cancel it or wait.{_worker_note(queued.worker)}"
            )
        else:
            what = "the final pass of episode" if render_pass == "final" else "rendering episode"
            self.feedback.info(
                f"Started {what} {episode} on {backend} as job {queued.job.id}."
                f"{_worker_note(queued.worker)}"
            )
        self.refresh()
        return queued

    def cancel(self, job_id: int) -> None:
        """Cancel a job: at once if it is queued; a running render cuts off its segment."""
        info = request_cancel(self.studio.database, job_id)
        _, episode = _episode_of(info)
        render = info.job_type == RENDER_JOB_TYPE
        if info.status is JobStatus.RUNNING:
            what = f"episode {episode}" if render else f"job {job_id}"
            self.feedback.info(f"Asked {what} to stop; finished segments are kept.")
        else:
            what = f" (episode {episode})" if render else ""
            self.feedback.info(f"Job {job_id}{what} is {info.status.value}.")
            self._active_seen.discard(job_id)  # said just now: not announced again
            self._mine.discard(job_id)
        self.refresh()

    def retry(self, job_id: int) -> None:
        """Queue a failed or cancelled job again and make sure a worker runs it."""
        queued = retry_render(self.studio, job_id)
        self._mine.add(job_id)
        if queued.job.job_type == RENDER_JOB_TYPE:
            _, episode = _episode_of(queued.job)
            text = f"Rendering episode {episode} again as job {job_id}; finished segments are kept."
        else:
            text = f"Job {job_id} is {queued.job.status.value} again."
        self.feedback.info(text + _worker_note(queued.worker))
        self.refresh()

    def play(self, video: str | Path | None) -> None:
        """Show a video in the panel's player."""
        if video is None:
            self.feedback.warning("There is no video yet; render the episode first.")
            return
        data = read_bytes(Path(video), limit=MAX_VIDEO_BYTES)
        if data is None:
            self.feedback.warning(f"The video cannot be shown here: {video} (missing or too large).")
            return
        self.player.value = data
        self.sound.value = sound_html(Path(video))
        self.player_box.layout.display = None
        self.feedback.info(f"Playing {Path(video).name}.")

    def refresh(self) -> None:
        """Read progress and jobs once, and keep this panel's renders running (the
        background thread calls this)."""
        with self._lock:
            jobs = list_jobs(self.studio.database, limit=20)
            self._refresh_episode(jobs)
            self._refresh_renders([j for j in jobs if j.job_type in (RENDER_JOB_TYPE, RETAKE_JOB_TYPE)][:10])
            self._refresh_jobs(jobs)
            self._keep_running(jobs)

    def check_health(self, *, background: bool = False) -> None:
        """Ask every configured ComfyUI server whether it is up."""
        urls = self.studio.settings.comfyui_urls
        if not urls:
            self.servers.value = "No ComfyUI servers configured: renders use the built-in animatic backend."
            return
        self.servers.value = "checking…"

        def check() -> None:
            try:
                results = server_health(urls)
                self.servers.value = "<br>".join(
                    f"{badge('completed' if r.ok else 'failed')} {html.escape(r.url)} {html.escape(r.detail)}"
                    for r in results
                )
            except Exception as error:  # a thread's error must reach the panel, not vanish
                self.feedback.error(error)

        if background:
            threading.Thread(target=check, name="studio-server-health", daemon=True).start()
        else:
            check()

    def start(self) -> None:
        """Start polling in the background (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._poll, name="studio-queue-poll", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling; returns once the thread has ended."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def close(self) -> None:
        """Stop the polling thread, then close every widget. Renders keep running."""
        self.stop()
        close_tree(self.widget)

    # ---------------------------------------------------------------- internals

    def _poll(self) -> None:
        failures = 0
        while not self._stop.wait(self.interval):
            try:
                self.refresh()
                failures = 0
            except Exception as error:  # keep polling; say it once, not every second
                failures += 1
                if failures == 1:
                    log.warning("queue refresh failed: %s", error)
                    self.feedback.error(f"Could not read progress: {describe_error(error)}")

    def _episode_video(self) -> Path | None:
        if self.episode.value is None:
            return None
        return episode_progress(self.studio, self.episode.value, project=self.project).video

    def _refresh_episode(self, jobs: list[JobInfo]) -> None:
        if self.episode.value is None:
            self.progress.value = 0.0
            self.progress_text.value = "No episodes."
            return
        progress = episode_progress(self.studio, self.episode.value, project=self.project)
        statuses = ", ".join(f"{n} {s}" for s, n in progress.segment_statuses.items()) or "no segments yet"
        status = _episode_state(progress, self._latest_render(jobs))
        frame = self._media.get(progress.preview) if progress.preview is not None else None
        with self.widget.hold_sync():
            self.progress.value = progress.fraction
            self.progress.bar_style = "success" if progress.fraction >= 1.0 else ""
            self.progress.description = f"{progress.fraction:.0%}"
            self.progress_text.value = (
                f"Episode {progress.episode} {badge(status)} {progress.done}/"
                f"{plural(progress.planned, 'segment')} done ({html.escape(statuses)})"
            )
            self.play_episode.disabled = progress.video is None
            if frame is not None and frame != self.preview.value:
                self.preview.value = frame
            self.preview.layout.display = None if frame is not None else "none"

    def _latest_render(self, jobs: list[JobInfo]) -> JobInfo | None:
        """The newest render job of the chosen episode (``jobs`` come newest first)."""
        for job in jobs:
            project, episode = _episode_of(job)
            same_project = project is None or self.project is None or project == self.project
            if job.job_type == RENDER_JOB_TYPE and episode == self.episode.value and same_project:
                return job
        return None

    def _refresh_renders(self, jobs: list[JobInfo]) -> None:
        progress_by_episode: dict[tuple[str | None, int], Progress | None] = {}
        for job in jobs:
            key = _episode_of(job)
            if key not in progress_by_episode:
                try:
                    progress_by_episode[key] = episode_progress(self.studio, key[1], project=key[0])
                except Exception:  # an episode deleted since: show the job alone
                    log.debug("no progress for episode %s", key, exc_info=True)
                    progress_by_episode[key] = None
        changed = [j.id for j in jobs] != list(self._rows)
        rows = {}
        for job in jobs:
            row = self._rows.pop(job.id, None) or _RenderRow(self, job)
            row.update(job, progress_by_episode[_episode_of(job)])
            rows[job.id] = row
            if job.status.is_finished:
                if job.id in self._active_seen or job.id in self._mine:
                    self._active_seen.discard(job.id)
                    self._mine.discard(job.id)
                    self._announce(job, row.video)
            else:
                self._active_seen.add(job.id)
        for stale in self._rows.values():
            close_tree(stale.widget)
        self._rows = rows
        if changed:
            self.renders.children = [row.widget for row in rows.values()]

    def _announce(self, job: JobInfo, video: Path | None) -> None:
        _, episode = _episode_of(job)
        if job.status is JobStatus.SUCCEEDED and job.job_type == RETAKE_JOB_TYPE:
            self.feedback.success(f"Episode {episode}: retake job {job.id} is done; takes on Quality.")
        elif job.status is JobStatus.SUCCEEDED:
            self.feedback.success(f"Episode {episode} rendered: {video}")
        elif job.status is JobStatus.CANCELLED:
            self.feedback.warning(f"Episode {episode}: {job.message or 'cancelled'}")
        else:
            self.feedback.error(f"Episode {episode} failed: {job.error or job.message}")

    def _keep_running(self, jobs: list[JobInfo]) -> None:
        # A --once worker may exit an instant before a job of ours was queued, or die:
        # launch another while our jobs wait (no-op while a dashboard worker is alive).
        mine = [j for j in jobs if j.id in self._mine]
        worker = resume_waiting_jobs(self.studio, mine) if mine else None
        if worker is not None:
            self.feedback.info(
                f"Started worker {worker.pid} for the queued renders (log: {worker.log_path.name})."
            )

    def _refresh_jobs(self, jobs: list[JobInfo]) -> None:
        if not jobs:
            self.jobs.value = (
                "<i>No jobs in the queue. Workers (<code>studio worker</code>) run queued jobs.</i>"
            )
            return
        rows = "".join(
            f"<tr><td>{j.id}</td><td>{html.escape(j.job_type)}</td><td>{badge(j.status.value)}</td>"
            f'<td><progress max="100" value="{j.progress:.0f}"></progress> {j.progress:.0f}%</td>'
            f"<td>{j.attempts}/{j.max_attempts}</td><td>{html.escape(j.message or j.error or '')}</td></tr>"
            for j in jobs
        )
        self.jobs.value = (
            '<table class="studio-job-table"><tr><th>id</th><th>type</th><th>status</th><th>progress</th>'
            f"<th>attempts</th><th>message</th></tr>{rows}</table>"
        )

    def _job_action(self, action: str) -> None:
        job_id = int(self.job_id.value)
        if action == "cancel":
            self.cancel(job_id)
        else:
            self.retry(job_id)
