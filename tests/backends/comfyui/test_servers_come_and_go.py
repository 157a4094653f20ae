"""Servers that pause (SIGSTOP-like) or die and restart while a job runs.

Each case runs with only that server and with a second, healthy one. Whatever happens,
every segment ends with exactly one file and exactly one completed GPU run across all
servers (``FakeComfyUI.completed``): a paused server is waited for and its job picked up
where it is; a killed one holds nothing, so its job runs again (once) elsewhere or after
the restart. Synchronisation is by polling observable state with a deadline, never by
sleeping a guessed time.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from studio.backends import ProgressEvent
from studio.backends.comfyui import RetryPolicy, Timeouts
from studio.backends.comfyui._backend import ComfyBackend
from studio.backends.comfyui._pool import ComfyPool
from tests.backends.comfyui.fake_comfyui import Behaviour, FakeServer
from tests.backends.comfyui.test_backend import request, start_png

# A keep-alive far shorter than the pause, so the WebSocket really drops while paused.
FLAKY_TIMEOUTS = Timeouts(connect=0.5, read=0.5, queue_wait=60.0, ws_idle=1.0, total=60.0,
                          keepalive=0.3)
RETRY = RetryPolicy(attempts=2, backoff=0.02, max_backoff=0.05)


def wait_until(predicate: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


class Render:
    """``segments`` segments generated on ``servers`` in a background thread."""

    def __init__(self, servers: list[FakeServer], home: Path, segments: int) -> None:
        self.pool = ComfyPool([s.url for s in servers], timeouts=FLAKY_TIMEOUTS, retry=RETRY,
                              health_interval=None, grace=30.0, probe_delays=(0.02, 0.1),
                              max_in_flight_per_server=1)
        self.backend = ComfyBackend([], home=home, template="smoke_i2v", pool=self.pool)
        start = start_png(home)
        self.requests = [request(home, n, start=start) for n in range(1, segments + 1)]
        self.events: list[tuple[int, ProgressEvent]] = []
        self.results: list[Any] = []
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        async def main() -> list[Any]:
            try:
                return list(await asyncio.gather(*(
                    self.backend.generate(r, lambda e, n=r.segment_number: self.events.append(
                        (n, e))) for r in self.requests)))
            finally:
                await self.backend.aclose()
        try:
            self.results = asyncio.run(main())
        except BaseException as error:  # reported by finish()
            self.error = error

    def stepping(self, number: int) -> bool:
        return any(n == number and "step" in e.message for n, e in self.events)

    def finish(self) -> list[Any]:
        self.thread.join(timeout=60)
        assert not self.thread.is_alive(), "the render did not finish"
        if self.error is not None:
            raise self.error
        return self.results


def assert_one_run_per_segment(render: Render, servers: list[FakeServer], home: Path) -> None:
    results = render.finish()
    pids = [r.metadata["prompt_id"] for r in results]
    assert len(set(pids)) == len(render.requests)
    completed = Counter(pid for s in servers for pid in s.fake.completed)
    assert {pid: completed[pid] for pid in pids} == dict.fromkeys(pids, 1)
    videos = sorted(p.name for p in (home / "renders" / "s2").glob("segment_*.mp4"))
    assert videos == [f"segment_{n:03d}.mp4" for n in range(1, len(render.requests) + 1)]
    assert not list((home / "renders" / "s2").glob("*preview*"))
    for number in range(1, len(render.requests) + 1):
        fractions = [e.fraction for n, e in render.events if n == number]
        assert fractions == sorted(fractions), f"segment {number} progress went back"


@pytest.mark.parametrize("with_healthy", [False, True], ids=["alone", "with-a-healthy-one"])
def test_a_server_paused_past_the_keepalive_is_waited_for_and_its_job_kept(
        make_server: Callable[..., FakeServer], tmp_path: Path, with_healthy: bool) -> None:
    flaky = make_server(behaviour=Behaviour(run_seconds=1.0, steps=8))
    servers = [flaky] + ([make_server(behaviour=Behaviour(run_seconds=0.05))]
                         if with_healthy else [])
    home = tmp_path / "home"
    render = Render(servers, home, segments=3)
    pool_flaky = render.pool.servers[0]
    wait_until(lambda: any(render.stepping(n) for n in (1, 2, 3))
               and flaky.fake._running is not None, "a job to run on the flaky server")
    running = flaky.fake._running.prompt_id if flaky.fake._running else None
    flaky.pause()
    wait_until(lambda: not pool_flaky.healthy, "the client to notice the pause")
    flaky.resume()
    assert_one_run_per_segment(render, servers, home)
    assert running in flaky.fake.completed  # the paused job finished where it was
    assert flaky.fake.posted.count(running) == 1  # and was never posted again
    if with_healthy:
        assert len(servers[1].fake.completed) >= 1  # the others went on meanwhile


@pytest.mark.parametrize("with_healthy", [False, True], ids=["alone", "with-a-healthy-one"])
def test_a_server_killed_and_restarted_mid_job_loses_nothing_and_runs_nothing_twice(
        make_server: Callable[..., FakeServer], tmp_path: Path, with_healthy: bool) -> None:
    flaky = make_server(behaviour=Behaviour(run_seconds=1.0, steps=8))
    servers = [flaky] + ([make_server(behaviour=Behaviour(run_seconds=0.05))]
                         if with_healthy else [])
    home = tmp_path / "home"
    render = Render(servers, home, segments=3)
    pool_flaky = render.pool.servers[0]
    wait_until(lambda: any(render.stepping(n) for n in (1, 2, 3))
               and flaky.fake._running is not None, "a job to run on the flaky server")
    killed = flaky.fake._running.prompt_id if flaky.fake._running else None
    flaky.kill()
    wait_until(lambda: not pool_flaky.healthy, "the client to notice the death")
    flaky.restart()
    assert_one_run_per_segment(render, servers, home)
    completed = [pid for server in servers for pid in server.fake.completed]
    assert killed is not None and completed.count(killed) == 1  # it ran again, once


def test_an_episode_survives_a_paused_server_with_one_row_file_and_run_per_segment(
        make_server: Callable[..., FakeServer], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy import func, select

    from studio._config import load_settings
    from studio._studio import DEMO_SCREENPLAY, Studio
    from studio.backends._base import _REGISTRY
    from studio.render._pipeline import render_episode
    from studio.storage._models import SegmentModel
    from tests.backends.comfyui._nodes import ALL_MODELS

    models = {**ALL_MODELS, "loras": [*ALL_MODELS["loras"], "luna_v1.safetensors"]}
    flaky = make_server(models=models, behaviour=Behaviour(run_seconds=0.6, steps=6))
    settings = load_settings(home=tmp_path / "home", environ={"COMFYUI_URLS": flaky.url})
    pools: list[ComfyPool] = []

    def flaky_backend(settings: Any) -> ComfyBackend:  # the comfyui backend, short timeouts
        pool = ComfyPool(settings.comfyui_urls, timeouts=FLAKY_TIMEOUTS, retry=RETRY,
                         health_interval=None, grace=30.0, probe_delays=(0.02, 0.1))
        pools.append(pool)
        return ComfyBackend([], home=settings.home, pool=pool)

    monkeypatch.setitem(_REGISTRY, "comfyui-flaky", flaky_backend)
    sampling = threading.Event()

    def watch(event: Any) -> None:
        if "step 2/" in event.message:
            sampling.set()

    def pause_once() -> None:  # mid-sampling, until the client has noticed the silence
        if not sampling.wait(timeout=60):
            return
        flaky.pause()
        try:
            wait_until(lambda: not pools[0].servers[0].healthy, "the client to notice")
        finally:
            flaky.resume()

    helper = threading.Thread(target=pause_once, daemon=True)
    helper.start()
    with Studio.open(settings=settings) as studio:
        show = tmp_path / "show.yaml"
        show.write_text(DEMO_SCREENPLAY.read_text().replace(
            "  max_attempts: 3\n", "  max_attempts: 3\n  quality: {freeze_min_frames: 100000}\n"))
        studio.import_file(show)
        summary = render_episode(studio, episode=1, backend="comfyui-flaky", progress=watch)
        helper.join(timeout=30)
        assert sampling.is_set() and not helper.is_alive()
        assert [s["status"] for s in summary.scenes] == ["completed"] * 3
        with studio.database.session() as session:
            rows = session.scalar(select(func.count()).select_from(SegmentModel))
        videos = list((studio.home / "renders").rglob("segment_*.mp4"))
    # FramePack's own 12-second limit: each demo scene is one segment.
    assert rows == 3 and len(videos) == 3
    # Every job (3 segments and the generated start keyframes) ran exactly once, and the
    # paused ones were picked up where they were, never posted again.
    completed, posted = flaky.fake.completed, flaky.fake.posted
    assert len(posted) == len(set(posted)) >= 3
    assert sorted(completed) == sorted(posted)


def test_an_unhealthy_server_is_probed_again_until_it_answers(
        make_server: Callable[..., FakeServer]) -> None:
    server = make_server()
    server.kill()

    async def main() -> tuple[bool, bool, int]:
        pool = ComfyPool([server.url], timeouts=FLAKY_TIMEOUTS, retry=RETRY,
                         health_interval=None, probe_delays=(0.01, 0.05))
        async with pool:
            pool.mark_down(pool.servers[0])
            down = pool.servers[0].healthy
            await asyncio.to_thread(server.restart)
            async def back() -> None:
                while not pool.servers[0].healthy:
                    await asyncio.sleep(0.01)  # polling the pool's own state
            await asyncio.wait_for(back(), 10)
            return down, pool.servers[0].healthy, server.fake.requests.count(
                "GET /system_stats")

    down, up, probes = asyncio.run(main())
    assert (down, up) == (False, True) and probes >= 1


def test_a_refused_connection_says_so(make_server: Callable[..., FakeServer]) -> None:
    from studio.backends.comfyui import AsyncComfyClient, ComfyConnectionError

    server = make_server()
    server.kill()

    async def main() -> None:
        async with AsyncComfyClient(server.url, timeouts=FLAKY_TIMEOUTS, retry=RETRY) as c:
            await c.run({"1": {"class_type": "EmptyImage", "inputs": {}}})

    with pytest.raises(ComfyConnectionError) as caught:
        asyncio.run(main())
    assert caught.value.refused
    assert "ConnectionRefusedError" in str(caught.value)  # never an empty reason
