"""The OpenTimelineIO export, read back with OTIO and checked frame for frame."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import opentimelineio as otio
from click.testing import CliRunner
from sqlalchemy import select

from studio._cli import main
from studio._config import Settings
from studio._video import iter_frames, probe
from studio.render._pipeline import render_episode
from studio.storage._models import QualityFeedbackModel, SegmentModel
from tests.sound.conftest import open_studio, show


def test_the_timeline_matches_the_stitched_episode_frame_for_frame(
    tmp_path: Path, tts_settings: Settings
) -> None:
    with open_studio(tts_settings) as studio:
        studio.import_file(show(tmp_path / "play"))
        summary = render_episode(studio, episode=1)
        with studio.database.session() as session:
            first = session.scalars(select(SegmentModel).order_by(SegmentModel.id)).first()
            assert first is not None
            session.add(QualityFeedbackModel(segment_id=first.id, overall_score=0.5, user_notes="hair flickers",
                                             feedback_type="user"))  # fmt: skip
    args = ["--home", str(tts_settings.home), "--json", "export-timeline", "--episode", "1"]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    path = Path(json.loads(result.output)["timeline"])

    timeline = otio.adapters.read_from_file(str(path))
    video_track, dialogue, mix = timeline.tracks
    episode = list(iter_frames(summary.episode_video))
    assert video_track.duration().to_frames() == len(episode) == probe(summary.episode_video).frames
    assert mix.duration().to_seconds() == len(episode) / 24

    transitions = [t.range_in_parent() for t in video_track if isinstance(t, otio.schema.Transition)]
    assert len(transitions) == 1 and transitions[0].duration.to_frames() == 12  # the 0.5 s dissolve
    blended = {
        f for r in transitions for f in range(r.start_time.to_frames(), r.end_time_exclusive().to_frames())
    }
    clips = list(video_track.find_clips())
    assert len(clips) == 2  # one segment per scene at this length
    covered = exact = 0
    for clip in clips:
        source = Path(unquote(urlparse(clip.media_reference.target_url).path))
        assert source.is_file()
        frames = list(iter_frames(source))
        placed = clip.range_in_parent()
        start, count = placed.start_time.to_frames(), placed.duration.to_frames()
        first_source = clip.source_range.start_time.to_frames()
        assert clip.source_range.duration.to_frames() == count
        for offset in range(count):
            at = start + offset
            if at in blended:
                continue
            difference = np.abs(frames[first_source + offset].astype(int) - episode[at].astype(int)).mean()
            # Copied frames are identical; the few re-encoded next to the transition are close.
            assert difference < 6.0, (
                f"{clip.name}: frame {offset} differs from episode frame {at} by {difference}"
            )
            if offset and at + 1 < len(episode):  # and not closer to a neighbour: the right frame
                for other in (episode[at - 1], episode[at + 1]):
                    assert (
                        difference
                        <= np.abs(frames[first_source + offset].astype(int) - other.astype(int)).mean()
                    )
            covered += 1
            exact += difference == 0
    assert covered == len(episode) - len(blended)
    assert exact > covered // 2

    notes = [m.comment for clip in clips for m in clip.markers]
    assert "hair flickers" in notes

    lines = list(dialogue.find_clips())
    assert [c.name for c in lines] == ["Ada: Hello there", "Ben: Hi", "Ada: Bye"]
    assert summary.sound is not None
    for clip, line in zip(lines, summary.sound["lines"], strict=True):
        placed = clip.range_in_parent()
        assert (
            placed.start_time.to_seconds() == line["episode_start"]
            or abs(placed.start_time.to_seconds() - line["episode_start"]) < 1e-4
        )
        assert abs(placed.end_time_exclusive().to_seconds() - line["episode_end"]) < 1e-4


def test_export_timeline_names_an_episode_not_rendered(tmp_path: Path, tts_settings: Settings) -> None:
    with open_studio(tts_settings) as studio:
        studio.import_file(show(tmp_path / "play"))
    args = ["--home", str(tts_settings.home), "--json", "export-timeline", "--episode", "1"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert "has not been rendered; run `studio render --episode 1` first" in result.output


def test_a_suffix_no_adapter_writes_is_a_clear_error(tmp_path: Path, tts_settings: Settings) -> None:
    with open_studio(tts_settings) as studio:
        studio.import_file(show(tmp_path / "play", music=False))
        render_episode(studio, episode=1)
    target = tmp_path / "cut.kdenlive"
    args = ["--home", str(tts_settings.home), "export-timeline", "--episode", "1", "--out", str(target)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert "no OpenTimelineIO adapter writes '.kdenlive' files (installed: otio_json" in result.stderr
    assert not target.exists()
