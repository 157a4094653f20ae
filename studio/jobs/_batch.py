"""``studio batch``: render several episodes at once in a local process pool, no queue.

Each episode runs :func:`studio.render._report.run_render_report` in its own process (so each
gets its report notebook, like a queued job). The parent draws one progress bar for the
whole batch from the database: finished segments over planned segments, never time.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from studio._config import Settings, load_settings
from studio._exceptions import StudioError
from studio.jobs._enqueue import parse_episodes, resolve_episodes
from studio.jobs._runners import describe_failure
from studio.storage._database import open_database

__all__ = ["BatchResult", "render_batch"]

# How often the parent re-reads progress from the database.
POLL_SECONDS = 0.5


@dataclass(frozen=True)
class BatchResult:
    """One episode's outcome: ``ok`` with its report, or the error (and partial report)."""

    episode: int
    ok: bool
    seconds: float
    report: str | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "episode": self.episode,
            "ok": self.ok,
            "seconds": round(self.seconds, 2),
            "report": self.report,
            "error": self.error,
        }

    def describe(self) -> str:
        if self.ok:
            return f"episode {self.episode}: rendered in {self.seconds:.1f}s; report {self.report}"
        where = f"; partial report {self.report}" if self.report else ""
        return f"episode {self.episode}: FAILED after {self.seconds:.1f}s: {self.error}{where}"


def _render_one(home: str, database_url: str, project: str, episode: int, backend: str) -> BatchResult:
    """Runs in a pool process: open the studio, run the report, describe the outcome."""
    from studio._studio import Studio
    from studio.render._report import run_render_report

    started = time.perf_counter()
    settings = load_settings(home=home, database_url=database_url)
    with Studio.open(settings=settings) as studio:
        try:
            summary = run_render_report(studio, episode=episode, project=project, backend=backend)
        except StudioError as error:
            report = getattr(error, "report_path", None)
            return BatchResult(
                episode,
                ok=False,
                seconds=time.perf_counter() - started,
                report=str(report) if report else None,
                error=describe_failure(error),
            )
    report_path = getattr(summary, "report", None)
    return BatchResult(
        episode,
        ok=True,
        seconds=time.perf_counter() - started,
        report=str(report_path) if report_path else None,
    )


def render_batch(
    settings: Settings,
    episodes: str | Sequence[int],
    *,
    parallel: int = 2,
    project: str | None = None,
    backend: str = "animatic",
    progress_bar: bool = True,
    on_progress: Callable[[float], None] | None = None,
) -> list[BatchResult]:
    """Render ``episodes`` with up to ``parallel`` processes; return one result each.

    Episodes are validated before any process starts. A failed episode does not stop
    the others; its result carries the error and its partial report.

    Args:
        settings: Where the studio lives (each process opens it again).
        episodes: A spec such as ``"1-12"`` or the numbers.
        parallel: Pool size.
        project: Project title; may be left out when the database holds one.
        backend: Generation backend.
        progress_bar: Draw a tqdm bar on stderr.
        on_progress: Called with the batch's progress (0..1) each time it is read.

    Raises:
        InvalidJobError: a bad range or an unknown episode.
        NotFoundError: no such project.
    """
    from tqdm import tqdm

    from studio._studio import Studio
    from studio.project._views import episode_progress

    numbers = parse_episodes(episodes) if isinstance(episodes, str) else sorted(set(episodes))
    if parallel < 1:
        raise ValueError(f"parallel must be at least 1, got {parallel}")
    database = open_database(settings)
    studio = Studio(settings, database)
    try:
        title = resolve_episodes(database, numbers, project=project)
        results: dict[int, BatchResult] = {}
        # spawn, not fork: the parent holds database connections and maybe threads.
        context = multiprocessing.get_context("spawn")
        bar = tqdm(total=len(numbers), unit="episode", disable=not progress_bar, bar_format=_BAR)
        with bar, ProcessPoolExecutor(max_workers=min(parallel, len(numbers)), mp_context=context) as pool:
            futures: dict[Future[BatchResult], int] = {
                pool.submit(
                    _render_one, str(settings.home), settings.database_url, title, number, backend
                ): number
                for number in numbers
            }
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
                for future in done:
                    number = futures[future]
                    try:
                        results[number] = future.result()
                    except Exception as error:  # the pool process died or could not start
                        results[number] = BatchResult(
                            number, ok=False, seconds=0.0, error=describe_failure(error)
                        )
                fractions = [
                    1.0 if n in results else episode_progress(studio, n, project=title).fraction
                    for n in numbers
                ]
                fraction = sum(fractions) / len(numbers)
                bar.n = round(fraction * len(numbers), 2)
                bar.set_postfix_str(f"{len(results)}/{len(numbers)} done", refresh=False)
                bar.refresh()
                if on_progress is not None:
                    on_progress(fraction)
    finally:
        database.dispose()
    return [results[n] for n in numbers]


_BAR = "{l_bar}{bar}| {n:.1f}/{total} episodes [{elapsed}<{remaining}{postfix}]"
