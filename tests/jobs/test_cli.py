"""The queue's commands: enqueue validation, listing, cancel and retry, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from studio._cli import main
from studio._config import Settings
from studio._studio import Studio
from studio.jobs._enqueue import enqueue_renders, format_episodes, parse_episodes
from studio.jobs._records import InvalidJobError, JobStatus
from studio.jobs._store import claim_next, enqueue, fail, get_job
from studio.storage._database import Database


def run(settings: Settings, *args: str) -> tuple[int, str, str]:
    base = ["--home", str(settings.home), "--database-url", settings.database_url]
    result = CliRunner().invoke(main, [*base, *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def demo(settings: Settings) -> Settings:
    with Studio.open(settings=settings, upgrade=True) as studio:
        studio.import_demo()
    return settings


@pytest.mark.parametrize(
    ("spec", "numbers"),
    [("3", [3]), ("1-4", [1, 2, 3, 4]), ("1,3,5-7", [1, 3, 5, 6, 7]), (" 2 - 3 , 2", [2, 3])],
)
def test_parse_episodes(spec: str, numbers: list[int]) -> None:
    assert parse_episodes(spec) == numbers
    assert parse_episodes(format_episodes(numbers).replace(" ", "")) == numbers


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("5-2", "bad episode range '5-2': it runs backwards; write 2-5"),
        ("", "no episodes given"),
        ("1,x", "'x' is not a number or a range like 1-12"),
        ("0-3", "episode numbers start at 1"),
        ("1-", "'1-' is not a number"),
    ],
)
def test_bad_episode_lists_are_explained(spec: str, message: str) -> None:
    with pytest.raises(InvalidJobError, match=message.replace("(", r"\(")):
        parse_episodes(spec)


def test_enqueue_queues_one_job_per_episode_and_skips_active_ones(demo: Settings) -> None:
    code, out, _ = run(demo, "enqueue", "--episodes", "1", "--priority", "4")
    assert code == 0 and "queued 1 render job(s)" in out and "episode 1: job 1" in out
    code, out, _ = run(demo, "--json", "enqueue", "--episodes", "1")
    assert code == 0 and json.loads(out) == {
        "project": "Neon Tide",
        "created": {},
        "already_active": {"1": 1},
    }
    code, out, _ = run(demo, "--json", "jobs")
    [job] = json.loads(out)["jobs"]
    assert (job["job_type"], job["status"], job["priority"]) == ("render_episode", "queued", 4)
    assert job["parameters"] == {"episode": 1, "project": "Neon Tide", "backend": "animatic"}


def test_enqueue_takes_the_render_pass(demo: Settings) -> None:
    code, out, _ = run(demo, "enqueue", "--episodes", "1", "--pass", "final")
    assert code == 0, out
    code, out, _ = run(demo, "--json", "jobs")
    [job] = json.loads(out)["jobs"]
    assert job["parameters"]["render_pass"] == "final"
    code, _, err = run(demo, "enqueue", "--episodes", "1", "--pass", "draft")
    assert code == 2 and "'draft' is not one of 'previs', 'final'" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--episodes", "1-3"], "error: 'Neon Tide' has no episode 2-3 (it has 1); nothing was queued"),
        (["--episodes", "5-2"], "error: bad episode range '5-2': it runs backwards; write 2-5"),
        (
            ["--episodes", "1", "--backend", "vhs"],
            "error: unknown backend 'vhs'; choose one of: animatic, comfyui",
        ),
        (["--episodes", "1", "--project", "Nope"], "error: no project titled 'Nope'; projects: 'Neon Tide'"),
    ],
)
def test_enqueue_rejects_bad_requests_with_exit_code_2(demo: Settings, args: list[str], message: str) -> None:
    code, out, err = run(demo, "enqueue", *args)
    assert (code, out, err.strip()) == (2, "", message)
    code, out, _ = run(demo, "--json", "jobs")
    assert json.loads(out) == {"jobs": []}


def test_jobs_lists_cancel_and_retry(demo: Settings, database: Database) -> None:
    result = enqueue_renders(database, "1")
    [job_id] = result.created.values()
    claim = claim_next(database, "w", lease_seconds=30, job_types=["render_episode"])
    assert claim is not None
    fail(database, claim, "RenderError: cell 7 failed")
    code, out, _ = run(demo, "jobs")
    assert code == 0
    assert "render_episode" in out and "ep 1 (animatic)" in out and "failed" in out
    assert "error: RenderError: cell 7 failed" in out
    assert run(demo, "jobs", "retry", str(job_id))[:2] == (0, f"job {job_id}: queued again\n")
    assert get_job(database, job_id).status is JobStatus.QUEUED
    assert run(demo, "jobs", "cancel", str(job_id))[:2] == (0, f"job {job_id}: cancelled\n")
    code, _, err = run(demo, "jobs", "cancel", "999")
    assert (code, err.strip()) == (2, "error: no job with id 999; `studio jobs` lists them")
    code, _, err = run(demo, "jobs", "retry", str(enqueue(database, "noop")))
    assert code == 2 and "only failed or cancelled jobs can be retried" in err
    code, out, _ = run(demo, "jobs", "--status", "cancelled")
    assert code == 0 and "cancelled" in out and "noop" not in out


def test_worker_once_from_the_cli(settings: Settings, database: Database) -> None:
    job_id = enqueue(database, "noop")
    code, out, _ = run(settings, "--json", "worker", "--once", "--lease-seconds", "5")
    assert code == 0
    assert json.loads(out)["succeeded"] == 1
    assert get_job(database, job_id).status is JobStatus.SUCCEEDED


def test_an_empty_queue_says_how_to_fill_it(settings: Settings, database: Database) -> None:
    assert run(settings, "jobs")[1].strip() == "no jobs; queue some with `studio enqueue --episodes 1-3`"


def test_batch_rejects_unknown_episodes_before_starting_processes(demo: Settings, tmp_path: Path) -> None:
    code, _, err = run(demo, "batch", "--episodes", "2", "--parallel", "2")
    assert code == 2 and "has no episode 2" in err
