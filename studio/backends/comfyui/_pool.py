"""A pool of ComfyUI servers: least-loaded dispatch, health checks, failover.

- **Dispatch**: each job goes to the healthy server with the lowest load, where load is
  the server's own queue (jobs other clients put there, from its ``status`` messages)
  plus our jobs in flight on it.
- **Keep every server fed**: up to ``max_in_flight_per_server`` of our jobs (default 2:
  one running, one queued behind it) so a server never idles between two jobs.
- **Concurrency limit**: ``concurrency`` caps our jobs across the pool (default: no cap
  beyond the per-server one).
- **Health**: a failed job marks its server unhealthy, and the server is probed again
  (``/system_stats``, one short try each) with exponential backoff until it answers;
  a background task also probes every server every ``health_interval`` seconds.
- **Servers that come and go**: a server that stopped answering (paused, hung, busy
  swapping) may still hold the job, so the job waits up to ``grace`` seconds for that
  very server to come back, and then picks the job up where it is (it is still
  queued, running, or finished in history). A server whose port refuses connections
  (killed, restarting) holds nothing: the job goes to another healthy server at once,
  or, with none, waits up to ``grace`` for any to come back. A job abandoned on a
  server that later returns is cancelled there, so no GPU works on it twice.
- **Failover**: the job function is run again on the chosen server; it must first look
  for its own earlier submission (the backend asks with a stable prompt id, see
  :meth:`ComfyPool.find_job`). A job that fails preflight on one server (missing nodes
  or models) is tried on the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from studio.backends.comfyui._client import AsyncComfyClient, RunResult
from studio.backends.comfyui._exceptions import (
    ComfyConnectionError,
    ComfyError,
    ComfyJobLostError,
    ComfyTimeoutError,
    PreflightError,
)
from studio.backends.comfyui._timeouts import DEFAULT_RETRY_POLICY, DEFAULT_TIMEOUTS, RetryPolicy, Timeouts

__all__ = ["ComfyPool", "PoolServer"]

logger = logging.getLogger("studio.backends.comfyui.pool")
T = TypeVar("T")

DEFAULT_IN_FLIGHT_PER_SERVER = 2
DEFAULT_HEALTH_INTERVAL = 10.0
DEFAULT_MAX_FAILOVERS = 3
DEFAULT_GRACE = 300.0
"""Seconds a job waits for a paused or restarting server before giving up on it."""
PROBE_FIRST_DELAY = 0.5
PROBE_MAX_DELAY = 15.0
PROBE_TIMEOUT = 5.0
OBJECT_INFO_TTL = 300.0


@dataclass
class PoolServer:
    """One server of the pool and what we know about it."""

    url: str
    client: AsyncComfyClient
    index: int
    healthy: bool = True
    in_flight: int = 0
    queue_remaining: int = 0
    last_family: str | None = None
    jobs_done: int = 0
    abandoned: set[str] = field(default_factory=set)
    """Prompt ids we gave up on here; cancelled when the server answers again."""
    _probe: asyncio.Task[None] | None = field(default=None, repr=False)
    _info: dict[str, Any] | None = field(default=None, repr=False)
    _info_at: float = 0.0
    _info_lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    @property
    def load(self) -> int:
        foreign = max(0, self.queue_remaining - self.in_flight)
        return foreign + self.in_flight

    def abandon(self, prompt_id: str) -> None:
        """Forget ``prompt_id`` here: it is cancelled when this server answers again."""
        self.abandoned.add(prompt_id)

    async def object_info(self) -> dict[str, Any]:
        """The server's ``/object_info``, cached for a few minutes."""
        async with self._info_lock:
            if self._info is None or time.monotonic() - self._info_at > OBJECT_INFO_TTL:
                self._info = await self.client.object_info()
                self._info_at = time.monotonic()
            return self._info


class ComfyPool:
    """Runs jobs on a set of ComfyUI servers.

    Args:
        urls: Server base URLs (``COMFYUI_URLS``).
        timeouts: For every client.
        retry: For every client's connection retries.
        max_in_flight_per_server: Our jobs per server (running + queued).
        concurrency: Cap on our jobs across the pool; ``None`` for none.
        health_interval: Seconds between health probes; ``None`` disables them.
        max_failovers: How many times one job may move to another server.
        grace: Seconds a job waits for a paused or restarting server (``None``: no
            waiting, fail over or fail at once).
        probe_delays: First and largest delay between two probes of a server that is
            down (exponential backoff in between).
    """

    def __init__(
        self,
        urls: Sequence[str],
        *,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        retry: RetryPolicy = DEFAULT_RETRY_POLICY,
        max_in_flight_per_server: int = DEFAULT_IN_FLIGHT_PER_SERVER,
        concurrency: int | None = None,
        health_interval: float | None = DEFAULT_HEALTH_INTERVAL,
        max_failovers: int = DEFAULT_MAX_FAILOVERS,
        grace: float | None = DEFAULT_GRACE,
        probe_delays: tuple[float, float] = (PROBE_FIRST_DELAY, PROBE_MAX_DELAY),
    ) -> None:
        if not urls:
            raise ValueError("a ComfyPool needs at least one server URL (set COMFYUI_URLS)")
        if max_in_flight_per_server < 1:
            raise ValueError("max_in_flight_per_server must be at least 1")
        self.servers: list[PoolServer] = []
        for index, url in enumerate(urls):
            server = PoolServer(url.rstrip("/"), AsyncComfyClient(url, timeouts=timeouts,
                                                                  retry=retry), index)
            server.client._on_status = self._status_hook(server)
            self.servers.append(server)
        self.max_in_flight_per_server = max_in_flight_per_server
        self.concurrency = concurrency
        self.health_interval = health_interval
        self.max_failovers = max_failovers
        self.grace = grace
        self.probe_delays = probe_delays
        self._cond = asyncio.Condition()
        self._running = 0
        self._health_task: asyncio.Task[None] | None = None
        self._closed = False

    def _status_hook(self, server: PoolServer) -> Callable[[int], None]:
        def hook(remaining: int) -> None:
            server.queue_remaining = remaining
        return hook

    async def __aenter__(self) -> ComfyPool:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop health checks and close every client. Idempotent."""
        self._closed = True
        tasks = [t for t in [self._health_task, *(s._probe for s in self.servers)]
                 if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        async with self._cond:
            self._cond.notify_all()
        for server in self.servers:
            await server.client.aclose()

    def _start_health(self) -> None:
        if self._health_task is None and self.health_interval is not None:
            self._health_task = asyncio.create_task(self._health_loop(), name="comfy-health")

    async def _health_loop(self) -> None:
        assert self.health_interval is not None
        while True:
            await asyncio.sleep(self.health_interval)
            await self.check_health()

    async def check_health(self) -> dict[str, bool]:
        """Probe every server's ``/system_stats`` now; returns url -> healthy."""
        async def probe(server: PoolServer) -> None:
            if await server.client.ping(PROBE_TIMEOUT):
                await self._back(server)
            else:
                self.mark_down(server)
        await asyncio.gather(*(probe(s) for s in self.servers))
        return {s.url: s.healthy for s in self.servers}

    def mark_down(self, server: PoolServer) -> None:
        """Take ``server`` out of dispatch and probe it with backoff until it answers."""
        server.healthy = False
        if self._closed or (server._probe is not None and not server._probe.done()):
            return
        server._probe = asyncio.create_task(self._probe_until_back(server),
                                            name=f"comfy-probe {server.url}")

    async def _probe_until_back(self, server: PoolServer) -> None:
        delay, most = self.probe_delays
        while not self._closed:
            if await server.client.ping(PROBE_TIMEOUT):
                await self._back(server)
                return
            await asyncio.sleep(delay)
            delay = min(most, delay * 2)

    async def _back(self, server: PoolServer) -> None:
        was_down = not server.healthy
        server.healthy = True
        if was_down:
            logger.info("ComfyUI at %s answers again", server.url)
        for prompt_id in sorted(server.abandoned):
            # A job we gave up on and ran elsewhere: stop it here (no-op if it is gone).
            with contextlib.suppress(ComfyError):
                await server.client.cancel(prompt_id)
            server.abandoned.discard(prompt_id)
        async with self._cond:
            self._cond.notify_all()

    async def find_job(self, server: PoolServer, prompt_id: str) -> RunResult | None:
        """The result of ``prompt_id`` if it finished successfully on ``server``.

        Only asked of a server that answers (one short probe): a server that is down
        cannot say, and the caller then abandons the job there.
        """
        if not server.healthy or not await server.client.ping(PROBE_TIMEOUT):
            return None
        try:
            _, entry = await server.client.job_state(prompt_id)
        except ComfyError:
            return None
        if entry is None or entry.status_str != "success":
            return None
        return RunResult(prompt_id, server.url, entry.outputs, from_history=True)

    async def _acquire(self, exclude: set[str], prefer: PoolServer | None,
                       deadline: float | None) -> PoolServer:
        """The least-loaded healthy server (``prefer`` only, until ``deadline``).

        With no healthy server, waits up to ``grace`` (or until ``deadline``) for one.
        """
        waited_from = time.monotonic()
        async with self._cond:
            while True:
                if self._closed:
                    raise RuntimeError("this ComfyPool is closed")
                now = time.monotonic()
                sticky = prefer is not None and deadline is not None and now < deadline
                pool = [prefer] if sticky and prefer is not None else [
                    s for s in self.servers if s.url not in exclude]
                if not pool:
                    raise ComfyConnectionError(
                        "no ComfyUI server left for this job (servers: "
                        f"{', '.join(s.url for s in self.servers)})", server="")
                usable = [s for s in pool if s.healthy]
                if not usable:
                    until = deadline if sticky else (
                        waited_from + self.grace if self.grace is not None else now)
                    if until is None or now >= until:
                        names = ", ".join(s.url for s in self.servers)
                        waited = f" after waiting {now - waited_from:.0f} s" if (
                            now - waited_from >= 1) else ""
                        raise ComfyConnectionError(
                            f"no healthy ComfyUI server left for this job{waited} (servers: "
                            f"{names}); check COMFYUI_URLS and `studio doctor`", server=names)
                    for server in pool:
                        self.mark_down(server)  # make sure each is being probed
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._cond.wait(), until - now)
                    continue
                free = [s for s in usable if s.in_flight < self.max_in_flight_per_server]
                capped = self.concurrency is not None and self._running >= self.concurrency
                if free and not capped:
                    best = min(free, key=lambda s: (s.load, s.in_flight, s.jobs_done, s.index))
                    best.in_flight += 1
                    self._running += 1
                    return best
                await self._cond.wait()

    async def _release(self, server: PoolServer) -> None:
        async with self._cond:
            server.in_flight -= 1
            self._running -= 1
            self._cond.notify_all()

    async def run(self, job: Callable[[PoolServer], Awaitable[T]], *, label: str = "") -> T:
        """Run ``job(server)`` on the least-loaded healthy server, failing over as needed.

        ``job`` must do all of its work (uploads, submit, wait, downloads) through
        ``server.client``, so that running it again elsewhere is safe.

        Raises:
            ComfyConnectionError: no healthy server left, or failovers exhausted.
            PreflightError: the job fits none of the servers.
            ComfyError: any non-transient error from the job.
        """
        self._start_health()
        tried: set[str] = set()
        unsuitable: PreflightError | None = None
        moves = 0
        prefer: PoolServer | None = None
        deadline: float | None = None
        while True:
            try:
                server = await self._acquire(tried, prefer, deadline)
            except ComfyConnectionError:
                if unsuitable is not None:
                    raise unsuitable from None
                raise
            try:
                result = await job(server)
            except PreflightError as error:
                unsuitable = error
                tried.add(server.url)
                logger.info("%s does not fit %s: %s", label or "job", server.url, error)
                continue
            except ComfyConnectionError as error:
                self.mark_down(server)
                now = time.monotonic()
                if _may_hold_job(error) and self.grace is not None and (
                        prefer is not server or deadline is None):
                    prefer, deadline = server, now + self.grace  # wait for it, once
                elif not (_may_hold_job(error) and prefer is server and deadline is not None
                          and now < deadline):
                    # Within a server's grace, trying it again is not a move.
                    prefer, deadline = None, None
                    moves += 1
                logger.warning("%s failed on %s (%s); %s", label or "job", server.url, error,
                               "giving up" if moves > self.max_failovers else
                               f"waiting up to {self.grace:.0f} s for it to come back"
                               if prefer is not None else "moving it to another server")
                if moves > self.max_failovers:
                    raise
                continue
            finally:
                await self._release(server)
            server.jobs_done += 1
            return result


def _may_hold_job(error: ComfyConnectionError) -> bool:
    """Whether the server may still hold (and finish) the job after this error.

    A refused connection means the process is gone; a lost job was forgotten; a job
    past its own ``total``/``queue_wait`` limit was cancelled. Silence (a paused or
    hung server) is the case worth waiting for.
    """
    if error.refused or isinstance(error, ComfyJobLostError):
        return False
    return not (isinstance(error, ComfyTimeoutError) and error.phase in ("total", "queue_wait"))
