"""Cancellation that reaches into the segment being generated.

A render is asked to stop through ``should_cancel`` (a job's
:class:`~studio.jobs.JobChannel`, a notebook's own callback). Checking it only between
segments made Cancel wait for a whole segment, which on a GPU is minutes. A
:class:`CancelWatch` polls it every :data:`CANCEL_POLL_SECONDS` (and on every progress
event) while a backend generates, and :meth:`CancelWatch.generate` then cancels the
generation task: the animatic stops at its next frame and removes its temporary files,
the ComfyUI backend deletes or interrupts its job on the server. The callback must be
cheap; the job channel reads the database at most twice a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

__all__ = ["CANCEL_POLL_SECONDS", "UNWIND_SECONDS", "CancelRequested", "CancelWatch"]

log = logging.getLogger("studio.pipeline")
T = TypeVar("T")

CANCEL_POLL_SECONDS = 0.25
"""How often ``should_cancel`` is asked while a segment is being generated."""
UNWIND_SECONDS = 15.0
"""How long a cancelled backend may take to clean up (stop its thread, cancel its server
job) before the render stops without waiting for it any longer."""


class CancelRequested(Exception):  # noqa: N818 - a request, not an error
    """Raised by :meth:`CancelWatch.generate` when the generation was cut off."""


class CancelWatch:
    """One render's view of ``should_cancel``: once it has said yes, it stays yes."""

    def __init__(self, should_cancel: Callable[[], bool], *, interval: float = CANCEL_POLL_SECONDS) -> None:
        self._should_cancel = should_cancel
        self.interval = interval
        self._requested = asyncio.Event()

    @property
    def requested(self) -> bool:
        return self._requested.is_set()

    def check(self) -> bool:
        """Ask ``should_cancel`` now (unless it already said yes); call on the loop's thread."""
        if not self._requested.is_set() and self._should_cancel():
            self._requested.set()
        return self._requested.is_set()

    async def _poll(self) -> None:
        while not self.check():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._requested.wait(), self.interval)

    async def generate(self, work: Awaitable[T]) -> T:
        """Await ``work`` (a backend's ``generate``), cancelling it when a cancel is requested.

        The backend is given up to :data:`UNWIND_SECONDS` to clean up (its files, its
        server job) before this returns. A cancellation of the caller (another scene
        failed) is passed on to ``work`` the same way.

        Raises:
            CancelRequested: ``should_cancel`` said yes before ``work`` finished.
        """
        task: asyncio.Future[T] = asyncio.ensure_future(work)
        poller = asyncio.create_task(self._poll())
        racing: set[asyncio.Future[Any]] = {task, poller}
        try:
            await asyncio.wait(racing, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            await _unwind(task)
            raise
        finally:
            poller.cancel()
        if task.done():
            return task.result()
        await _unwind(task)
        if task.done() and not task.cancelled() and task.exception() is None:
            return task.result()  # it finished as it was cancelled: keep the work
        raise CancelRequested("cancelled while generating")


async def _unwind(task: asyncio.Future[T]) -> None:
    """Cancel ``task`` and wait, bounded, for it to end: its clean-up (files, the server's
    job) must finish before the backend is closed. A second cancellation of the caller
    (the render stopping every scene) does not cut that wait short; it is re-raised after."""
    task.cancel()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + UNWIND_SECONDS
    cancelled_again = False
    while not task.done() and loop.time() < deadline:
        try:
            await asyncio.wait({task}, timeout=deadline - loop.time())
        except asyncio.CancelledError:
            cancelled_again = True
    if not task.done():
        log.warning("a cancelled segment did not stop within %.0f s; not waiting for it", UNWIND_SECONDS)
    elif not task.cancelled() and task.exception() is not None:
        log.info("a cancelled segment ended with %r", task.exception())
    if cancelled_again:
        raise asyncio.CancelledError
