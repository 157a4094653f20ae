"""The labelled anime-like corpus (tests/quality/_corpus.py): every clip gets exactly its events.

Each clean clip (talking on threes, walking on twos and threes, pans, a slow pan,
a smooth gradient with two small objects, rain, a fade, a dissolve, lightning
flashes) must have no event at all; each clip with a defect put in must have that
defect, of that kind, within two frames, and nothing else.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.quality import analyze_video
from tests.quality._corpus import KINDS, MATCH_FRAMES, Clip, ClipFiles, corpus, score, write_corpus

CLIPS = corpus()


@pytest.fixture(scope="session")
def corpus_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ClipFiles]:
    return {files.clip.name: files for files in write_corpus(tmp_path_factory.mktemp("corpus"))}


def test_the_corpus_has_clean_clips_of_every_family_and_every_defect() -> None:
    assert len(CLIPS) >= 20
    families = {clip.family for clip in CLIPS}
    assert families == {clip.family for clip in CLIPS if clip.clean}
    assert {kind for clip in CLIPS for kind, _ in clip.expected} == set(KINDS)


@pytest.mark.parametrize("clip", CLIPS, ids=[clip.name for clip in CLIPS])
def test_clip_gets_exactly_its_events(clip: Clip, corpus_files: dict[str, ClipFiles]) -> None:
    files = corpus_files[clip.name]
    analysis = analyze_video(files.video, previous_last_frame=files.previous)
    found = [(event.kind, event.frame) for event in analysis.events]
    assert len(found) == len(clip.expected), (found, [e.reason for e in analysis.events])
    for (kind, frame), (want_kind, want_frame) in zip(sorted(found), sorted(clip.expected), strict=True):
        assert kind == want_kind and abs(frame - want_frame) <= MATCH_FRAMES, found
    for event in analysis.events:
        assert 0.5 <= event.confidence <= 1.0 and event.reason, event


def test_score_counts_matches_within_two_frames_of_the_same_kind() -> None:
    cut = next(clip for clip in CLIPS if clip.name == "cut_talk")
    frame = cut.expected[0][1]
    found = {"cut_talk": [("cut", frame + 2), ("cut", frame + 2), ("color_shift", frame)]}
    totals = score(found)
    assert totals["cut"][:2] == (1, 2)  # one match; the second detection has nothing left to match
    assert totals["color_shift"][:2] == (0, 1)
    assert score({"cut_talk": [("cut", frame + 3)]})["cut"][0] == 0


def test_corpus_clips_are_small_and_short(corpus_files: dict[str, ClipFiles]) -> None:
    sizes = [Path(f.video).stat().st_size for f in corpus_files.values()]
    assert max(sizes) < 400_000
