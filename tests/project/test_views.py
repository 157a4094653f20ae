"""Read models: counts, lazy lists, progress and quality rows, on both databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from studio import NotFoundError
from studio._config import Settings
from studio._studio import Studio
from studio.project._views import (
    episode_progress,
    list_episodes,
    list_projects,
    list_scenes,
    list_segments,
    quality_rows,
    scene_detail,
    server_health,
)
from tests.project._fake_render import fake_render


@pytest.fixture
def studio(settings: Settings) -> Iterator[Studio]:
    with Studio.open(settings=settings, upgrade=True) as opened:
        opened.import_demo()
        yield opened


def test_lists_before_rendering(studio: Studio) -> None:
    assert list_projects(studio) == ["Neon Tide"]
    (episode,) = list_episodes(studio)
    assert (episode.number, episode.scenes, episode.segments_planned, episode.video) == (1, 3, 0, None)
    assert [s.number for s in list_scenes(studio, 1)] == [1, 2, 3]
    assert list_segments(studio, 1) == []
    progress = episode_progress(studio, 1)
    assert (progress.fraction, progress.done, progress.planned) == (0.0, 0, 0)
    with pytest.raises(NotFoundError, match="no episode 7"):
        list_scenes(studio, 7)


def test_progress_stays_below_one_until_the_episode_video_exists(studio: Studio) -> None:
    fake_render(studio, complete=False)
    progress = episode_progress(studio, 1)
    assert (progress.done, progress.planned) == (3, 6)
    assert progress.fraction == 0.5 and progress.video is None
    assert progress.segment_statuses == {"completed": 3, "pending": 3}


def test_rendered_episode_reads_back_with_absolute_media(studio: Studio) -> None:
    fake_render(studio)
    progress = episode_progress(studio, 1)
    assert progress.fraction == 1.0 and progress.video is not None and progress.video.is_file()
    segments = list_segments(studio, 2)
    assert [s.number for s in segments] == [0, 1]
    first = segments[0]
    assert first.first_frame is not None and first.first_frame.is_file()
    assert first.scores["overall"] == 0.8 and first.events[0]["kind"] == "freeze"
    assert segments[1].seam["jump_ratio"] == 1.2
    detail = scene_detail(studio, 2)
    assert detail.row.video is not None and detail.entry_frame is not None and detail.episode == 1
    rows = quality_rows(studio, 1)
    assert [r.label for r in rows] == ["1.0", "1.1", "2.0", "2.1", "3.0", "3.1"]
    assert rows[1].seam_jump_ratio == 1.2 and rows[0].seam_jump_ratio is None


def test_server_health_reports_unreachable_servers_without_raising() -> None:
    (result,) = server_health(["http://127.0.0.1:9"], timeout=0.5)
    assert not result.ok and result.url == "http://127.0.0.1:9"
