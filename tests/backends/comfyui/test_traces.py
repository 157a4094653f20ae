"""The recorded traces of a real ComfyUI 0.3.64 (tests/backends/comfyui/data/real/traces).

Two directions:

- the **client against the traces**: a replay server sends exactly the recorded frames
  and answers, and the client must make of them what the real run was (outputs, the
  node that failed, the interrupt, cached nodes, every validation problem);
- the **fake against the traces**: the fake gets the recorded request and must answer
  message for message as the real server did (types in order, ``progress_state`` maps,
  400 bodies).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import pytest
from aiohttp import WSMsgType, web

from studio.backends.comfyui import (
    AsyncComfyClient,
    ComfyExecutionError,
    ComfyInterruptedError,
    ComfyValidationError,
)
from studio.backends.comfyui._client import RunProgress
from tests.backends.comfyui._validator import trace
from tests.backends.comfyui.conftest import FAST_RETRY, TEST_TIMEOUTS
from tests.backends.comfyui.fake_comfyui import Behaviour, FakeServer

T = TypeVar("T")
RUNS = ["blur_saveimage", "cached_first_run", "video_createvideo_savevideo"]
INVALID = ["invalid_combo_value_not_in_list", "invalid_link_to_missing_node",
           "invalid_missing_required_input", "invalid_no_output_node", "invalid_no_prompt_key",
           "invalid_unknown_node", "invalid_value_out_of_range", "invalid_wrong_link_type",
           "invalid_wrong_value_type"]


def _after_post(record: dict[str, Any], client: str = "A") -> list[dict[str, Any]]:
    """Client ``client``'s text frames after the recorded POST (the job's messages);
    without a POST note (posted before the socket opened), all but the first."""
    notes = [m for m in record["messages"] if m["kind"] == "note"
             and m["note"].startswith("POST /prompt ->")]
    if not notes:
        return [m for m in record["messages"] if m["kind"] == "text"
                and m["client"] == client][1:]
    frames, posted = [], False
    for m in record["messages"]:
        if m["kind"] == "note" and m["note"].startswith("POST /prompt ->"):
            posted = True
        elif posted and m["kind"] == "text" and m["client"] == client:
            frames.append(m)
    return frames


class Replay:
    """Serves one trace: the first frame on connect, the job's frames after the POST."""

    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.port = self.call(self._start())

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    async def _start(self) -> int:
        self.posted = asyncio.Event()
        app = web.Application()
        app.router.add_get("/ws", self.ws)
        app.router.add_post("/prompt", self.prompt)
        app.router.add_get("/history/{pid}", self.history)
        app.router.add_get("/queue", self.queue)
        self.runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        return int(self.runner.addresses[0][1])

    async def ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        first = next(m for m in self.record["messages"] if m["kind"] == "text")
        await ws.send_str(first["raw"])
        await self.posted.wait()
        for frame in _after_post(self.record):
            await ws.send_str(frame["raw"])
        async for msg in ws:
            if msg.type == WSMsgType.CLOSE:
                break
        return ws

    async def prompt(self, request: web.Request) -> web.Response:
        http = self.record["http"]
        self.posted.set()
        return web.Response(status=http["status"], text=http["raw"],
                            content_type="application/json")

    async def history(self, request: web.Request) -> web.Response:
        body = (self.record.get("history") or {}).get("body") or {}
        pid = request.match_info["pid"]
        return web.json_response({pid: body[pid]} if pid in body else {})

    async def queue(self, request: web.Request) -> web.Response:
        return web.json_response({"queue_running": [], "queue_pending": []})

    def close(self) -> None:
        self.call(self.runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


def _replayed(name: str) -> tuple[Any, list[RunProgress], dict[str, Any]]:
    record = trace(name)
    replay = Replay(record)
    seen: list[RunProgress] = []
    body = record["post_body"]
    pid = (record["http"]["body"] or {}).get("prompt_id") if record["http"]["body_is_json"] \
        else None

    async def main() -> Any:
        async with AsyncComfyClient(f"http://127.0.0.1:{replay.port}", timeouts=TEST_TIMEOUTS,
                                    retry=FAST_RETRY, client_id=record["client_id"]) as c:
            return await c.run(body.get("prompt", {}), prompt_id=pid or "x",
                               on_progress=seen.append)

    try:
        return asyncio.run(main()), seen, record
    except Exception as error:  # the caller checks it
        return error, seen, record
    finally:
        replay.close()


@pytest.mark.parametrize("name", RUNS)
def test_client_reads_a_recorded_run(name: str) -> None:
    result, seen, record = _replayed(name)
    pid = record["http"]["body"]["prompt_id"]
    assert result.outputs == record["history"]["body"][pid]["outputs"]
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    states = sum(1 for m in _after_post(record) if m["msg"]["type"] == "progress_state")
    assert len(set(fractions)) >= states  # every progress_state moved the bar


def test_client_reads_a_recorded_cached_rerun() -> None:
    result, seen, record = _replayed("cached_second_run")
    assert result.cached_nodes == ("1", "2", "3")
    pid = record["http"]["body"]["prompt_id"]
    assert result.outputs == record["history"]["body"][pid]["outputs"]
    assert seen[-1].fraction == 1.0


def test_client_reads_a_recorded_runtime_error() -> None:
    error, _, _ = _replayed("runtime_error")
    assert isinstance(error, ComfyExecutionError)
    assert (error.node_id, error.node_type, error.exception_type) == (
        "2", "ImageToMask", "IndexError")
    assert "index 3 is out of bounds" in str(error)


@pytest.mark.parametrize("name", ["interrupt_midrun", "interrupt_targeted_midrun"])
def test_client_reads_a_recorded_interrupt(name: str) -> None:
    error, seen, record = _replayed(name)
    assert isinstance(error, ComfyInterruptedError)
    recorded = next(m["msg"]["data"] for m in _after_post(record)
                    if m["msg"]["type"] == "execution_interrupted")
    assert error.node_id == recorded["node_id"]
    assert 0 < seen[-1].fraction < 1


@pytest.mark.parametrize("name", INVALID)
def test_client_reads_every_recorded_400(name: str) -> None:
    error, _, record = _replayed(name)
    assert isinstance(error, ComfyValidationError)
    body = record["http"]["body"]
    assert error.error_type == body["error"]["type"]
    recorded = {(nid, e.get("extra_info", {}).get("input_name")
                 or (e["details"] if e["type"] == "required_input_missing" else None), e["type"])
                for nid, entry in body["node_errors"].items() for e in entry["errors"]}
    assert {(p.node_id, p.input_name, p.type) for p in error.problems} == recorded


# -- the fake against the traces ---------------------------------------------------------


def _strip(body: Any) -> Any:
    """A 400 body without tracebacks and received tensors (they quote the server's code)."""
    if isinstance(body, dict):
        return {k: _strip(v) for k, v in body.items() if k not in ("traceback",)}
    if isinstance(body, list):
        return [_strip(v) for v in body]
    return body


@pytest.mark.parametrize("name", INVALID)
def test_fake_answers_every_400_as_the_real_server(
        make_server: Callable[..., FakeServer], name: str) -> None:
    import httpx

    comfy = make_server(behaviour=Behaviour(step_class=None))  # the real server exactly
    record = trace(name)
    response = httpx.post(f"{comfy.url}/prompt", json=record["post_body"])
    assert response.status_code == record["http"]["status"]
    got, want = _strip(response.json()), _strip(record["http"]["body"])
    assert got["error"] == want["error"]
    assert got["node_errors"].keys() == want["node_errors"].keys()
    for nid, entry in want["node_errors"].items():
        mine = got["node_errors"][nid]
        assert (mine["class_type"], sorted(mine["dependent_outputs"])) == (
            entry["class_type"], sorted(entry["dependent_outputs"]))
        assert [(e["type"], e["message"], e["details"]) for e in mine["errors"]] == [
            (e["type"], e["message"], e["details"]) for e in entry["errors"]]


async def _record_fake(url: str, body: dict[str, Any], client_id: str | None,
                       listeners: int = 1) -> list[list[dict[str, Any]]]:
    """Connect ``listeners`` sockets (the first with ``client_id``), POST, and collect
    every socket's frames up to the job's end (``executing`` null or its status 0)."""
    import httpx
    import websockets

    sockets = []
    for i in range(listeners):
        cid = client_id if i == 0 and client_id else f"listener{i}"
        ws = await websockets.connect(f"{url.replace('http', 'ws')}/ws?clientId={cid}")
        sockets.append(ws)
    frames: list[list[dict[str, Any]]] = [[] for _ in sockets]
    for i, ws in enumerate(sockets):
        frames[i].append(json.loads(await ws.recv()))
    async with httpx.AsyncClient() as http:
        answer = (await http.post(f"{url}/prompt", json=body)).json()
    pid = answer["prompt_id"]

    async def drain(i: int, ws: Any) -> None:
        while True:
            try:
                msg = json.loads(await asyncio.wait_for(ws.recv(), 5.0))
            except TimeoutError:
                return
            frames[i].append(msg)
            data = msg["data"]
            if msg["type"] == "executing" and data.get("node") is None \
                    and data.get("prompt_id") == pid:
                return
            if msg["type"] == "status" and i > 0 and len(frames[i]) > 2 \
                    and data["status"]["exec_info"]["queue_remaining"] == 0:
                return
    await asyncio.gather(*(drain(i, ws) for i, ws in enumerate(sockets)))
    for ws in sockets:
        await ws.close()
    return frames


def _node_maps(frames: list[dict[str, Any]]) -> list[dict[str, tuple[str, float, float]]]:
    return [{k: (v["state"], float(v["value"]), float(v["max"]))
             for k, v in f["data"]["nodes"].items()}
            for f in frames if f["type"] == "progress_state"]


@pytest.mark.parametrize("name", ["blur_saveimage", "runtime_error",
                                  "video_createvideo_savevideo"])
def test_fake_sends_a_run_message_for_message(make_server: Callable[..., FakeServer],
                                              name: str) -> None:
    comfy = make_server(behaviour=Behaviour(step_class=None))  # the real server exactly
    record = trace(name)
    body = json.loads(json.dumps(record["post_body"]))
    (frames,) = asyncio.run(_record_fake(comfy.url, body, record["client_id"]))
    want = [m["msg"] for m in record["messages"] if m["kind"] == "text" and m["client"] == "A"]
    assert [f["type"] for f in frames] == [m["type"] for m in want]
    assert _node_maps(frames) == _node_maps(want)
    for got, real in zip(frames, want, strict=True):
        assert set(got["data"]) == set(real["data"]), got["type"]


def test_fake_sends_a_cached_rerun_as_the_real_server(
        make_server: Callable[..., FakeServer]) -> None:
    comfy = make_server(behaviour=Behaviour(step_class=None))  # the real server exactly
    first, second = trace("cached_first_run"), trace("cached_second_run")
    body = json.loads(json.dumps(first["post_body"]))
    asyncio.run(_record_fake(comfy.url, body, first["client_id"]))
    (frames,) = asyncio.run(_record_fake(comfy.url, body, first["client_id"]))
    want = [m["msg"] for m in second["messages"] if m["kind"] == "text" and m["client"] == "A"]
    assert [f["type"] for f in frames] == [m["type"] for m in want]
    assert _node_maps(frames) == _node_maps(want)
    cached = next(f for f in frames if f["type"] == "execution_cached")
    assert cached["data"]["nodes"] == ["1", "2", "3"]


def test_a_prompt_without_client_id_sends_no_execution_events(
        make_server: Callable[..., FakeServer]) -> None:
    comfy = make_server(behaviour=Behaviour(step_class=None))  # the real server exactly
    body = json.loads(json.dumps(trace("blur_saveimage")["post_body"]))
    del body["client_id"]
    _, other = asyncio.run(_record_fake(comfy.url, body, None, listeners=2))
    assert {f["type"] for f in other} == {"status", "progress_state"}


def test_fake_interrupts_as_the_real_server(make_server: Callable[..., FakeServer]) -> None:
    import httpx
    import websockets

    from tests.backends.comfyui.conftest import EMPTY_VIDEO_GRAPH

    comfy = make_server(behaviour=Behaviour(run_seconds=3.0, steps=30))
    record = trace("interrupt_targeted_midrun")
    want_tail = [m["msg"] for m in record["messages"] if m["kind"] == "text"][-3:]
    want_data = next(m["data"] for m in want_tail if m["type"] == "execution_interrupted")

    async def main() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        ws_url = comfy.url.replace("http", "ws")
        mine = await websockets.connect(f"{ws_url}/ws?clientId=me")
        other = await websockets.connect(f"{ws_url}/ws?clientId=someone-else")
        await mine.recv()
        await other.recv()
        async with httpx.AsyncClient(base_url=comfy.url) as http:
            pid = (await http.post("/prompt", json={"prompt": EMPTY_VIDEO_GRAPH,
                                                    "client_id": "me"})).json()["prompt_id"]
            frames: list[dict[str, Any]] = []
            while not frames or frames[-1]["type"] != "progress":
                frames.append(json.loads(await mine.recv()))
            await http.post("/interrupt", json={"prompt_id": pid})
            while not (frames[-1]["type"] == "executing"
                       and frames[-1]["data"].get("node") is None):
                frames.append(json.loads(await mine.recv()))
        seen_by_other = []
        while True:
            try:
                seen_by_other.append(json.loads(await asyncio.wait_for(other.recv(), 1.0)))
            except TimeoutError:
                break
        await mine.close()
        await other.close()
        return frames, seen_by_other

    frames, other = asyncio.run(main())
    assert [f["type"] for f in frames[-3:]] == [m["type"] for m in want_tail]
    interrupted = next(f["data"] for f in frames if f["type"] == "execution_interrupted")
    assert set(interrupted) == set(want_data)
    # Broadcast, as recorded: the other socket sees it, and only status besides.
    assert {f["type"] for f in other} == {"status", "execution_interrupted"}
