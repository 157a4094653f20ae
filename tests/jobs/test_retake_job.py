"""A retake is a job like a render: queued with its marks, run by a worker, resumable."""

from __future__ import annotations

from sqlalchemy import select

from studio._config import Settings
from studio._studio import Studio
from studio.jobs import (
    RETAKE_JOB_TYPE,
    JobContext,
    available_job_types,
    claim_next,
    enqueue_retake,
    job_runner,
    release,
)
from studio.project import list_takes
from studio.render import render_episode
from studio.storage import SceneModel, SegmentModel


def test_a_retake_job_renders_the_queued_retake_and_a_second_claim_finds_it_done(settings: Settings) -> None:
    assert RETAKE_JOB_TYPE in available_job_types()
    with Studio.open(settings=settings, upgrade=True) as studio:
        studio.import_demo()
        render_episode(studio, episode=1)
        with studio.database.session() as session:
            segment_id = session.scalars(
                select(SegmentModel.id)
                .join(SceneModel, SegmentModel.scene_id == SceneModel.id)
                .where(SceneModel.scene_number == 2, SegmentModel.segment_number == 0)
            ).one()
        job_id, selection = enqueue_retake(studio, segment=segment_id, notes="closer on Kai")
        assert selection.segment_ids == (segment_id,)
        with studio.database.session() as session:  # marked before the job ran
            assert session.get(SegmentModel, segment_id).status == "queued"  # type: ignore[union-attr]

        for _ in range(2):  # the second claim stands for a worker that died after finishing
            claim = claim_next(studio.database, "worker-1", lease_seconds=60)
            assert claim is not None and claim.id == job_id and claim.job_type == "retake"
            job_runner(claim.job_type)(JobContext(claim, database=studio.database, settings=studio.settings))
            release(studio.database, claim)
        takes = list_takes(studio, segment_id)
        assert [(t.take, t.chosen, t.notes) for t in takes] == [(1, False, None), (2, True, "closer on Kai")]
