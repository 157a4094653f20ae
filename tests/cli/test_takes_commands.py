"""`studio render --pass`, `studio retake`, `studio takes` and `studio review` from the shell."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from studio._cli import main


def run(home: Path, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["--home", str(home), *args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.output)
    return document


def test_help_names_passes_retakes_and_reviews() -> None:
    runner = CliRunner()
    render = runner.invoke(main, ["render", "--help"]).output
    assert "--pass [previs|final]" in render and "--retry-review" in render
    retake = runner.invoke(main, ["retake", "--help"]).output
    for option in ("--segment", "--scene", "--episode", "--from", "--to", "--notes", "--resume", "--queue"):
        assert option in retake
    assert "--choose" in runner.invoke(main, ["takes", "--help"]).output
    assert "--reject" in runner.invoke(main, ["review", "--help"]).output


def test_review_takes_and_retake_commands(tmp_path: Path) -> None:
    home = tmp_path / "home"
    rendered = run(home, "demo", "--no-report")
    assert rendered["pass"] == "previs"
    segment = rendered["scenes"][1]["segments"][0]
    assert [t["take"] for t in segment["takes"]] == [1] and segment["take"] == 1

    approved = run(home, "review", "--segment", str(segment["id"]), "--approve", "--rating", "5")
    assert approved["status"] == "approved" and approved["take"]["chosen"]
    rejected = run(
        home, "review", "--segment", str(segment["id"]), "--reject", "--rating", "2", "--notes", "rain heavier"
    )
    assert rejected["status"] == "queued"

    resumed = run(home, "retake", "--resume", "--episode", "1")
    [again] = [s for s in resumed["scenes"][1]["segments"] if s["id"] == segment["id"]]
    assert again["take"] == 2 and again["takes"][1]["notes"] == "rain heavier"

    takes = run(home, "takes", "--segment", str(segment["id"]), "--choose", "1")["takes"]
    assert [(t["take"], t["chosen"], t["chosen_by"], t["status"]) for t in takes] == [
        (1, True, "user", "rejected"),
        (2, False, None, "passed"),
    ]
    ranged = run(home, "retake", "--episode", "1", "--from", "00:01", "--to", "00:02")
    assert ranged["retake"]["scenes"] == [1] and len(ranged["retake"]["segments"]) == 1
