"""A render killed (kill -9) at every stage leaves only files the next run recognises
and removes, and the next run finishes the episode with one row and one file per segment.

The kill is deterministic: the crash hook (``STUDIO_TEST_CRASH_BEFORE_RENAME``) makes the
render kill itself just before it renames a finished temporary file into place, the
moment that leaves the most behind. Each stage is named by the file it was writing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from studio._studio import DEMO_SCREENPLAY, Studio
from studio._video import CRASH_VARIABLE
from studio.storage._models import SegmentModel

pytestmark = [pytest.mark.slow]

# stage -> (the file name pattern the render is killed before renaming, the leftover it leaves)
STAGES = {
    "generate": ("segment_000.mp4", ".segment_000.mp4.*.part"),
    "check": ("segment_000.quality.json", ".segment_000.quality.json.*.part"),
    # A correction is written beside the segment and verified before it replaces it.
    "correct": ("segment_*.mp4.corrected", "segment_*.corrected.mp4"),
    "stitch scene": ("scene_*.mp4", ".scene_*.mp4.*.part"),
    "stitch episode": ("episode_*.mp4", ".episode_*.mp4.*.part"),
    "report": ("episode_*.html", ".episode_*.html.*.part"),
}


def temporary_files(home: Path) -> list[str]:
    left = [*home.rglob(".*.part"), *home.rglob("*.corrected.*")]
    return sorted(p.relative_to(home).as_posix() for p in left)


@pytest.mark.parametrize("stage", list(STAGES))
def test_a_render_killed_at_any_stage_leaves_nothing_behind_after_the_next_run(
    tmp_path: Path, stage: str
) -> None:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STUDIO_", "DB_"))}
    studio_cmd = [sys.executable, "-m", "studio", "--home", str(home)]
    if stage == "correct":
        # The demo needs no correction; strict colour thresholds make its mild drift ask for one.
        show = tmp_path / "show.yaml"
        show.write_text(
            DEMO_SCREENPLAY.read_text().replace(
                "  max_attempts: 3\n",
                "  max_attempts: 3\n  quality: {color_max_delta_e: 1.0, color_min_palette_coverage: 1.0}\n",
            )
        )
        setup = [*studio_cmd, "import", str(show)]
    else:
        setup = [*studio_cmd, "demo", "--no-render"]
    subprocess.run(setup, check=True, env=env, capture_output=True, timeout=120)
    render = [*studio_cmd, "render", "--episode", "1"] + ([] if stage == "report" else ["--no-report"])
    pattern, leftover = STAGES[stage]

    killed = subprocess.run(render, env={**env, CRASH_VARIABLE: pattern}, capture_output=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode(errors="replace")[-3000:]
    left = temporary_files(home)
    assert [name for name in left if Path(name).match(leftover)], f"the kill left no {leftover}: {left}"

    again = subprocess.run(render, env=env, capture_output=True, timeout=300)
    assert again.returncode == 0, again.stderr.decode(errors="replace")[-3000:]
    assert temporary_files(home) == []
    assert len(list((home / "renders").rglob("segment_*.mp4"))) == 6
    assert len(list((home / "renders").rglob("scene_*.mp4"))) == 3
    assert len(list((home / "renders").rglob("episode_*.mp4"))) == 1
    with Studio.open(home=home) as studio, studio.database.session() as session:
        assert session.scalar(select(func.count()).select_from(SegmentModel)) == 6
