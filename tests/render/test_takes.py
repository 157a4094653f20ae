"""Takes, passes, retakes and reviews, on both databases, through the real pipeline."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from studio import StorageError
from studio._config import Settings
from studio._studio import Studio
from studio.project import (
    approve_segment,
    choose_take,
    episode_progress,
    list_segments,
    list_takes,
    record_rating,
    reject_segment,
)
from studio.render import learned_elements, render_episode, render_retakes, retake
from studio.storage import (
    QualityFeedbackModel,
    SceneModel,
    SegmentModel,
    TakeModel,
)
from tests.render._takes_backends import test_backends  # noqa: F401  (a fixture)

pytestmark = pytest.mark.usefixtures("test_backends")


def takes_by_segment(studio: Studio) -> dict[tuple[int, int], list[TakeModel]]:
    with studio.database.session() as session:
        rows = session.execute(
            select(SceneModel.scene_number, SegmentModel.segment_number, TakeModel)
            .join(SegmentModel, TakeModel.segment_id == SegmentModel.id)
            .join(SceneModel, SegmentModel.scene_id == SceneModel.id)
            .order_by(SceneModel.scene_number, SegmentModel.segment_number, TakeModel.take_number)
        ).all()
        session.expunge_all()
    result: dict[tuple[int, int], list[TakeModel]] = {}
    for scene, segment, take in rows:
        result.setdefault((scene, segment), []).append(take)
    return result


def chosen(takes: list[TakeModel]) -> TakeModel:
    [one] = [t for t in takes if t.chosen_for is not None]
    return one


def assert_one_chosen_take_per_segment(studio: Studio) -> None:
    with studio.database.session() as session:
        segments = session.scalar(select(func.count()).select_from(SegmentModel))
        chosen_count = session.scalar(
            select(func.count()).select_from(TakeModel).where(TakeModel.chosen_for.is_not(None))
        )
        per_segment = session.execute(
            select(TakeModel.segment_id, func.count())
            .where(TakeModel.chosen_for.is_not(None))
            .group_by(TakeModel.segment_id)
        ).all()
    assert chosen_count == segments
    assert all(n == 1 for _, n in per_segment)


def test_previs_then_final_keeps_the_previs_takes_and_chains_the_final_ones(settings: Settings) -> None:
    with Studio.open(settings=settings, upgrade=True) as studio:
        studio.import_demo()
        previs = render_episode(studio, episode=1, backend="short", render_pass="previs")
        assert previs.render_pass == "previs" and previs.as_dict()["pass"] == "previs"
        first_takes = takes_by_segment(studio)
        assert all(len(t) == 1 and t[0].render_pass == "previs" for t in first_takes.values())
        render_episode(studio, episode=1, backend="short", render_pass="previs")
        assert {k: [t.id for t in v] for k, v in takes_by_segment(studio).items()} == {
            k: [t.id for t in v] for k, v in first_takes.items()
        }  # nothing redone

        # Any backend but the animatic makes the final pass by default.
        final = render_episode(studio, episode=1, backend="seeded")
        assert final.render_pass == "final"
        takes = takes_by_segment(studio)
        assert len(takes) == 3 + 3 + 4  # 6 s, 5 s and 7 s planned in segments of at most 2 s
        for (scene, number), segment_takes in takes.items():
            old, new = segment_takes
            assert (old.render_pass, new.render_pass) == ("previs", "final")
            assert old.chosen_for is None and new.chosen_by == "auto"
            assert (studio.home / old.output_video_path).is_file()  # previs kept, file and all
            assert new.backend == "seeded" and new.status == "passed"
            previous = takes.get((scene, number - 1))
            if previous is not None:  # chained from the new takes' last frames
                assert new.start_frame_path == chosen(previous).last_frame_path
        assert_one_chosen_take_per_segment(studio)
        summary_segment = final.scenes[0]["segments"][0]
        assert summary_segment["pass"] == "final" and len(summary_segment["takes"]) == 2

        # A previs render after the final pass keeps the final takes.
        render_episode(studio, episode=1, backend="short", render_pass="previs")
        assert {k: len(v) for k, v in takes_by_segment(studio).items()} == {k: 2 for k in takes}

        # The database itself refuses a second chosen take for a segment.
        (first_old, _) = takes[(1, 0)]
        with pytest.raises(StorageError, match="chosen_for"), studio.database.session() as session:
            session.execute(
                update(TakeModel).where(TakeModel.id == first_old.id).values(chosen_for=first_old.segment_id)
            )
        with pytest.raises(StorageError, match="chosen_own_segment"), studio.database.session() as session:
            session.execute(update(TakeModel).where(TakeModel.id == first_old.id).values(chosen_for=10**6))


def test_a_retake_of_a_time_range_in_the_middle_of_a_scene_repairs_both_seams(settings: Settings) -> None:
    with Studio.open(settings=settings, upgrade=True) as studio:
        studio.import_demo()
        render_episode(studio, episode=1, backend="seeded")
        before = takes_by_segment(studio)
        scene_three = sorted(k for k in before if k[0] == 3)
        assert scene_three == [(3, 0), (3, 1), (3, 2), (3, 3)]
        stamps = {
            key: (studio.home / chosen(t).output_video_path).stat().st_mtime_ns for key, t in before.items()
        }
        # Scene 3 starts at 10.0 s (6 s + 5 s, less two 0.5 s transitions), in 1.75 s segments:
        # 12-13 s lies inside its segment 1 (11.75-13.5 s).
        selection, summary = retake(studio, episode=1, start=12.0, end=13.0, notes="slower pan")
        assert selection.scenes == (3,)
        with studio.database.session() as session:
            [target_id] = selection.segment_ids
            assert session.get(SegmentModel, target_id).segment_number == 1  # type: ignore[union-attr]

        after = takes_by_segment(studio)
        assert_one_chosen_take_per_segment(studio)
        # Before the range: untouched. Other scenes: untouched.
        for key in before:
            if key[0] != 3 or key[1] < 1:
                assert [t.id for t in after[key]] == [t.id for t in before[key]], key
                assert (studio.home / chosen(after[key]).output_video_path).stat().st_mtime_ns == stamps[key]
        # The retaken segment: a new take from the previous chosen take's last frame (seam 1).
        retaken = chosen(after[(3, 1)])
        assert len(after[(3, 1)]) == 2 and retaken.take_number == 2
        assert retaken.notes == "slower pan" and retaken.prompt.endswith(", slower pan")
        assert retaken.start_frame_path == chosen(after[(3, 0)]).last_frame_path
        assert retaken.scores["seam"]  # and that seam was checked against it
        assert retaken.seed != chosen(before[(3, 1)]).seed
        # The segment after it no longer continued the new picture: regenerated from it (seam 2),
        # and the chain re-made to the end of the scene.
        for number in (2, 3):
            regenerated = chosen(after[(3, number)])
            assert len(after[(3, number)]) == 2
            assert regenerated.start_frame_path == chosen(after[(3, number - 1)]).last_frame_path
            assert regenerated.scores["seam"]
        # The previous takes are kept, not chosen; the scene was stitched again.
        assert all((studio.home / t.output_video_path).is_file() for t in before[(3, 1)])
        [scene_doc] = [s for s in summary.scenes if s["scene"] == 3]
        assert [s["take"] for s in scene_doc["segments"]] == [1, 2, 2, 2]
        assert scene_doc["status"] == "completed"


def test_a_retake_keeps_the_next_segment_when_it_still_continues_the_picture(sqlite_settings: Settings) -> None:
    with Studio.open(settings=sqlite_settings) as studio:
        studio.import_demo()
        render_episode(studio, episode=1, backend="short")
        before = takes_by_segment(studio)
        retake(studio, episode=1, start=12.0, end=13.0)
        after = takes_by_segment(studio)
        # The animatic redraws the same last frame: the next segment is checked and kept.
        assert len(after[(3, 1)]) == 2
        assert [t.id for t in after[(3, 2)]] == [t.id for t in before[(3, 2)]]
        assert [t.id for t in after[(3, 3)]] == [t.id for t in before[(3, 3)]]
        assert_one_chosen_take_per_segment(studio)


def test_review_segments_are_kept_on_a_rerun_and_retried_only_when_asked(settings: Settings) -> None:
    with Studio.open(settings=settings, upgrade=True) as studio:
        studio.import_demo()
        render_episode(studio, episode=1, backend="blackout", max_attempts=2)
        [first] = [s for s in list_segments(studio, 1) if s.number == 0]
        assert (first.status, first.attempts) == ("review", 2)
        assert [t.status for t in list_takes(studio, first.id)] == ["retried", "review"]

        render_episode(studio, episode=1, backend="blackout", max_attempts=2)
        [first] = [s for s in list_segments(studio, 1) if s.number == 0]
        assert (first.status, first.attempts) == ("review", 2)  # not 4: a plain re-run keeps it
        assert len(list_takes(studio, first.id)) == 2

        render_episode(studio, episode=1, backend="blackout", max_attempts=2, retry_review=True)
        [first] = [s for s in list_segments(studio, 1) if s.number == 0]
        assert (first.status, first.attempts) == ("review", 2)
        takes = list_takes(studio, first.id)
        assert len(takes) == 4 and [t.chosen for t in takes] == [False, False, False, True]

        # A person picks the earlier take and approves it: a state of its own.
        choose_take(studio, takes[1].id)
        approve_segment(studio, first.id, rating=4, notes="good enough for previs")
        [first] = [s for s in list_segments(studio, 1) if s.number == 0]
        assert first.status == "approved"
        assert [t.chosen_by for t in list_takes(studio, first.id) if t.chosen] == ["user"]
        render_episode(studio, episode=1, backend="blackout", max_attempts=2)  # restitches, renders nothing
        assert len(list_takes(studio, first.id)) == 4
        assert episode_progress(studio, 1).segment_statuses.get("approved") == 1
        with studio.database.session() as session:
            scene = session.scalars(select(SceneModel).where(SceneModel.scene_number == 1)).one()
            assert scene.status == "completed"


def test_a_rejection_with_notes_queues_a_retake_and_the_rating_overrides_the_score(settings: Settings) -> None:
    with Studio.open(settings=settings, upgrade=True) as studio:
        studio.import_demo()
        render_episode(studio, episode=1)
        [segment] = [s for s in list_segments(studio, 2) if s.number == 1]
        measured = segment.scores["overall"]
        assert measured is not None and measured >= 0.7
        with studio.database.session() as session:
            luna, kai = (
                session.execute(
                    select(QualityFeedbackModel.character_id)
                    .where(QualityFeedbackModel.segment_id == segment.id)
                    .order_by(QualityFeedbackModel.character_id)
                )
                .scalars()
                .all()
            )
            learned_before, _ = learned_elements(session, [luna, kai])

        reject_segment(studio, segment.id, rating=1, notes="Luna should look at the sea")
        with studio.database.session() as session:
            rows = session.scalars(
                select(QualityFeedbackModel)
                .where(QualityFeedbackModel.segment_id == segment.id, QualityFeedbackModel.feedback_type == "user")
                .order_by(QualityFeedbackModel.character_id)
            ).all()
            # One row per character present, with its character, scored by the person (1/5 → 0.0).
            assert [r.character_id for r in rows] == [luna, kai]
            assert {r.overall_score for r in rows} == {0.0}
            assert rows[0].generation_parameters["measured_overall"] == pytest.approx(measured)
            # Each row holds that character's own look (learned elements are attributed).
            assert "silver bob hair" in rows[0].failed_elements
            assert not any("spiky red" in e for e in rows[0].failed_elements)
            row = session.get(SegmentModel, segment.id)
            assert row is not None and row.status == "queued"
            assert row.meta["retake"]["notes"] == "Luna should look at the sea"
        assert "silver bob hair" in learned_before[luna]
        # Two more 1/5 ratings of Luna's segments: her look failed three times in a person's
        # eyes, though every one of those segments measured well; the ratings win.
        for other in list_segments(studio, 1):
            record_rating(studio, other.id, rating=1, verdict="rejected", notes="off-model")
        with studio.database.session() as session:
            learned_after, _ = learned_elements(session, [luna, kai])
        assert "silver bob hair" not in learned_after[luna]

        render_retakes(studio, episode=1)
        takes = list_takes(studio, segment.id)
        assert [t.status for t in takes] == ["rejected", "passed"]
        assert takes[1].chosen and "Luna should look at the sea" in takes[1].prompt
        [segment] = [s for s in list_segments(studio, 2) if s.number == 1]
        assert segment.status == "completed" and segment.review is None
        assert_one_chosen_take_per_segment(studio)


def test_timecodes_and_selections_are_checked_before_anything_changes(sqlite_settings: Settings) -> None:
    from studio import NotFoundError, RenderError
    from studio.render import parse_timecode, select_segments

    assert [parse_timecode(t) for t in ("00:12", "12", "12.5", "1:02:03")] == [12.0, 12.0, 12.5, 3723.0]
    with pytest.raises(RenderError, match="MM:SS"):
        parse_timecode("twelve")
    with Studio.open(settings=sqlite_settings) as studio:
        studio.import_demo()
        with pytest.raises(RenderError, match="exactly one of"):
            select_segments(studio, segment=1, scene=2)
        with pytest.raises(RenderError, match="has no segments yet"):
            select_segments(studio, scene=2)
        with pytest.raises(NotFoundError, match="no scene 9"):
            select_segments(studio, scene=9)
        with pytest.raises(RenderError, match="before it starts"):
            select_segments(studio, episode=1, start=20.0, end=12.0)
        with pytest.raises(RenderError, match="needs its episode"):
            select_segments(studio, start=1.0, end=2.0)
