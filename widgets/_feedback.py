"""What every panel shares: a status line, a log area, and the callback guard.

ipywidgets swallows exceptions raised in ``on_click`` handlers (they only reach the
``traitlets`` logger), so a bare handler that fails shows the user nothing. Every
handler in ``widgets`` is wrapped by :meth:`Feedback.guard`: studio errors become a
readable red line in the panel; anything else becomes a one-line message in the panel
while its traceback goes to the ``widgets`` logger (tests fail on it, users never see it).

Thread safety: the log uses ``Output.append_stdout`` and the status line is a trait, the
two things that update from a background thread in both JupyterLab and Voila (never
``with out:`` from a thread; see reference/notebook-stack.md section 5).
"""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, TypeVar

import ipywidgets as w

from studio import ScreenplayError, StudioError

__all__ = [
    "Feedback",
    "MediaCache",
    "Panel",
    "badge",
    "close_tree",
    "describe_error",
    "plural",
    "read_bytes",
]

log = logging.getLogger("widgets")

Level = Literal["info", "success", "warning", "error"]
F = TypeVar("F", bound=Callable[..., Any])

_COLOURS: dict[Level, str] = {
    "info": "#1f4e79",
    "success": "#1e7b34",
    "warning": "#8a6100",
    "error": "#b00020",
}

# Status badge colours, one per row status across the schema.
_BADGE_COLOURS = {
    "completed": "#1e7b34",
    "succeeded": "#1e7b34",
    "approved": "#1e7b34",
    "generating": "#1f4e79",
    "processing": "#1f4e79",
    "running": "#1f4e79",
    "starting": "#1f4e79",
    "queued": "#555",
    "pending": "#777",
    "review": "#8a6100",
    "stale": "#8a6100",
    "cancelled": "#8a6100",
    "failed": "#b00020",
    "rejected": "#b00020",
}


def badge(status: str) -> str:
    """An HTML status pill (``status`` is escaped)."""
    colour = _BADGE_COLOURS.get(status, "#555")
    return (
        f'<span class="studio-badge studio-badge-{html.escape(status)}" style="background:{colour};'
        f'color:white;border-radius:8px;padding:1px 8px;font-size:0.85em">{html.escape(status)}</span>'
    )


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 segment``, ``2 segments`` (``many`` for irregular plurals)."""
    return f"{count} {word if count == 1 else (many or word + 's')}"


def describe_error(error: BaseException) -> str:
    """One readable paragraph for a user; never a traceback."""
    if isinstance(error, ScreenplayError):
        lines = [f"{i.location}: {i.message}" if i.location else i.message for i in error.issues]
        return "Please fix: " + "; ".join(lines)
    if isinstance(error, StudioError):
        return str(error)
    return f"Something went wrong ({type(error).__name__}: {error}). The details are in the log."


class Feedback:
    """A panel's status line and log.

    Attributes:
        status: The latest message, coloured by level (CSS class ``studio-status``).
        log: Every message with its time (CSS class ``studio-log``).
        widget: Both, stacked.
    """

    def __init__(self, *, log_height: str = "90px") -> None:
        self.status = w.HTML(value="")
        self.status.add_class("studio-status")
        self.log = w.Output(layout=w.Layout(max_height=log_height, overflow="auto", border="1px solid #ddd"))
        self.log.add_class("studio-log")
        self._log_toggle = w.Accordion(children=[self.log], titles=("Log",), selected_index=None)
        self.widget = w.VBox([self.status, self._log_toggle])
        self.last_level: Level | None = None
        self.last_message = ""

    def say(self, message: str, level: Level = "info") -> None:
        """Show ``message`` as the status line and append it to the log."""
        self.last_level, self.last_message = level, message
        colour = _COLOURS[level]
        self.status.value = (
            f'<div class="studio-status-{level}" style="color:{colour};white-space:pre-wrap">'
            f"{html.escape(message)}</div>"
        )
        # append_stdout, not `with self.log:`, so this works from any thread.
        self.log.append_stdout(f"{datetime.now():%H:%M:%S} {level.upper():7} {message}\n")

    def info(self, message: str) -> None:
        self.say(message, "info")

    def success(self, message: str) -> None:
        self.say(message, "success")

    def warning(self, message: str) -> None:
        self.say(message, "warning")

    def error(self, error: BaseException | str) -> None:
        """Show an error as a readable message (and log unexpected ones with their traceback)."""
        if isinstance(error, BaseException):
            if not isinstance(error, StudioError):
                log.error("unexpected error in a panel", exc_info=error)
            self.say(describe_error(error), "error")
        else:
            self.say(error, "error")

    def guard(self, action: str) -> Callable[[F], F]:
        """Decorate a handler: errors are shown in the panel as ``<action> failed: ...``."""

        def decorate(handler: F) -> F:
            @functools.wraps(handler)
            def guarded(*args: Any, **kwargs: Any) -> Any:
                try:
                    return handler(*args, **kwargs)
                except Exception as error:
                    if not isinstance(error, StudioError):
                        log.error("%s failed", action, exc_info=error)
                    self.say(f"{action} failed. {describe_error(error)}", "error")
                    return None

            return guarded  # type: ignore[return-value]

        return decorate

    def close(self) -> None:
        self.widget.close()
        self._log_toggle.close()
        self.status.close()
        self.log.close()


def read_bytes(path: Any, *, limit: int) -> bytes | None:
    """A media file's bytes, or ``None`` when it is missing or larger than ``limit``."""
    try:
        if path is None or not path.is_file() or path.stat().st_size > limit:
            return None
        data: bytes = path.read_bytes()
        return data
    except OSError:
        return None


class MediaCache:
    """Recently shown images by path and modification time (thumbnails are re-shown often)."""

    def __init__(self, *, size: int = 64, limit: int = 8 * 1024 * 1024) -> None:
        self._items: dict[tuple[str, float], bytes] = {}
        self._size = size
        self._limit = limit

    def get(self, path: Any) -> bytes | None:
        try:
            key = (str(path), path.stat().st_mtime)
        except (OSError, AttributeError):
            return None
        if key not in self._items:
            data = read_bytes(path, limit=self._limit)
            if data is None:
                return None
            if len(self._items) >= self._size:
                self._items.pop(next(iter(self._items)))
            self._items[key] = data
        return self._items[key]


def close_tree(widget: w.Widget) -> None:
    """Close a widget and everything inside it (closing a box leaves its children open)."""
    for child in getattr(widget, "children", ()) or ():
        close_tree(child)
    widget.close()


class Panel:
    """What every panel offers: ``widget``, ``show()``, notebook display and ``close()``.

    Panels hold their widgets (composition) instead of being widgets, so the public
    surface stays small and ``close()`` can release timers and threads first.
    """

    widget: w.Box
    feedback: Feedback

    def show(self) -> None:
        """Display the panel in the notebook (or the Voila page)."""
        from IPython.display import display

        display(self.widget)  # type: ignore[no-untyped-call]

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def close(self) -> None:
        """Close every widget of the panel; their observers and handlers go with them."""
        close_tree(self.widget)
