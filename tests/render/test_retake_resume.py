"""A retake killed with ``kill -9`` resumes with no duplicated take and no stray file.

The kill is deterministic: ``STUDIO_TEST_KILL_AT`` makes the pipeline SIGKILL itself at
a named point (see ``studio.render._takes.kill_point``), the way ``kill -9`` would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from studio._studio import Studio
from studio.storage import SceneModel, SegmentModel, TakeModel


def studio_cli(home: Path, *args: str, kill_at: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "STUDIO_HOME": str(home)}
    env.pop("STUDIO_TEST_KILL_AT", None)
    if kill_at:
        env["STUDIO_TEST_KILL_AT"] = kill_at
    return subprocess.run(
        [sys.executable, "-m", "studio._cli", "--home", str(home), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def take_files(home: Path) -> set[str]:
    """Every file inside a take folder, relative to the home."""
    return {
        p.relative_to(home).as_posix()
        for p in (home / "renders").rglob("*")
        if p.is_file() and "_take_" in p.parent.name
    }


@pytest.mark.parametrize("kill_at", ["take:1", "generated:1"])
def test_a_retake_killed_with_kill_9_resumes_without_duplicates_or_strays(tmp_path: Path, kill_at: str) -> None:
    home = tmp_path / "home"
    assert studio_cli(home, "demo", "--no-render").returncode == 0
    assert studio_cli(home, "render", "--episode", "1", "--no-report").returncode == 0
    with Studio.open(home=home) as studio, studio.database.session() as session:
        target = session.scalars(
            select(SegmentModel)
            .join(SceneModel, SegmentModel.scene_id == SceneModel.id)
            .where(SceneModel.scene_number == 3, SegmentModel.segment_number == 0)
        ).one()
        target_id = target.id
    files_before = take_files(home)

    killed = studio_cli(home, "retake", "--segment", str(target_id), "--notes", "wider", kill_at=kill_at)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with Studio.open(home=home) as studio, studio.database.session() as session:
        takes = session.scalars(select(TakeModel).where(TakeModel.segment_id == target_id)).all()
        assert sorted(t.status for t in takes) == ["generating", "passed"]

    resumed = studio_cli(home, "retake", "--resume", "--episode", "1", "--json")
    assert resumed.returncode == 0, resumed.stderr
    document = json.loads(resumed.stdout)
    assert document["pass"] == "previs"
    [scene3] = [s for s in document["scenes"] if s["scene"] == 3]
    segment = scene3["segments"][0]
    assert segment["take"] == 2 and [t["take"] for t in segment["takes"]] == [1, 2]

    with Studio.open(home=home) as studio, studio.database.session() as session:
        takes = session.scalars(select(TakeModel).order_by(TakeModel.id)).all()
        mine = [t for t in takes if t.segment_id == target_id]
        assert [(t.take_number, t.status, t.chosen_for is not None) for t in mine] == [
            (1, "passed", False),
            (2, "passed", True),
        ]
        assert mine[1].notes == "wider"
        assert not [t for t in takes if t.status == "generating"]
        chosen = {t.segment_id for t in takes if t.chosen_for is not None}
        assert len(chosen) == len({t.segment_id for t in takes})  # one chosen take each
        referenced = {
            p for t in takes for p in (t.output_video_path, t.first_frame_path, t.last_frame_path) if p
        }
    files = take_files(home)
    assert not [f for f in files if f.endswith(".part") or "/." in f]
    # Every file in a take folder belongs to a take: its video, frames and quality series.
    strays = {f for f in files - referenced if not f.endswith(".quality.json")}
    assert strays == set()
    assert files_before <= files  # finished work outside the retake was kept
