"""The review loop in the panels, on both databases: reject with a note, the retake runs as
a queue job, its take is listed and chosen, takes are compared and chosen, approve.

Renders are real (the animatic). The dashboard worker's launch is replaced by a process
that stays alive (tests/widgets/conftest.py), and the queued job is then run by a real
:class:`studio.jobs.Worker` in this process, the code ``studio worker --once`` runs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from studio._config import Settings
from studio._studio import Studio
from studio.jobs import RETAKE_JOB_TYPE, JobStatus, Worker, get_job, list_jobs
from studio.jobs._store import claim_next, finish
from studio.project import list_segments, list_takes
from studio.render import render_episode
from tests.widgets.conftest import FakeWorkers
from widgets import QualityPanel, QueuePanel, StoryboardPanel


@pytest.fixture
def rendered(settings: Settings) -> Iterator[Studio]:
    with Studio.open(settings=settings, upgrade=True) as studio:
        studio.import_demo()
        render_episode(studio, episode=1)
        yield studio


def run_queued_jobs(studio: Studio) -> None:
    stats = Worker(studio.database, studio.settings, once=True, lease_seconds=60, poll_seconds=0.05).run()
    assert stats.failed == 0 and stats.claimed >= 1


def test_reject_with_a_note_retakes_through_the_queue_then_approve(
    rendered: Studio, workers: FakeWorkers
) -> None:
    studio = rendered
    panel = QualityPanel(studio, watch=False)
    segment_id = panel.segment.value
    assert segment_id is not None
    assert len(panel.takes.widget.children) == 1  # the first render's take, chosen
    assert "studio-take-chosen" in panel.takes.widget.children[0]._dom_classes
    panel.rating.value = 2
    panel.notes.value = "Luna should look at the sea"
    panel.reject.click()
    (job,) = [j for j in list_jobs(studio.database) if j.job_type == RETAKE_JOB_TYPE]
    assert job.status is JobStatus.QUEUED and job.parameters["episode"] == 1
    assert len(workers.processes) == 1
    assert panel.feedback.last_level == "success"
    assert f"retake is queued as job {job.id}" in panel.feedback.last_message
    assert '"Luna should look at the sea"' in panel.feedback.last_message

    run_queued_jobs(studio)
    assert panel.retakes.check() == [get_job(studio.database, job.id)]
    assert f"Retake job {job.id} is done" in panel.feedback.last_message
    assert panel.segment.value == segment_id
    takes = list_takes(studio, segment_id)
    assert [t.status for t in takes] == ["rejected", "passed"] and takes[1].chosen
    assert "Luna should look at the sea" in takes[1].prompt
    rows = panel.takes.widget.children
    assert len(rows) == 2 and "studio-take-chosen" in rows[1]._dom_classes
    videos = [c for row in rows for c in row.children if "studio-take-video" in c._dom_classes]
    assert [bytes(v.value) for v in videos] == [t.video.read_bytes() for t in takes if t.video]

    # Compare, and go back to the first take: the choice is the person's.
    use_first = next(c for c in rows[0].children if "studio-use-take" in c._dom_classes)
    use_first.click()
    takes = list_takes(studio, segment_id)
    assert takes[0].chosen and takes[0].chosen_by == "user" and not takes[1].chosen
    assert "Take 1 is now used" in panel.feedback.last_message
    use_second = next(
        c for c in panel.takes.widget.children[1].children if "studio-use-take" in c._dom_classes
    )
    use_second.click()
    assert list_takes(studio, segment_id)[1].chosen

    panel.rating.value = 5
    panel.approve.click()
    assert "approved with 5/5" in panel.feedback.last_message
    [segment] = [s for s in list_segments(studio, 1) if s.id == segment_id]
    assert segment.status == "approved"
    assert len(list_jobs(studio.database)) == 1  # approving queues nothing
    panel.close()


@pytest.mark.parametrize("scope", ["segment", "scene", "range"])
def test_retake_a_segment_a_scene_or_a_time_range(rendered: Studio, workers: FakeWorkers, scope: str) -> None:
    studio = rendered
    panel = QualityPanel(studio, watch=False)
    scene_two = [s for s in list_segments(studio, 2)]
    panel.segment.value = scene_two[0].id
    panel.retake_scope.value = scope
    if scope == "range":
        panel.retake_start.value, panel.retake_end.value = 0.0, 0.5
    panel.notes.value = "more wind"
    job_id = panel.retake()
    assert job_id is not None and get_job(studio.database, job_id).job_type == RETAKE_JOB_TYPE
    assert len(workers.processes) == 1 and f"queued as job {job_id}" in panel.feedback.last_message
    run_queued_jobs(studio)
    panel.retakes.check()
    retaken = {s.id for s in [*list_segments(studio, 1), *scene_two] if len(list_takes(studio, s.id)) == 2}
    if scope == "segment":
        assert retaken == {scene_two[0].id}
    elif scope == "scene":
        assert retaken == {s.id for s in scene_two}
    else:  # the first half second: the episode's first segment
        assert retaken == {list_segments(studio, 1)[0].id}
    assert all(list_takes(studio, s)[1].chosen for s in retaken)
    assert "more wind" in list_takes(studio, next(iter(retaken)))[1].prompt
    panel.close()


def test_a_time_range_must_end_after_it_starts(rendered: Studio, workers: FakeWorkers) -> None:
    panel = QualityPanel(rendered, watch=False)
    panel.retake_scope.value = "range"
    panel.retake_start.value, panel.retake_end.value = 3.0, 1.0
    panel.retake_button.click()
    assert (
        panel.feedback.last_level == "warning"
        and "end (To) is after its start" in panel.feedback.last_message
    )
    assert list_jobs(rendered.database) == [] and workers.processes == []
    panel.close()


def test_the_final_pass_is_offered_beside_a_generator_and_travels_in_the_job(
    settings: Settings, workers: FakeWorkers
) -> None:
    with Studio.open(settings=settings, upgrade=True) as studio:
        studio.import_demo()
        panel = QueuePanel(studio, auto_refresh=False)
        assert panel.final_button.layout.display == "none"  # the animatic only: no final look
        panel.close()
    generator = dataclasses.replace(settings, comfyui_urls=("http://127.0.0.1:9",))
    with Studio.open(settings=generator, upgrade=True) as studio:
        panel = QueuePanel(studio, auto_refresh=False)
        assert panel.final_button.layout.display is None
        assert panel.start_render(render_pass="final") is None  # the animatic is still chosen
        assert "generator backend" in panel.feedback.last_message and list_jobs(studio.database) == []
        panel.backend.value = "comfyui"
        panel.final_button.click()
        (job,) = list_jobs(studio.database)
        assert job.parameters["backend"] == "comfyui" and job.parameters["render_pass"] == "final"
        assert "final pass of episode 1 on comfyui" in panel.feedback.last_message
        claim = claim_next(studio.database, "test-worker", lease_seconds=30)
        assert claim is not None
        finish(studio.database, claim, JobStatus.SUCCEEDED, message="done")
        panel.refresh()
        assert "comfyui · final pass" in panel.renders.children[0].children[0].value
        panel.close()


@pytest.mark.parametrize("what", ["segment", "scene"])
def test_the_storyboard_retakes_a_segment_or_a_scene(
    rendered: Studio, workers: FakeWorkers, what: str
) -> None:
    studio = rendered
    panel = StoryboardPanel(studio, watch=False)
    scene_two = list_segments(studio, 2)
    panel.select(episode=1, scene=2, segment=scene_two[-1].number)
    panel.retake_notes.value = "rain on the window"
    (panel.retake_segment if what == "segment" else panel.retake_scene).click()
    (job,) = list_jobs(studio.database)
    assert job.job_type == RETAKE_JOB_TYPE and len(workers.processes) == 1
    label = f"segment 2.{scene_two[-1].number}" if what == "segment" else "scene 2"
    assert f"Retake of {label} queued as job {job.id}" in panel.feedback.last_message
    run_queued_jobs(studio)
    panel.retakes.check()
    assert f"Retake job {job.id} is done" in panel.feedback.last_message
    retaken = [s.id for s in scene_two if len(list_takes(studio, s.id)) == 2]
    assert retaken == ([scene_two[-1].id] if what == "segment" else [s.id for s in scene_two])
    assert "rain on the window" in list_takes(studio, retaken[0])[1].prompt
    panel.close()


def test_the_storyboard_says_to_choose_a_segment_before_a_segment_retake(empty_studio: Studio) -> None:
    empty_studio.import_demo()
    panel = StoryboardPanel(empty_studio, watch=False)  # never rendered: no segments yet
    panel.retake_segment.click()
    assert panel.feedback.last_level == "error" and "choose a segment first" in panel.feedback.last_message
    assert list_jobs(empty_studio.database) == []
    panel.close()
