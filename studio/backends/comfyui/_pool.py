"""A pool of ComfyUI servers: least-loaded dispatch, health checks, failover.

- **Dispatch**: each job goes to the healthy server with the lowest load, where load is
  the server's own queue (jobs other clients put there, from its ``status`` messages)
  plus our jobs in flight on it.
- **Keep every server fed**: up to ``max_in_flight_per_server`` of our jobs (default 2:
  one running, one queued behind it) so a server never idles between two jobs.
- **Concurrency limit**: ``concurrency`` caps our jobs across the pool (default: no cap
  beyond the per-server one).
- **Health**: a failed job marks its server unhealthy; a background task probes
  ``/system_stats`` every ``health_interval`` seconds and brings servers back.
- **Failover**: a job that fails with a transient error (the server died, dropped the
  connection, or forgot the job) runs again from scratch on another server: uploads,
  submit, wait, download. The job's result comes from exactly one server. A job that
  fails preflight on one server (missing nodes or models) is tried on the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from studio.backends.comfyui._client import AsyncComfyClient
from studio.backends.comfyui._exceptions import ComfyConnectionError, ComfyError, PreflightError
from studio.backends.comfyui._timeouts import DEFAULT_RETRY_POLICY, DEFAULT_TIMEOUTS, RetryPolicy, Timeouts

__all__ = ["ComfyPool", "PoolServer"]

logger = logging.getLogger("studio.backends.comfyui.pool")
T = TypeVar("T")

DEFAULT_IN_FLIGHT_PER_SERVER = 2
DEFAULT_HEALTH_INTERVAL = 10.0
DEFAULT_MAX_FAILOVERS = 3
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
    _info: dict[str, Any] | None = field(default=None, repr=False)
    _info_at: float = 0.0
    _info_lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    @property
    def load(self) -> int:
        foreign = max(0, self.queue_remaining - self.in_flight)
        return foreign + self.in_flight

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
        if self._health_task is not None:
            self._health_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._health_task
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
            try:
                await server.client.system_stats()
            except ComfyError:
                server.healthy = False
            else:
                server.healthy = True
        await asyncio.gather(*(probe(s) for s in self.servers))
        async with self._cond:
            self._cond.notify_all()
        return {s.url: s.healthy for s in self.servers}

    async def _acquire(self, exclude: set[str]) -> PoolServer:
        async with self._cond:
            while True:
                if self._closed:
                    raise RuntimeError("this ComfyPool is closed")
                usable = [s for s in self.servers if s.healthy and s.url not in exclude]
                if not usable:
                    names = ", ".join(s.url for s in self.servers)
                    raise ComfyConnectionError(
                        f"no healthy ComfyUI server left for this job (servers: {names}); "
                        "check COMFYUI_URLS and `studio doctor`", server=names)
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
        while True:
            try:
                server = await self._acquire(tried)
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
                server.healthy = False
                tried.add(server.url)
                moves += 1
                logger.warning("%s failed on %s (%s); %s", label or "job", server.url, error,
                               "moving it to another server" if moves <= self.max_failovers
                               else "giving up")
                if moves > self.max_failovers:
                    raise
                continue
            finally:
                await self._release(server)
            server.jobs_done += 1
            return result
