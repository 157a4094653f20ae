"""A real render job end to end: worker process → papermill notebook → job hooks.

One episode of the demo on the animatic backend, on PostgreSQL and on SQLite (where the
worker's heartbeat, the notebook kernel and the render threads all write the same file
concurrently). The job is cancelled as
soon as it runs (the render stops at its first checkpoint and keeps its report), then
retried from the CLI and rendered to the end by the same worker.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from studio._config import Settings, load_settings
from studio._studio import Studio
from studio.jobs._enqueue import enqueue_renders
from studio.jobs._records import JobStatus
from studio.jobs._store import get_job, request_cancel
from studio.storage._models import SegmentModel, TakeModel
from tests.backends.comfyui._nodes import ALL_MODELS
from tests.backends.comfyui.fake_comfyui import Behaviour, FakeComfyUI, FakeServer
from tests.jobs._helpers import Workers, open_db, run_cli, wait_for

pytestmark = [pytest.mark.slow]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def job_settings(request: pytest.FixtureRequest, tmp_path) -> Settings:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        return load_settings(home=tmp_path / "home", environ={})
    return request.getfixturevalue("pg_settings")


def test_a_render_job_is_cancelled_retried_and_finished_with_its_report(
    job_settings: Settings, workers_for: Callable[[Settings], Workers]
) -> None:
    pg_settings = job_settings
    with Studio.open(settings=pg_settings, upgrade=True) as studio:
        studio.import_demo()
    database = open_db(pg_settings)
    try:
        [job_id] = enqueue_renders(database, "1").created.values()
        workers = workers_for(pg_settings)
        # A generous lease: heartbeats on a loaded 2-core machine can be late by seconds.
        worker = workers.start("--lease-seconds", "30")
        wait_for(lambda: get_job(database, job_id).status is JobStatus.RUNNING, "the render job to start")
        request_cancel(database, job_id)
        wait_for(lambda: get_job(database, job_id).status.is_finished, "the render to stop", timeout=120)
        info = get_job(database, job_id)
        assert info.status is JobStatus.CANCELLED, (info.error, workers.logs())
        assert info.report_path == "reports/neon-tide/episode_01.ipynb"
        assert (pg_settings.home / info.report_path).is_file()  # the partial report is kept

        code, out, _ = run_cli(pg_settings, "jobs", "retry", str(job_id))
        assert (code, out) == (0, f"job {job_id}: queued again\n")
        wait_for(lambda: get_job(database, job_id).status.is_finished, "the retried render", timeout=180)
        info = get_job(database, job_id)
        assert info.status is JobStatus.SUCCEEDED, (info.error, workers.logs())
        assert info.progress == 100
        assert [h["outcome"] for h in info.history] == ["cancelled", "succeeded"]
        worker.send_signal(signal.SIGTERM)
        assert workers.wait(worker) == 0, workers.logs()
    finally:
        database.dispose()


def test_a_render_job_cancelled_mid_segment_stops_its_kernel_and_the_job(
    job_settings: Settings, workers_for: Callable[[Settings], Workers], tmp_path: Path
) -> None:
    """The kernel sees the cancel flag through its job channel while ComfyUI generates (a
    job that would run for ten minutes), stops the server's job, and the worker records
    ``cancelled``; the retried job then renders the episode with each segment once."""
    models = {**ALL_MODELS, "loras": [*ALL_MODELS["loras"], "luna_v1.safetensors"]}
    comfy = FakeServer(FakeComfyUI(tmp_path / "comfy", models=models,
                                   behaviour=Behaviour(run_seconds=600, steps=6000)))
    database = open_db(job_settings)
    try:
        with Studio.open(settings=job_settings, upgrade=True) as studio:
            studio.import_demo()
        [job_id] = enqueue_renders(database, "1", backend="comfyui").created.values()
        workers = workers_for(job_settings)
        worker = workers.start("--lease-seconds", "30", environ={"COMFYUI_URLS": comfy.url})
        wait_for(lambda: bool(comfy.fake.executed), "the kernel's first ComfyUI job to run", timeout=120)
        request_cancel(database, job_id)
        wait_for(lambda: get_job(database, job_id).status.is_finished, "the cancelled job to stop", timeout=60)
        info = get_job(database, job_id)
        assert info.status is JobStatus.CANCELLED, (info.error, workers.logs())
        [pid] = comfy.fake.executed
        report = (job_settings.home / str(info.report_path)).read_text()
        seen = (comfy.fake.requests, comfy.fake.interrupts, comfy.fake.posted, report[-3000:])
        assert {"prompt_id": pid} in comfy.fake.interrupts, seen
        assert pid not in comfy.fake.completed
        with Studio.open(settings=job_settings) as studio, studio.database.session() as session:
            rows = session.execute(select(SegmentModel.status, SegmentModel.attempts)).all()
        assert sorted(rows) == [("pending", 0)] * 3

        comfy.behaviour.run_seconds, comfy.behaviour.steps = 0.05, 4
        assert run_cli(job_settings, "jobs", "retry", str(job_id))[0] == 0
        wait_for(lambda: get_job(database, job_id).status.is_finished, "the retried render", timeout=180)
        info = get_job(database, job_id)
        assert info.status is JobStatus.SUCCEEDED, (info.error, workers.logs())
        with Studio.open(settings=job_settings) as studio, studio.database.session() as session:
            assert len(session.scalars(select(SegmentModel.id)).all()) == 3
        files = sorted(
            p.relative_to(job_settings.home).as_posix()
            for p in (job_settings.home / "renders").rglob("segment_*.mp4")
        )
        with Studio.open(settings=job_settings) as studio, studio.database.session() as session:
            takes = session.execute(select(TakeModel.output_video_path, TakeModel.chosen_for)).all()
        # One file per take (a retry is a take of its own), one chosen take per segment.
        assert files == sorted(path for path, _ in takes if path), files
        assert len([chosen for _, chosen in takes if chosen is not None]) == 3
        worker.send_signal(signal.SIGTERM)
        assert workers.wait(worker) == 0, workers.logs()
    finally:
        database.dispose()
        comfy.close()
