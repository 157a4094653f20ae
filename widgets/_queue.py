"""QueuePanel: start renders, watch their progress, cancel, retry, play; jobs; server health.

The panel never renders in its kernel. A render runs in a detached process
(:mod:`studio._renders`), so closing the browser tab never stops it, and the progress
bars read the database, so they move for any render of the episode, started here, from
another tab, from ``studio render`` in a terminal, or by a queue worker.

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
from studio._renders import RenderRecord, launch_render, list_renders, retry_render
from studio._views import Progress, episode_progress, list_episodes, server_health
from widgets._feedback import Feedback, Panel, badge, close_tree, describe_error, read_bytes

__all__ = ["QueuePanel"]

log = logging.getLogger("widgets")

MAX_VIDEO_BYTES = 200 * 1024 * 1024


class _RenderRow:
    """One dashboard render: label, progress bar, message and its buttons."""

    def __init__(self, panel: QueuePanel, record: RenderRecord) -> None:
        self.record = record
        self.label = w.HTML()
        self.bar = w.FloatProgress(min=0.0, max=1.0, layout=w.Layout(width="260px"))
        self.bar.add_class("studio-render-progress")
        self.message = w.HTML()
        self.cancel = w.Button(description="Cancel", icon="stop", layout=w.Layout(width="90px"))
        self.retry = w.Button(description="Retry", icon="repeat", layout=w.Layout(width="90px"))
        self.play = w.Button(description="Play", icon="play", layout=w.Layout(width="90px"))
        guard = panel.feedback.guard
        self.cancel.on_click(guard("Cancelling")(lambda _: panel.cancel(self.record)))
        self.retry.on_click(guard("Retrying")(lambda _: panel.retry(self.record)))
        self.play.on_click(guard("Playing")(lambda _: panel.play(self.record.video)))
        self.widget = w.HBox([self.label, self.bar, self.cancel, self.retry, self.play, self.message])
        self.widget.add_class("studio-render-row")

    def update(self, record: RenderRecord, progress: Progress | None) -> None:
        self.record = record
        fraction = progress.fraction if progress is not None else record.fraction
        if record.status == "succeeded":
            fraction = 1.0
        counts = f" · {progress.done}/{progress.planned} segments" if progress and progress.planned else ""
        with self.widget.hold_sync():
            self.label.value = (
                f"Episode {record.episode} · {html.escape(record.backend)} {badge(record.status)}"
            )
            self.bar.value = fraction
            self.bar.bar_style = {"succeeded": "success", "failed": "danger", "cancelled": "warning"}.get(
                record.status, ""
            )
            text = html.escape(record.message)
            if record.cancel_requested and record.active:
                text = "stopping after the current segment…"
            self.message.value = f"<small>{fraction:.0%}{counts} {text}</small>"
            self.cancel.disabled = not record.active or record.cancel_requested
            self.retry.disabled = record.active
            self.play.disabled = record.video is None


class QueuePanel(Panel):
    """Renders and jobs of one project with live progress.

    Args:
        studio: The open studio.
        project: Project title; ``None`` for the only project.
        interval: Seconds between polls of the database and the render records.
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
        self._rows: dict[str, _RenderRow] = {}
        self._lock = threading.Lock()  # one refresh at a time (thread and buttons)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._finished_seen: set[str] = set()
        guard = self.feedback.guard

        backends = ["animatic"] + (["comfyui"] if studio.settings.comfyui_urls else [])
        self.episode = w.Dropdown(description="Episode", options=[])
        self.backend = w.Dropdown(description="Backend", options=backends, value="animatic")
        self.render_button = w.Button(description="Render", icon="film", button_style="primary")
        self.render_button.add_class("studio-render")
        self.render_button.on_click(guard("Starting the render")(lambda _: self.start_render()))
        self.episode.observe(guard("Reading progress")(lambda _: self.refresh()), names="value")

        self.progress = w.FloatProgress(
            min=0.0, max=1.0, description="Progress", layout=w.Layout(width="60%")
        )
        self.progress.add_class("studio-progress")
        self.progress.add_class("studio-episode-progress")
        self.progress_text = w.HTML()
        self.progress_text.add_class("studio-progress-text")
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
        self.player_box = w.VBox([self.player], layout=w.Layout(display="none"))

        self.widget = w.VBox(
            [
                w.HBox([self.episode, self.backend, self.render_button]),
                w.HBox([self.progress, self.play_episode]),
                self.progress_text,
                self.player_box,
                w.HTML("<b>Renders started here</b>"),
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

    def start_render(self) -> RenderRecord | None:
        """Render the chosen episode in a detached process."""
        episode = self.episode.value
        if episode is None:
            self.feedback.warning("There is no episode to render; import a screenplay first.")
            return None
        running = [r for r in list_renders(self.studio) if r.active and r.episode == episode]
        if running:
            self.feedback.warning(f"Episode {episode} is already rendering; cancel it or wait.")
            return None
        record = launch_render(self.studio, episode=episode, project=self.project, backend=self.backend.value)
        self.feedback.info(
            f"Started rendering episode {episode} on {record.backend} (log: {record.log_path.name})."
        )
        self.refresh()
        return record

    def cancel(self, record: RenderRecord) -> None:
        record.request_cancel()
        self.feedback.info(f"Asked episode {record.episode} to stop after its current segment.")
        self.refresh()

    def retry(self, record: RenderRecord) -> None:
        new = retry_render(self.studio, record)
        self.feedback.info(f"Rendering episode {new.episode} again; finished segments are kept.")
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
        self.player_box.layout.display = None
        self.feedback.info(f"Playing {Path(video).name}.")

    def refresh(self) -> None:
        """Read progress, renders and jobs once (the background thread calls this)."""
        with self._lock:
            self._refresh_episode()
            self._refresh_renders()
            self._refresh_jobs()

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

    def _refresh_episode(self) -> None:
        if self.episode.value is None:
            self.progress.value = 0.0
            self.progress_text.value = "No episodes."
            return
        progress = episode_progress(self.studio, self.episode.value, project=self.project)
        statuses = ", ".join(f"{n} {s}" for s, n in progress.segment_statuses.items()) or "no segments yet"
        with self.widget.hold_sync():
            self.progress.value = progress.fraction
            self.progress.bar_style = "success" if progress.fraction >= 1.0 else ""
            self.progress.description = f"{progress.fraction:.0%}"
            self.progress_text.value = (
                f"Episode {progress.episode} {badge(progress.status)} {progress.done}/{progress.planned} "
                f"segments done ({html.escape(statuses)})"
            )
            self.play_episode.disabled = progress.video is None

    def _refresh_renders(self) -> None:
        records = list_renders(self.studio)
        progress_by_episode: dict[int, Progress] = {}
        for record in records:
            if record.episode not in progress_by_episode:
                try:
                    progress_by_episode[record.episode] = episode_progress(
                        self.studio, record.episode, project=record.project
                    )
                except Exception:  # an episode deleted since: show the record alone
                    log.debug("no progress for episode %s", record.episode, exc_info=True)
        changed = [r.id for r in records] != list(self._rows)
        rows = {}
        for record in records:
            row = self._rows.pop(record.id, None) or _RenderRow(self, record)
            row.update(record, progress_by_episode.get(record.episode))
            rows[record.id] = row
            if not record.active and record.id not in self._finished_seen:
                self._finished_seen.add(record.id)
                self._announce(record)
        for stale in self._rows.values():
            close_tree(stale.widget)
        self._rows = rows
        if changed:
            self.renders.children = [row.widget for row in rows.values()]

    def _announce(self, record: RenderRecord) -> None:
        if not record.ended_at:
            return
        if record.status == "succeeded":
            self.feedback.success(f"Episode {record.episode} rendered: {record.video}")
        elif record.status == "cancelled":
            self.feedback.warning(f"Episode {record.episode}: {record.message}")
        else:
            self.feedback.error(f"Episode {record.episode} failed: {record.message}")

    def _refresh_jobs(self) -> None:
        try:
            from studio import _jobs
        except ImportError:
            self.jobs.value = "<i>The job queue is not installed in this version of the studio.</i>"
            return
        jobs = _jobs.list_jobs(self.studio.database, limit=20)
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
        try:
            from studio import _jobs
        except ImportError:
            self.feedback.warning("The job queue is not installed in this version of the studio.")
            return
        job_id = int(self.job_id.value)
        if action == "cancel":
            info = _jobs.request_cancel(self.studio.database, job_id)
            self.feedback.info(f"Job {job_id}: {info.status.value}, cancel requested.")
        else:
            info = _jobs.retry(self.studio.database, job_id)
            self.feedback.info(f"Job {job_id} is {info.status.value} again.")
        self.refresh()
