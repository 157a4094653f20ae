"""The shared feedback area and the callback guard."""

from __future__ import annotations

import logging
import subprocess
import sys

import ipywidgets as w
import pytest

import widgets
from studio import ScreenplayError, ScreenplayIssue, StudioError
from widgets._feedback import Feedback, describe_error


def test_all_lists_the_panels_and_they_present_themselves_as_widgets() -> None:
    public = {name for name in dir(widgets) if not name.startswith("_")}
    assert public == set(widgets.__all__)
    assert all(getattr(widgets, name).__module__ == "widgets" for name in widgets.__all__)


def test_studio_never_imports_ipywidgets() -> None:
    code = (
        "import sys, studio, studio.project._editing, studio.project._views, studio.jobs._dashboard, studio._cli._apps;"
        "bad = [m for m in ('ipywidgets', 'IPython', 'widgets') if m in sys.modules];"
        "sys.exit(f'imported {bad}' if bad else 0)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_errors_read_as_sentences() -> None:
    issue = ScreenplayIssue("scene 3", None, "duration", "duration must be greater than 0, got 0")
    assert (
        describe_error(ScreenplayError([issue]))
        == "Please fix: duration: duration must be greater than 0, got 0"
    )
    assert describe_error(StudioError("the database is gone")) == "the database is gone"
    assert describe_error(KeyError("x")).startswith("Something went wrong (KeyError")


def test_guarded_handler_shows_studio_errors_in_the_panel() -> None:
    feedback = Feedback()
    button = w.Button()

    @feedback.guard("Saving")
    def fail(_: object) -> None:
        raise StudioError("no project yet")

    button.on_click(fail)
    button.click()
    assert feedback.last_level == "error"
    assert feedback.last_message == "Saving failed. no project yet"
    assert "no project yet" in feedback.status.value
    assert "Traceback" not in feedback.status.value


def test_unexpected_errors_are_shown_briefly_and_logged_with_their_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    feedback = Feedback()

    @feedback.guard("Loading")
    def fail() -> None:
        raise ZeroDivisionError("division by zero")

    fail()
    assert feedback.last_message.startswith("Loading failed. Something went wrong (ZeroDivisionError")
    (record,) = [r for r in caplog.get_records("call") if r.name == "widgets"]
    assert record.exc_info is not None and record.levelno == logging.ERROR
    caplog.clear()  # expected here; the autouse fixture would fail the test otherwise


def test_unguarded_handler_errors_are_swallowed_by_ipywidgets_but_caught_by_the_fixture(
    caplog: pytest.LogCaptureFixture,
) -> None:
    button = w.Button()
    button.on_click(lambda _: 1 / 0)
    button.click()  # does not raise: this is why every panel handler is guarded
    assert any(r.exc_info for r in caplog.get_records("call"))
    caplog.clear()


def test_log_appends_from_a_thread() -> None:
    import threading

    feedback = Feedback()
    thread = threading.Thread(target=feedback.success, args=("rendered",))
    thread.start()
    thread.join()
    assert "rendered" in feedback.log.outputs[-1]["text"]
