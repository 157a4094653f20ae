"""QualityPanel: charts, events, approve/reject stored as user feedback."""

from __future__ import annotations

from sqlalchemy import select

from studio._studio import Studio
from studio.storage._models import QualityFeedbackModel
from tests.project._fake_render import fake_render
from tests.widgets.conftest import FakeWorkers
from widgets import QualityPanel


def test_charts_and_events(studio: Studio) -> None:
    fake_render(studio)
    panel = QualityPanel(studio)
    assert bytes(panel.chart.value).startswith(b"\x89PNG")
    assert "6 segments" in panel.summary.value and "0.80" in panel.summary.value
    assert panel.events.value.count("freeze") == 3
    assert len(panel.segment.options) == 6


def test_approve_and_reject_store_user_feedback(studio: Studio, workers: FakeWorkers) -> None:
    fake_render(studio)
    panel = QualityPanel(studio, watch=False)
    panel.segment.value = panel.segment.options[1][1]
    panel.rating.value = 5
    panel.notes.value = "smooth"
    panel.approve.click()
    assert panel.feedback.last_level == "success" and "1.1 approved with 5/5" in panel.feedback.last_message
    assert "approved" in panel.segment_review.value and panel.notes.value == ""
    panel.rating.value = 2
    panel.reject.click()
    with studio.database.session() as session:
        rows = session.execute(
            select(
                QualityFeedbackModel.user_rating,
                QualityFeedbackModel.user_notes,
                QualityFeedbackModel.character_id,
            ).where(QualityFeedbackModel.feedback_type == "user")
        ).all()
    # One row per character present in the scene (Luna and Kai), for each review.
    assert sorted((r[0], r[1]) for r in rows) == [(2, None), (2, None), (5, "smooth"), (5, "smooth")]
    assert len({r[2] for r in rows}) == 2 and None not in {r[2] for r in rows}
    assert "1 reviewed" in panel.summary.value
    # The rejection queued a retake job for a dashboard worker (tests/widgets/test_takes_loop.py runs it).
    assert "retake is queued as job" in panel.feedback.last_message and len(workers.processes) == 1


def test_without_segments_the_panel_says_what_to_do(studio: Studio) -> None:
    panel = QualityPanel(studio)
    assert "render the episode" in panel.summary.value
    panel.approve.click()
    assert panel.feedback.last_level == "warning"


def test_lazy_panel_reads_nothing_until_refreshed(studio: Studio) -> None:
    panel = QualityPanel(studio, lazy=True)
    assert not panel.loaded and panel.episode.options == ()
    panel.refresh()
    assert panel.loaded and panel.episode.value == 1


def test_the_first_segment_is_chosen_once_segments_exist(studio: Studio) -> None:
    panel = QualityPanel(studio)
    assert panel.segment.value is None
    fake_render(studio)
    panel.refresh()
    assert panel.segment.value == panel.segment.options[0][1]
    panel.approve.click()
    assert panel.feedback.last_level == "success"


def test_the_segment_being_rated_is_shown_and_approval_reads_approved(studio: Studio) -> None:
    from tests.project._fake_render import FAKE_VIDEO

    fake_render(studio)
    panel = QualityPanel(studio)
    assert panel.preview_video.value == FAKE_VIDEO and panel.preview_video.layout.display is None
    first = panel.segment.options[0]
    assert first[0].endswith("· completed")
    panel.notes.value = "lovely light"
    panel.approve.click()
    assert 'Your note is kept with it: "lovely light"' in panel.feedback.last_message
    assert panel.segment.options[0] == (first[0].replace("completed", "approved"), first[1])
