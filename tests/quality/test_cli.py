"""``studio analyze``: text, JSON, plot and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from studio._cli import main


def test_text_summary_lists_the_events(events_clips: dict[str, Path]) -> None:
    result = CliRunner().invoke(main, ["analyze", str(events_clips["cut"])])
    assert result.exit_code == 0, result.output
    assert "48 frames" in result.output
    assert "cut" in result.output and "frame 24" in result.output
    assert "verdict: retry" in result.output


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
    assert [e["kind"] for e in document["analysis"]["events"]] == ["color_drift"]
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
