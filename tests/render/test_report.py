"""`studio demo` / `studio render` execute parameterized/render_episode.ipynb with papermill."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from click.testing import CliRunner

from studio._cli import main


def test_demo_renders_through_the_report_notebook(tmp_path: Path) -> None:
    home = tmp_path / "home"
    result = CliRunner().invoke(main, ["--home", str(home), "demo", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert Path(summary["video"]).is_file()
    report = Path(summary["report"])
    assert Path(summary["report_html"]).is_file()
    notebook = nbformat.read(report, as_version=4)
    assert notebook.metadata.papermill.exception in (None, False)
    injected = [c for c in notebook.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and "episode = 1" in injected[0].source
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert any("image/png" in o.get("data", {}) for o in outputs)  # contact sheet and chart
    assert any("<video" in o.get("data", {}).get("text/html", "") for o in outputs)
    pages = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert 'class="studio-waveform"' in pages  # the waveform beside the contact sheet
    assert "en-us+f3 · ×1 · +2 st" in pages and "Then we run." in pages  # each line's voice
    assert "WEBVTT" in pages and '<track kind="subtitles"' in pages  # subtitles, in the player too
    assert summary["sound"]["error"] is None and len(summary["sound"]["lines"]) == 4
    # Segments the deterministic animatic cannot fix are kept for review (not re-rendered).
    assert {s["status"] for s in summary["scenes"]} <= {"completed", "review"}
    segment = summary["scenes"][0]["segments"][0]
    assert set(segment) >= {"status", "seed", "attempts", "prompt", "scores"}


def test_a_failing_report_names_the_cell_and_keeps_the_partial_report(tmp_path: Path) -> None:
    home = tmp_path / "home"
    runner = CliRunner()
    runner.invoke(main, ["--home", str(home), "demo", "--no-render"], catch_exceptions=False)
    # The project's render folder is a file: the render fails inside the notebook's render
    # cell (the project, the episode and the backend were checked before the kernel started).
    (home / "renders").mkdir(parents=True, exist_ok=True)
    (home / "renders" / "neon-tide").write_text("not a folder")
    result = runner.invoke(main, ["--home", str(home), "render", "--episode", "1"])
    assert result.exit_code == 1
    assert "the render report failed in cell" in result.stderr
    assert "neon-tide" in result.stderr
    partial = home / "reports" / "neon-tide" / "episode_01.ipynb"
    assert partial.is_file()


def test_an_unknown_backend_is_refused_before_a_kernel_starts(tmp_path: Path) -> None:
    home = tmp_path / "home"
    runner = CliRunner()
    runner.invoke(main, ["--home", str(home), "demo", "--no-render"], catch_exceptions=False)
    result = runner.invoke(main, ["--home", str(home), "render", "--episode", "1", "--backend", "nope"])
    assert result.exit_code == 2
    assert "unknown backend 'nope'; known backends: animatic, comfyui" in result.stderr
    assert not (home / "reports" / "neon-tide" / "episode_01.ipynb").exists()


def test_rendering_an_unknown_episode_exits_2(tmp_path: Path) -> None:
    home = tmp_path / "home"
    runner = CliRunner()
    runner.invoke(main, ["--home", str(home), "demo", "--no-render"], catch_exceptions=False)
    result = runner.invoke(main, ["--home", str(home), "render", "--episode", "9"])
    assert result.exit_code == 2
    assert "episode 9 does not exist in 'Neon Tide'; episodes: 1" in result.stderr
