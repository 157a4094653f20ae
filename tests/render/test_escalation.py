"""Retries walk the template's escalation ladder; a deterministic backend goes to review.

The backends here are the animatic with one segment's frames broken (black frames) on
chosen attempts; one of them answers ``retry_changes`` with the real wan22_i2v ladder,
so the parameters it receives are exactly what the ComfyUI backend would bind.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from studio._config import Settings
from studio._studio import Studio
from studio._video import VideoWriter, iter_frames
from studio.backends import SegmentRequest, SegmentResult
from studio.backends._animatic import AnimaticBackend
from studio.backends.comfyui import apply_bindings, load_template
from studio.backends.comfyui._escalation import retry_changes
from studio.render._pipeline import render_episode
from studio.render._report import scores_table_html
from studio.storage._models import QualityFeedbackModel, SegmentModel

SCREENPLAY = """\
title: Ladder
defaults: {fps: 24, width: 256, height: 144, max_attempts: 3}
characters: [{name: Ann, prompt: short black hair, outfit: grey coat}]
episodes:
  - number: 1
    scenes:
      - {number: 1, description: Ann waits on the pier., location: pier, duration: 6,
         camera: {angle: medium, movement: pan}, actions: [Ann walks to the edge],
         characters: [{name: Ann, pose: walking, position: left}]}
"""


def break_frames(result: SegmentResult, request: SegmentRequest) -> None:
    frames = list(iter_frames(result.video_path))
    for i in range(20, 30):
        frames[i] = np.zeros_like(frames[i])
    broken = result.video_path.with_name("broken.mp4")
    with VideoWriter(broken, width=request.width, height=request.height, fps=request.fps) as writer:
        for i, frame in enumerate(frames):
            writer.write(frame, keyframe=i == 1 and result.leading_duplicate)
    os.replace(broken, result.video_path)


class BrokenSegment(AnimaticBackend):
    """Segment 1's first ``broken`` attempts have black frames; every request is kept."""

    name = "broken"

    def __init__(self, broken: int) -> None:
        super().__init__()
        self.broken = broken
        self.requests: list[SegmentRequest] = []

    async def generate(self, request: SegmentRequest, progress) -> SegmentResult:  # type: ignore[no-untyped-def]
        result = await super().generate(request, progress)
        self.requests.append(request)
        calls = sum(1 for r in self.requests if r.segment_number == request.segment_number)
        if request.segment_number == 1 and calls <= self.broken:
            break_frames(result, request)
        return result


class LadderBackend(BrokenSegment):
    """Not deterministic: its retries change what it is asked for, on wan22_i2v's ladder."""

    name = "ladder"
    deterministic = False
    template = load_template("wan22_i2v")

    def retry_changes(self, parameters: Mapping[str, Any], attempt: int) -> dict[str, Any] | None:
        return retry_changes(self.template, parameters, attempt)


@pytest.fixture
def studio(settings: Settings, tmp_path: Path) -> Iterator[Studio]:
    path = tmp_path / "ladder.yaml"
    path.write_text(SCREENPLAY)
    with Studio.open(settings=settings, upgrade=True) as opened:
        opened.import_file(path)
        yield opened


def use(monkeypatch: pytest.MonkeyPatch, backend: BrokenSegment) -> None:
    from studio.backends import _base

    monkeypatch.setitem(_base._REGISTRY, backend.name, lambda settings: backend)


def test_retries_walk_the_ladder_from_the_base_and_change_the_graph(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = LadderBackend(broken=2)
    use(monkeypatch, backend)
    summary = render_episode(studio, episode=1, backend="ladder")
    [segment] = [s for s in summary.scenes[0]["segments"] if s["segment"] == 1]
    assert (segment["status"], segment["attempts"]) == ("completed", 3)
    # What each attempt changed, from the base, as `studio render --json` shows it.
    log = segment["attempt_log"]
    assert [(a["attempt"], a["changes"], a["decision"]) for a in log] == [
        (1, {}, "retry"),
        (2, {}, "retry"),
        (3, {"steps": 30, "switch_step": 15}, "pass"),
    ]
    assert [a["seed"] - log[0]["seed"] for a in log] == [0, 1000, 2000]
    sent = [r for r in backend.requests if r.segment_number == 1]
    assert [dict(r.parameters) for r in sent] == [{}, {}, {"steps": 30, "switch_step": 15}]
    # The graph the server would receive: attempt 2 differs from 1 by the seed only;
    # attempt 3 also has 30 steps on both experts, split at 15 instead of 10.
    template = LadderBackend.template
    graphs = [apply_bindings(template, {**r.parameters, "seed": r.seed}) for r in sent]
    assert changed_inputs(graphs[0], graphs[1]) == {("11", "noise_seed"), ("12", "noise_seed")}
    assert changed_inputs(graphs[1], graphs[2]) == {
        ("11", "noise_seed"), ("12", "noise_seed"), ("11", "steps"), ("12", "steps"),
        ("11", "end_at_step"), ("12", "start_at_step"),
    }
    assert graphs[2]["11"]["inputs"]["steps"] == 30 and graphs[2]["12"]["inputs"]["start_at_step"] == 15
    with studio.database.session() as session:
        row = session.scalars(select(SegmentModel).where(SegmentModel.segment_number == 1)).one()
        feedback = session.scalars(
            select(QualityFeedbackModel)
            .where(QualityFeedbackModel.segment_id == row.id)
            .order_by(QualityFeedbackModel.attempt)
        ).all()
        assert [f.generation_parameters["escalation"] for f in feedback] == [
            {}, {}, {"steps": 30, "switch_step": 15},
        ]
        assert row.meta["attempts"] == log
    # The report's table says what each retry changed.
    assert "attempt 3: steps=30, switch_step=15" in scores_table_html(summary)


def test_the_deterministic_animatic_sends_a_failing_segment_to_review_at_once(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = BrokenSegment(broken=99)  # the animatic: the same request, the same frames
    use(monkeypatch, backend)
    summary = render_episode(studio, episode=1, backend="broken")
    [segment] = [s for s in summary.scenes[0]["segments"] if s["segment"] == 1]
    assert (segment["status"], segment["attempts"]) == ("review", 1)
    assert [r.segment_number for r in backend.requests] == [0, 1]  # never re-rendered
    assert any("black" in r for r in segment["reasons"])
    assert segment["reasons"][-1].startswith("the broken backend is deterministic: a retry would draw")
    assert summary.scenes[0]["status"] == "review"
    assert "the broken backend is deterministic" in scores_table_html(summary)
    # A plain re-run keeps the segment in review instead of rendering it again.
    render_episode(studio, episode=1, backend="broken")
    assert len(backend.requests) == 2


def changed_inputs(a: dict[str, Any], b: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (node, key)
        for node in a
        for key in a[node]["inputs"]
        if a[node]["inputs"][key] != b[node]["inputs"][key]
    }
