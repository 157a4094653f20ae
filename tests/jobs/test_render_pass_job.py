"""``render_pass`` travels from a render job's parameters to the parameterized notebook."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from studio._config import Settings
from studio._studio import Studio
from studio.jobs import InvalidJobError, JobStatus, enqueue_renders, get_job, list_jobs
from studio.project import list_segments, list_takes
from tests.jobs._helpers import Workers

pytestmark = [pytest.mark.slow]


def test_a_final_pass_job_renders_final_takes_through_the_notebook(
    settings: Settings, workers_for: Callable[[Settings], Workers]
) -> None:
    with Studio.open(settings=settings, upgrade=True) as studio:
        studio.import_demo()
        [job_id] = enqueue_renders(studio.database, [1], render_pass="final").created.values()
        assert get_job(studio.database, job_id).parameters["render_pass"] == "final"
        workers = workers_for(settings)  # `studio worker --once`, as the dashboard launches it
        assert workers.wait(workers.start("--once", "--lease-seconds", "30"), timeout=300) == 0, (
            workers.logs()
        )
        info = get_job(studio.database, job_id)
        assert info.status is JobStatus.SUCCEEDED, (info.error, workers.logs())
        assert info.report_path is not None
        report = (studio.home / info.report_path).read_text(encoding="utf-8")
        assert 'render_pass = \\"final\\"' in report and "pass: final (backend animatic)" in report
        passes = {t.render_pass for s in list_segments(studio, 1) for t in list_takes(studio, s.id)}
        assert passes == {"final"}


def test_an_unknown_render_pass_is_refused_and_nothing_is_queued(settings: Settings) -> None:
    with Studio.open(settings=settings, upgrade=True) as studio:
        studio.import_demo()
        with pytest.raises(InvalidJobError, match="unknown render pass 'draft'; choose previs or final"):
            enqueue_renders(studio.database, [1], render_pass="draft")
        assert list_jobs(studio.database) == []
