"""``studio analyze``: text, JSON, plot and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from studio._cli import main


def test_text_summary_lists_the_events(events_clips: dict[str, Path]) -> None:
    result = CliRunner().invoke(main, ["analyze", str(events_clips["cut"])])
    assert result.exit_code == 0, result.output
    assert "48 frames" in result.output
    assert "cut" in result.output and "frame 24" in result.output
    assert "verdict: retry" in result.output
    # Each event says how sure it is and why: the measured value against its threshold.
    assert "confidence" in result.output and ">= 6" in result.output


def test_json_plot_and_seam(
    clean_clip: Path, previous_last_frame: Path, graded_anchor: Path, tmp_path: Path
) -> None:
    plot = tmp_path / "plot.png"
    result = CliRunner().invoke(
        main,
        [
            "analyze", str(clean_clip), "--previous-last-frame", str(previous_last_frame),
            "--anchor", str(graded_anchor), "--plot", str(plot), "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["analysis"]["seam"]["seam_frame"] == 0
    events = document["analysis"]["events"]
    assert [e["kind"] for e in events] == ["color_drift"]
    assert 0.5 <= events[0]["confidence"] <= 1.0 and "Delta E" in events[0]["reason"]
    assert document["decision"]["action"] == "color_correct"
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_per_frame_table_and_full_resolution(clean_clip: Path) -> None:
    result = CliRunner().invoke(main, ["analyze", str(clean_clip), "--full-resolution", "--per-frame"])
    assert result.exit_code == 0, result.output
    assert "analysed at 192x128" in result.output
    assert "\n    47 " in result.output  # the last frame's row


def test_missing_video_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["analyze", str(tmp_path / "missing.mp4")])
    assert result.exit_code == 2
    assert "video not found" in result.output


def test_not_a_video_exits_2(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.mp4"
    bogus.write_text("not a video")
    result = CliRunner().invoke(main, ["analyze", str(bogus)])
    assert result.exit_code == 2
    assert "cannot open" in result.output


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads in /proc (Linux only)")
def test_analyze_loads_numpy_with_one_blas_thread_and_leaves_the_environment_alone() -> None:
    code = (
        "import os; from studio._cli._analyze import _one_blas_thread\n"
        "before = len(os.listdir('/proc/self/task'))\n"
        "with _one_blas_thread():\n"
        "    import numpy\n"
        "print(len(os.listdir('/proc/self/task')) - before, 'OPENBLAS_NUM_THREADS' in os.environ)"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.split() == ["0", "False"]  # no OpenBLAS worker threads, no variable left
