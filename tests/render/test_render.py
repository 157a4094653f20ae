"""Rendering the demo episode end to end on the animatic backend."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from studio._config import Settings
from studio._studio import Studio
from studio._video import CRASH_VARIABLE, VideoWriter, iter_frames, probe
from studio.backends import SegmentRequest, SegmentResult
from studio.backends._animatic import AnimaticBackend
from studio.render._pipeline import RenderCancelled, RenderProgress, render_episode
from studio.storage._models import QualityFeedbackModel, SceneModel, SegmentModel

DEMO_FRAMES = (6 + 5 + 7) * 24
TRANSITION_FRAMES = 2 * 12  # scene 1 fades and scene 2 dissolves into the next, 0.5 s each


def segment_rows(studio: Studio) -> list[tuple[int, int, str, int, str | None]]:
    with studio.database.session() as session:
        return sorted(
            session.execute(
                select(
                    SceneModel.scene_number,
                    SegmentModel.segment_number,
                    SegmentModel.status,
                    SegmentModel.attempts,
                    SegmentModel.output_video_path,
                ).join(SceneModel, SegmentModel.scene_id == SceneModel.id)
            ).all()
        )


def media_files(home: Path) -> list[str]:
    return sorted(p.relative_to(home).as_posix() for p in (home / "renders").rglob("*") if p.is_file())


def test_the_demo_renders_and_a_second_run_redoes_nothing(settings: Settings) -> None:
    with Studio.open(settings=settings, upgrade=True) as studio:
        studio.import_demo()
        events = []
        summary = render_episode(studio, episode=1, progress=events.append)
        info = probe(summary.episode_video)
        assert info.codec == "h264" and info.fps == 24
        assert info.frames == DEMO_FRAMES - TRANSITION_FRAMES
        for scene in summary.scenes:
            assert scene["status"] in ("completed", "review")
            scene_info = probe(Path(scene["video"]))
            assert scene_info.frames == {1: 144, 2: 120, 3: 168}[scene["scene"]]
            for segment in scene["segments"]:
                # The animatic is deterministic: a segment it cannot fix goes to review
                # after one attempt, saying why, instead of re-rendering the same frames.
                assert segment["attempts"] == 1
                if segment["status"] == "review":
                    assert any("deterministic" in r for r in segment["reasons"]), segment["reasons"]
        rows = segment_rows(studio)
        assert len(rows) == 6 and {r[2] for r in rows} <= {"completed", "review"}
        assert all((studio.home / r[4]).is_file() for r in rows if r[4])
        fractions = [e.fraction for e in events]
        assert fractions == sorted(fractions), "progress went backwards"
        assert fractions[0] < 0.5 and fractions[-1] == 1.0
        assert len(set(fractions)) > 6  # it moves within segments, not only between them
        files = media_files(studio.home)
        stamps = {f: (studio.home / f).stat().st_mtime_ns for f in files if "segment_" in f}

        again = render_episode(studio, episode=1)
        assert segment_rows(studio) == rows
        assert media_files(studio.home) == files
        assert {f: (studio.home / f).stat().st_mtime_ns for f in stamps} == stamps
        assert probe(again.episode_video).frames == info.frames


def test_seams_continue_exactly_from_the_lossless_last_frame(sqlite_settings: Settings) -> None:
    from studio._video import read_image

    with Studio.open(settings=sqlite_settings) as studio:
        studio.import_demo()
        render_episode(studio, episode=1)
        with studio.database.session() as session:
            scene = session.scalars(select(SceneModel).where(SceneModel.scene_number == 1)).one()
            first, second = scene.segments
            last_png = read_image(studio.home / first.last_frame_path)
            next_first = read_image(studio.home / second.first_frame_path)
            assert np.array_equal(last_png, next_first)  # frame 0 of k+1 is k's exact last frame
            assert second.leading_duplicate


class FlakyBackend(AnimaticBackend):
    """The animatic, except that the first attempt at scene 1 segment 1 has black frames."""

    name = "flaky"
    deterministic = False  # its first attempt differs from the second

    async def generate(self, request: SegmentRequest, progress) -> SegmentResult:  # type: ignore[no-untyped-def]
        result = await super().generate(request, progress)
        if request.scene.scene == 1 and request.segment_number == 1 and "flaky-done" not in FLAKY_STATE:
            FLAKY_STATE.add("flaky-done")
            frames = list(iter_frames(result.video_path))
            for i in range(20, 30):
                frames[i] = np.zeros_like(frames[i])
            broken = result.video_path.with_name("broken.mp4")
            with VideoWriter(broken, width=request.width, height=request.height, fps=request.fps) as writer:
                for i, frame in enumerate(frames):
                    writer.write(frame, keyframe=i == 1)
            os.replace(broken, result.video_path)
        return result


FLAKY_STATE: set[str] = set()


@pytest.fixture
def flaky_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registered for one test only, so other tests see the real registry."""
    from studio.backends import _base

    monkeypatch.setitem(_base._REGISTRY, "flaky", lambda settings: FlakyBackend())
    FLAKY_STATE.clear()


@pytest.mark.usefixtures("flaky_backend")
def test_a_failing_segment_is_retried_with_a_new_seed_and_feedback_records_why(
    sqlite_settings: Settings,
) -> None:
    with Studio.open(settings=sqlite_settings) as studio:
        studio.import_demo()
        summary = render_episode(studio, episode=1, backend="flaky")
        [scene1] = [s for s in summary.scenes if s["scene"] == 1]
        retried = scene1["segments"][1]
        assert retried["attempts"] == 2
        assert retried["status"] == "completed"
        with studio.database.session() as session:
            segment = session.scalars(
                select(SegmentModel)
                .join(SceneModel, SegmentModel.scene_id == SceneModel.id)
                .where(SceneModel.scene_number == 1, SegmentModel.segment_number == 1)
            ).one()
            rows = session.scalars(
                select(QualityFeedbackModel)
                .where(QualityFeedbackModel.segment_id == segment.id)
                .order_by(QualityFeedbackModel.attempt, QualityFeedbackModel.character_id)
            ).all()
            # One row per attempt and per character present (Luna and Kai), not just the first.
            assert [(r.attempt, r.character_id is not None) for r in rows] == [
                (1, True),
                (1, True),
                (2, True),
                (2, True),
            ]
            assert len({r.character_id for r in rows}) == 2
            first = rows[0]
            assert first.generation_parameters["decision"]["action"] == "retry"
            assert any("black" in reason for reason in first.generation_parameters["decision"]["reasons"])
            assert rows[2].generation_parameters["seed"] == rows[0].generation_parameters["seed"] + 1000
            names = {r.character_id: set(r.successful_elements + r.failed_elements) for r in rows[2:]}
            luna_id, kai_id = rows[2].character_id, rows[3].character_id
            # Each character's row carries that character's elements, never the other's.
            assert not {"Kai", "spiky red hair"} & names[luna_id]
            assert not {"Luna", "silver bob haircut"} & names[kai_id]


def test_cancellation_stops_between_segments_and_keeps_finished_work(sqlite_settings: Settings) -> None:
    with Studio.open(settings=sqlite_settings) as studio:
        studio.import_demo()
        done: list[int] = []

        def cancel_after_two() -> bool:
            return len(done) >= 2

        def track(event) -> None:  # type: ignore[no-untyped-def]
            if event.message.endswith("done") and "segment" in event.message:
                done.append(1)

        with pytest.raises(RenderCancelled):
            render_episode(
                studio, episode=1, progress=track, should_cancel=cancel_after_two, scene_concurrency=1
            )
        completed = [r for r in segment_rows(studio) if r[2] in ("completed", "review")]
        assert len(completed) == 2
        # Cancelled is not failed: the episode is just not finished yet.
        assert [e["status"] for e in studio.status()[0]["episodes"]] == ["pending"]
        render_episode(studio, episode=1)
        assert [r[3] for r in segment_rows(studio)] == [1] * 6  # nothing generated twice


@pytest.mark.slow
def test_resume_after_kill_9_completes_with_one_row_and_one_file_per_segment(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "STUDIO_HOME": str(home)}
    studio_cmd = [sys.executable, "-m", "studio._cli", "--home", str(home)]
    subprocess.run([*studio_cmd, "demo", "--no-render"], check=True, env=env, capture_output=True)
    # The crash hook kills the render (kill -9, by itself) just before the second segment
    # of a scene is renamed into place: by then that scene's first segment is complete,
    # and the kill cannot miss, however fast the render runs.
    killed = subprocess.run(
        [*studio_cmd, "render", "--episode", "1", "--no-report"],
        env={**env, CRASH_VARIABLE: "segment_001.mp4"},
        capture_output=True,
        timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with Studio.open(home=home) as studio:
        before = [r for r in segment_rows(studio) if r[2] in ("completed", "review")]
        assert before, "the render was killed before finishing any segment"
        assert len(before) < 6
        assert list((home / "renders").rglob(".segment_001.mp4.*.part")), "the kill left no half-written file"
        result = subprocess.run(
            [*studio_cmd, "render", "--episode", "1", "--no-report", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        rows = segment_rows(studio)
        assert len(rows) == 6 and {r[2] for r in rows} <= {"completed", "review"}
        for row in before:  # finished work was not redone
            assert row in rows
        videos = [p for p in (home / "renders").rglob("segment_*.mp4")]
        assert len(videos) == 6
        assert not list((home / "renders").rglob("*.part"))
        with studio.database.session() as session:
            assert session.scalar(select(func.count()).select_from(SegmentModel)) == 6


def test_a_cancel_mid_segment_cuts_it_off_and_a_rerun_renders_each_segment_once(settings: Settings) -> None:
    """Cancel is seen at the next frame of the segment being drawn, not after it: the
    segment cut off goes back to pending with no file, and a re-run finishes the rest."""
    with Studio.open(settings=settings, upgrade=True) as studio:
        studio.import_demo()
        requested = threading.Event()
        after_request: list[RenderProgress] = []

        def track(event: RenderProgress) -> None:
            if requested.is_set():
                after_request.append(event)
            elif (event.scene, event.segment) == (1, 1) and event.message.startswith("frame"):
                requested.set()  # the dashboard's Cancel, clicked while the second segment is drawn

        with pytest.raises(RenderCancelled) as stopped:
            render_episode(
                studio, episode=1, progress=track, should_cancel=requested.is_set, scene_concurrency=1
            )
        assert (stopped.value.scene, stopped.value.segment) == (1, 1)
        # The second segment never reached its end: no "done" for it after the request.
        assert not [e for e in after_request if e.segment == 1 and e.message.endswith("done")]
        rows = segment_rows(studio)
        assert rows[0][:2] == (1, 0) and rows[0][3] == 1 and rows[0][2] in ("completed", "review")
        assert rows[1] == (1, 1, "pending", 0, None)  # cut off, not counted as an attempt
        assert {r[2] for r in rows[2:]} == {"pending"}
        scene_dir = next((studio.home / "renders").rglob("scene_001"))
        assert not list(scene_dir.glob("segment_001*"))
        assert not list((studio.home / "renders").rglob("*.part"))
        assert [e["status"] for e in studio.status()[0]["episodes"]] == ["pending"]
        first = rows[0]

        render_episode(studio, episode=1)
        rows = segment_rows(studio)
        assert rows[0] == first  # finished work kept as it was
        assert [r[3] for r in rows] == [1] * 6 and {r[2] for r in rows} <= {"completed", "review"}
        assert len(list((studio.home / "renders").rglob("segment_*.mp4"))) == 6
        assert not list((studio.home / "renders").rglob("*.part"))
