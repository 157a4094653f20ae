"""The queue store's contract, on SQLite and a real PostgreSQL (one body, both backends)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from studio.jobs._records import (
    ClaimedJob,
    InvalidJobError,
    JobNotFoundError,
    JobStateError,
    JobStatus,
)
from studio.jobs._store import (
    claim_next,
    database_now,
    enqueue,
    fail,
    finish,
    get_job,
    heartbeat,
    list_jobs,
    reap_expired,
    release,
    report_progress,
    request_cancel,
    retry,
)
from studio.storage._database import Database

LEASE = 30.0


def expire(database: Database, claim: ClaimedJob) -> None:
    """Make a claim's lease already expired, using a negative lease (database clock)."""
    assert heartbeat(database, claim, lease_seconds=-5).owned


def test_claims_follow_priority_then_fifo(database: Database) -> None:
    low = enqueue(database, "noop", priority=0)
    high_first = enqueue(database, "noop", priority=5)
    high_second = enqueue(database, "noop", priority=5)
    negative = enqueue(database, "noop", priority=-1)
    order = []
    while (claim := claim_next(database, "w", lease_seconds=LEASE)) is not None:
        order.append(claim.id)
    assert order == [high_first, high_second, low, negative]


def test_a_claim_is_a_running_row_with_a_lease_from_the_database_clock(database: Database) -> None:
    job_id = enqueue(database, "noop", parameters={"x": 1}, max_attempts=2)
    before = database_now(database)
    claim = claim_next(database, "worker-a", lease_seconds=LEASE)
    assert claim is not None
    assert (claim.id, claim.job_type, dict(claim.parameters), claim.attempt) == (job_id, "noop", {"x": 1}, 1)
    assert before + timedelta(seconds=LEASE - 5) < claim.lease_expires_at
    assert claim.lease_expires_at.tzinfo is None
    info = get_job(database, job_id)
    assert info.status is JobStatus.RUNNING
    assert info.worker_id == "worker-a" and info.attempts == 1
    assert info.started_at is not None and info.heartbeat_at is not None
    assert claim_next(database, "worker-b", lease_seconds=LEASE) is None


def test_concurrent_claims_never_hand_out_a_job_twice(database: Database) -> None:
    ids = {enqueue(database, "noop") for _ in range(30)}
    won: list[int] = []
    lock = threading.Lock()

    def claimer(name: str) -> None:
        while (claim := claim_next(database, name, lease_seconds=LEASE)) is not None:
            with lock:
                won.append(claim.id)

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(won) == sorted(ids)


def test_heartbeat_extends_the_lease_and_reports_cancellation(database: Database) -> None:
    enqueue(database, "noop")
    claim = claim_next(database, "w", lease_seconds=1)
    assert claim is not None
    beat = heartbeat(database, claim, lease_seconds=LEASE)
    assert beat.owned and not beat.cancel_requested
    assert beat.lease_expires_at is not None and beat.lease_expires_at > claim.lease_expires_at
    request_cancel(database, claim.id)
    assert heartbeat(database, claim, lease_seconds=LEASE).cancel_requested


def test_progress_is_recorded_and_validated(database: Database) -> None:
    enqueue(database, "noop")
    claim = claim_next(database, "w", lease_seconds=LEASE)
    assert claim is not None
    assert report_progress(database, claim, 37.5, "scene 2 segment 3")
    info = get_job(database, claim.id)
    assert (info.progress, info.message) == (37.5, "scene 2 segment 3")
    with pytest.raises(ValueError, match="between 0 and 100"):
        report_progress(database, claim, 101)


def test_finish_and_fail_are_fenced_by_the_claim(database: Database) -> None:
    a, b = enqueue(database, "noop"), enqueue(database, "noop")
    claim_a = claim_next(database, "w", lease_seconds=LEASE)
    claim_b = claim_next(database, "w", lease_seconds=LEASE)
    assert claim_a is not None and claim_b is not None
    stranger = ClaimedJob(a, "noop", {}, "other", 1, 3, claim_a.lease_expires_at)
    assert not finish(database, stranger, JobStatus.SUCCEEDED)
    assert finish(database, claim_a, JobStatus.SUCCEEDED, report_path="reports/a.ipynb")
    assert not finish(database, claim_a, JobStatus.SUCCEEDED)  # already finished
    assert fail(database, claim_b, "RuntimeError: boom")
    info_a, info_b = get_job(database, a), get_job(database, b)
    assert (info_a.status, info_a.progress, info_a.report_path) == (
        JobStatus.SUCCEEDED,
        100,
        "reports/a.ipynb",
    )
    assert (info_b.status, info_b.error) == (JobStatus.FAILED, "RuntimeError: boom")
    assert info_a.completed_at is not None and info_a.lease_expires_at is None


def test_an_expired_lease_is_requeued_once_then_failed_past_max_attempts(database: Database) -> None:
    job_id = enqueue(database, "noop", max_attempts=2)
    first = claim_next(database, "dead-1", lease_seconds=LEASE)
    assert first is not None
    assert not reap_expired(database)  # a live lease is left alone
    expire(database, first)
    assert reap_expired(database).requeued == (job_id,)
    assert not reap_expired(database)  # idempotent
    info = get_job(database, job_id)
    assert (info.status, info.attempts, info.worker_id) == (JobStatus.QUEUED, 1, None)
    assert info.history[-1]["outcome"] == "lease expired"
    # The dead worker's late writes are refused: the job is no longer its own.
    assert not heartbeat(database, first, lease_seconds=LEASE).owned
    assert not finish(database, first, JobStatus.SUCCEEDED)

    second = claim_next(database, "dead-2", lease_seconds=LEASE)
    assert second is not None and second.attempt == 2
    expire(database, second)
    assert reap_expired(database).failed == (job_id,)
    info = get_job(database, job_id)
    assert info.status is JobStatus.FAILED
    assert info.error is not None and "lost its lease on worker dead-2" in info.error
    assert "2 of 2 attempts" in info.error


def test_an_expired_lease_refuses_every_write_even_before_it_is_reaped(database: Database) -> None:
    ids = [enqueue(database, "noop") for _ in range(5)]
    claims = [claim_next(database, "stalled", lease_seconds=LEASE) for _ in ids]
    assert all(claim is not None for claim in claims)
    for claim in claims:
        assert claim is not None
        expire(database, claim)
    first, second, third, fourth, fifth = (c for c in claims if c is not None)
    # Nobody has reaped them: the rows still say running under these claims.
    assert {get_job(database, i).status for i in ids} == {JobStatus.RUNNING}
    assert not finish(database, first, JobStatus.SUCCEEDED)
    assert not finish(database, second, JobStatus.CANCELLED)
    assert not fail(database, third, "RuntimeError: late")
    assert not report_progress(database, fourth, 50, "late progress")
    assert not heartbeat(database, fifth, lease_seconds=LEASE).owned
    assert not release(database, fifth)
    for job_id in ids:
        info = get_job(database, job_id)
        assert (info.status, info.progress, info.message, info.error) == (JobStatus.RUNNING, 0, "", None)
    # The reaper takes every one of them back.
    assert sorted(reap_expired(database).requeued) == ids


def test_the_same_worker_reclaiming_a_job_gets_a_new_token(database: Database) -> None:
    enqueue(database, "noop")
    old = claim_next(database, "w", lease_seconds=LEASE)
    assert old is not None
    expire(database, old)
    reap_expired(database)
    new = claim_next(database, "w", lease_seconds=LEASE)
    assert new is not None and new.attempt == 2
    assert not finish(database, old, JobStatus.SUCCEEDED)
    assert finish(database, new, JobStatus.SUCCEEDED)


def test_cancel_a_queued_job_at_once_and_a_running_job_by_flag(database: Database) -> None:
    running_id = enqueue(database, "noop", priority=1)
    queued_id = enqueue(database, "noop")
    claim = claim_next(database, "w", lease_seconds=LEASE)
    assert claim is not None and claim.id == running_id
    assert request_cancel(database, queued_id).status is JobStatus.CANCELLED
    flagged = request_cancel(database, running_id)
    assert flagged.status is JobStatus.RUNNING and flagged.cancel_requested
    assert claim_next(database, "w", lease_seconds=LEASE) is None
    assert report_progress(database, claim, 40)
    assert finish(database, claim, JobStatus.CANCELLED)
    info = get_job(database, running_id)
    assert (info.status, info.progress) == (JobStatus.CANCELLED, 40)  # finished work is kept
    assert request_cancel(database, running_id).status is JobStatus.CANCELLED  # no-op


def test_cancel_and_retry_refuse_the_wrong_states(database: Database) -> None:
    job_id = enqueue(database, "noop")
    with pytest.raises(JobStateError, match="only failed or cancelled"):
        retry(database, job_id)
    claim = claim_next(database, "w", lease_seconds=LEASE)
    assert claim is not None
    finish(database, claim, JobStatus.SUCCEEDED)
    with pytest.raises(JobStateError, match="already succeeded"):
        request_cancel(database, job_id)
    with pytest.raises(JobStateError, match="enqueue it again"):
        retry(database, job_id)
    with pytest.raises(JobNotFoundError, match="no job with id 999"):
        request_cancel(database, 999)
    with pytest.raises(LookupError):
        get_job(database, 999)


def test_retry_requeues_a_failed_job_with_a_fresh_budget_and_keeps_history(database: Database) -> None:
    job_id = enqueue(database, "noop", max_attempts=1)
    claim = claim_next(database, "w", lease_seconds=LEASE)
    assert claim is not None
    fail(database, claim, "ValueError: bad")
    info = retry(database, job_id)
    assert (info.status, info.attempts, info.error, info.completed_at) == (JobStatus.QUEUED, 0, None, None)
    assert [h["outcome"] for h in info.history] == ["failed"]
    again = claim_next(database, "w", lease_seconds=LEASE)
    assert again is not None and again.id == job_id and again.attempt == 1


def test_release_gives_the_job_back_without_counting_the_attempt(database: Database) -> None:
    job_id = enqueue(database, "noop")
    claim = claim_next(database, "w", lease_seconds=LEASE)
    assert claim is not None
    assert release(database, claim)
    info = get_job(database, job_id)
    assert (info.status, info.attempts, info.worker_id) == (JobStatus.QUEUED, 0, None)


def test_list_jobs_orders_running_then_queued_then_finished(database: Database) -> None:
    done = enqueue(database, "noop", priority=9)
    claim = claim_next(database, "w", lease_seconds=LEASE)
    assert claim is not None
    finish(database, claim, JobStatus.SUCCEEDED)
    running = enqueue(database, "noop", priority=9)
    assert claim_next(database, "w", lease_seconds=LEASE) is not None
    low, high = enqueue(database, "noop"), enqueue(database, "noop", priority=3)
    assert [j.id for j in list_jobs(database)] == [running, high, low, done]
    assert [j.id for j in list_jobs(database, statuses=(JobStatus.QUEUED,))] == [high, low]
    document = list_jobs(database, limit=1)[0].as_dict()
    assert document["status"] == "running" and isinstance(document["created_at"], str)


def test_enqueue_rejects_nonsense(database: Database) -> None:
    with pytest.raises(InvalidJobError, match="max_attempts"):
        enqueue(database, "noop", max_attempts=0)
    with pytest.raises(InvalidJobError, match="needs a type"):
        enqueue(database, "")
