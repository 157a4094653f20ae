"""A loopback ComfyUI fake (aiohttp) that follows the captured API message for message.

Routes, bodies, status codes, WebSocket routing and event order are those of
comfyui-api.md (ComfyUI 0.3.64). What a job *does* is simulated by ``_fake_exec``:
image nodes really run, model nodes render animatic frames, outputs are real PNG/mp4.

Behaviour knobs (:class:`Behaviour`, changeable while running): run duration with step
progress, an execution error in a given node class, a crash mid-run (every socket closes,
the port stops answering, history and queue are lost), dropped WebSocket connections,
a silent WebSocket, and slow HTTP responses.

Use :class:`FakeServer` from tests: it runs the app on 127.0.0.1, port 0, in its own
thread and event loop; ``kill()``/``restart()`` are thread-safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import heapq
import itertools
import json
import struct
import threading
import time
import uuid
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import WSMsgType, web

from tests.backends.comfyui._fake_exec import (
    SAMPLER_CLASSES,
    Evaluator,
    NodeFailure,
    execution_order,
    signatures,
    validate,
)
from tests.backends.comfyui._nodes import ALL_MODELS, build_object_info

T = TypeVar("T")
# A 2x2 PNG: what a sampler's latent preview looks like on the wire.
_PREVIEW_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000002000000020802000000fdd49a73000000"
    "1649444154081d636c6868606060606c6868606060000019a30303b165ca760000000049454e44ae426082")
CONTENT_TYPES = {".png": "image/png", ".webp": "image/webp", ".mp4": "video/mp4",
                 ".webm": "video/webm", ".jpg": "image/jpeg"}


@dataclass
class Behaviour:
    run_seconds: float = 0.02          # wall time per job (steps spread over 4/5 of it)
    steps: int = 4                     # progress messages from the sampler node
    fail_class: str | None = None      # this node class raises (execution_error)
    fail_message: str = "CUDA out of memory (simulated)"
    crash_at_step: int | None = None   # the server dies when a job reaches this step
    drop_ws_at_step: int | None = None  # every WebSocket closes once at this step
    silent_ws: bool = False            # execution events are not sent at all
    silent_after_drop: bool = False    # with drop_ws_at_step: events stop after the drop
    lose_executed_of: str | None = None  # sockets close just before this node's `executed`,
    # which is lost (sent while nobody listens); the job goes on once the client is back
    response_delay: float = 0.0        # added to every HTTP response
    previews: bool = False             # samplers send a binary latent preview per step
    step_class: str | None = "CreateVideo"  # in a graph with no sampler, this class
    # reports steps like one, so model-free test graphs have steps to time things by;
    # None is the real server exactly (only samplers report steps): the trace tests


@dataclass(order=True)
class _Item:
    number: float
    prompt_id: str = field(compare=False)
    prompt: dict[str, Any] = field(compare=False)
    extra_data: dict[str, Any] = field(compare=False)
    outputs: list[str] = field(compare=False)


class FakeComfyUI:
    """The server state and handlers; run it with :class:`FakeServer`."""

    def __init__(
        self,
        root: Path,
        *,
        models: Mapping[str, Sequence[str]] | None = None,
        packs: Sequence[str] = ("core", "framepack"),
        behaviour: Behaviour | None = None,
        manager: bool = False,
        jobs_api: bool = False,
        job_cancel: bool = True,
    ) -> None:
        self.root = root
        for sub in ("input", "output", "temp"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        self.models = {k: list(v) for k, v in (ALL_MODELS if models is None else models).items()}
        self.packs = tuple(packs)
        self.manager = FakeManager(self) if manager else None
        self.jobs_api = jobs_api  # newer ComfyUI: /api/jobs (comfy_execution/jobs.py)
        # ... and, newer still, POST /api/jobs/{id}/cancel (server.py cancel_job_by_id)
        self.job_cancel = jobs_api and job_cancel
        self.cancels: list[str] = []  # the ids POSTed to /api/jobs/{id}/cancel
        self.requests: list[str] = []  # "METHOD /path" of every request, in order
        self.behaviour = behaviour or Behaviour()
        self.evaluator = Evaluator(root)
        self.posted: list[str] = []       # every prompt_id POSTed and accepted
        self.executed: list[str] = []     # every prompt_id that started running
        self.completed: list[str] = []    # every prompt_id that ran to execution_success
        self.flags: dict[str, bool] = {}  # client id -> negotiated supports_preview_metadata
        self.socket_open_at_post: list[bool] = []
        self.ws_connections = 0
        self.free_calls: list[dict[str, Any]] = []
        self.interrupts: list[Any] = []
        self._counter = itertools.count()
        self._reset_memory()
        self._sockets: dict[str, web.WebSocketResponse] = {}
        self._runner: web.AppRunner | None = None
        self._info: dict[str, Any] | None = None
        self.port = 0
        self.alive = False

    def _reset_memory(self) -> None:
        self.history: dict[str, dict[str, Any]] = {}
        self._pending: list[_Item] = []
        self._running: _Item | None = None
        self._current_node: str | None = None
        self._wakeup = asyncio.Event()
        self._socket_opened = asyncio.Event()
        self._interrupt = False
        self._cache: dict[str, tuple[tuple[Any, ...], dict[str, Any] | None]] = {}
        self._worker: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def object_info(self) -> dict[str, Any]:
        """Rebuilt after each upload (LoadImage lists the input folder)."""
        if self._info is None:
            inputs = sorted(p.name for p in (self.root / "input").iterdir() if p.is_file())
            self._info = build_object_info(self.models, inputs, packs=self.packs)
        return self._info

    # -- lifecycle (run inside the server's loop) -----------------------------------------

    async def start(self) -> None:
        app = web.Application(middlewares=[self._delay], client_max_size=256 * 1024 * 1024)
        routes = [
            ("POST", "/prompt", self.post_prompt), ("GET", "/prompt", self.get_prompt),
            ("GET", "/queue", self.get_queue), ("POST", "/queue", self.post_queue),
            ("POST", "/interrupt", self.post_interrupt), ("GET", "/history", self.get_history),
            ("GET", "/history/{prompt_id}", self.get_history_one),
            ("POST", "/history", self.post_history), ("GET", "/view", self.get_view),
            ("POST", "/upload/image", self.post_upload), ("GET", "/object_info", self.get_info),
            ("GET", "/object_info/{node_class}", self.get_info_one),
            ("GET", "/system_stats", self.get_stats), ("GET", "/features", self.get_features),
            ("GET", "/models", self.get_models), ("GET", "/models/{folder}", self.get_folder),
            ("GET", "/embeddings", self.get_embeddings), ("POST", "/free", self.post_free),
            ("GET", "/ws", self.websocket),
        ]
        for method, path, handler in routes:
            for prefix in ("", "/api"):
                app.router.add_route(method, prefix + path, handler)
        if self.jobs_api:
            app.router.add_route("GET", "/api/jobs", self.get_jobs)
            app.router.add_route("GET", "/api/jobs/{prompt_id}", self.get_job)
        if self.job_cancel:
            app.router.add_route("POST", "/api/jobs/{prompt_id}/cancel", self.post_job_cancel)
        if self.manager is not None:
            self.manager.activate()  # packs installed before this (re)start load now
            for method, path, handler in self.manager.routes():
                app.router.add_route(method, path, handler)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port,
                           reuse_address=True)
        await site.start()
        if self.port == 0:
            self.port = self._runner.addresses[0][1]
        self._reset_memory()
        self._worker = asyncio.create_task(self._work())
        self.alive = True

    async def kill(self) -> None:
        """Die: close every socket, stop answering, forget history and queue."""
        if not self.alive:
            return
        self.alive = False
        if self._worker is not None:
            self._worker.cancel()
        for ws in list(self._sockets.values()):
            await ws.close()
        self._sockets.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._reset_memory()

    def _job(self, pid: str) -> dict[str, Any] | None:
        """One job as newer servers' ``get_job`` normalises it (comfy_execution/jobs.py)."""
        if pid in self.history:
            entry = self.history[pid]
            ok = entry["status"]["status_str"] == "success"
            interrupted = any(m[0] == "execution_interrupted" for m in entry["status"]["messages"])
            status = "completed" if ok else "cancelled" if interrupted else "failed"
            return {"id": pid, "status": status,
                    "priority": entry["prompt"][0], "outputs": entry["outputs"],
                    "execution_status": entry["status"],
                    "outputs_count": sum(len(v.get("images", [])) for v in
                                         entry["outputs"].values())}
        if self._running is not None and self._running.prompt_id == pid:
            return {"id": pid, "status": "in_progress", "priority": self._running.number,
                    "outputs_count": 0}
        for item in self._pending:
            if item.prompt_id == pid:
                return {"id": pid, "status": "pending", "priority": item.number,
                        "outputs_count": 0}
        return None

    async def get_jobs(self, request: web.Request) -> web.Response:
        pids = ([self._running.prompt_id] if self._running else []) + [
            i.prompt_id for i in self._pending] + list(self.history)
        jobs = [j for j in map(self._job, pids) if j is not None]
        limit = int(request.query.get("limit", len(jobs) or 1))
        return web.json_response({"jobs": jobs[:limit], "pagination": {
            "offset": 0, "limit": limit, "total": len(jobs)}})

    async def get_job(self, request: web.Request) -> web.Response:
        job = self._job(request.match_info["prompt_id"])
        if job is None:
            return web.json_response({"error": "Job not found"}, status=404)
        return web.json_response(job)

    async def post_job_cancel(self, request: web.Request) -> web.Response:
        """Interrupt the job while it runs, dequeue it while it waits, else nothing; 200."""
        pid = request.match_info["prompt_id"]
        self.cancels.append(pid)
        if self._running is not None and self._running.prompt_id == pid:
            self._interrupt = True
            return web.json_response({"cancelled": True})
        if any(item.prompt_id == pid for item in self._pending):
            self._pending = [item for item in self._pending if item.prompt_id != pid]
            heapq.heapify(self._pending)
            await self._status()
            return web.json_response({"cancelled": True})
        return web.json_response({"cancelled": False})

    @web.middleware
    async def _delay(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append(f"{request.method} {request.path}")
        if self.behaviour.response_delay and request.path not in ("/ws", "/api/ws"):
            await asyncio.sleep(self.behaviour.response_delay)
        return await handler(request)

    # -- WebSocket ------------------------------------------------------------------------

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        sid = request.query.get("clientId") or uuid.uuid4().hex
        self.ws_connections += 1
        self._sockets[sid] = ws  # a second socket with the same id replaces the first
        self._socket_opened.set()
        self.flags[sid] = False
        await ws.send_json({"type": "status", "data": {"status": {"exec_info": {
            "queue_remaining": self._remaining()}}, "sid": sid}})
        running = self._running
        if (running is not None and running.extra_data.get("client_id") == sid
                and self._current_node is not None):
            # The real server tells a reconnecting client which node runs, without a
            # prompt_id (trace reconnect_same_client_id_midrun).
            await ws.send_json({"type": "executing", "data": {"node": self._current_node}})
        first = True
        async for msg in ws:
            if msg.type == WSMsgType.TEXT and first:
                data = json.loads(msg.data)
                if data.get("type") == "feature_flags":
                    self.flags[sid] = bool((data.get("data") or {}).get(
                        "supports_preview_metadata"))
                    await ws.send_json({"type": "feature_flags", "data": {
                        "supports_preview_metadata": True, "max_upload_size": 104857600}})
            first = False
        if self._sockets.get(sid) is ws:
            del self._sockets[sid]
        return ws

    async def _send(self, client_id: str | None, kind: str, data: dict[str, Any], *,
                    broadcast: bool = False) -> None:
        """Route one message as the real server does (comfyui-api.md §5).

        ``status`` and ``execution_interrupted`` go to every socket; a prompt without a
        ``client_id`` sends no execution events at all, except ``progress_state``, which
        then goes to everyone; everything else goes to the prompt's socket only.
        """
        if self.behaviour.silent_ws and kind != "status":
            return
        if client_id is None and not broadcast and kind not in ("status", "progress_state"):
            return
        everyone = broadcast or client_id is None
        targets = (list(self._sockets.values()) if everyone
                   else [self._sockets[client_id]] if client_id in self._sockets else [])
        for ws in targets:
            if not ws.closed:
                with contextlib.suppress(ConnectionError):
                    await ws.send_json({"type": kind, "data": data})

    async def _status(self) -> None:
        await self._send(None, "status", {"status": {"exec_info": {
            "queue_remaining": self._remaining()}}}, broadcast=True)

    async def _send_binary(self, client_id: str | None, node: str, pid: str,
                           png: bytes) -> None:
        """A latent preview: type 4 with metadata when negotiated, else type 1 (PNG)."""
        ws = self._sockets.get(client_id) if client_id is not None else None
        if ws is None or ws.closed or self.behaviour.silent_ws:
            return
        if self.flags.get(str(client_id)):
            meta = json.dumps({"node_id": node, "prompt_id": pid, "display_node_id": node,
                               "parent_node_id": None, "real_node_id": node,
                               "image_type": "image/png"}).encode()
            frame = struct.pack(">II", 4, len(meta)) + meta + png
        else:
            frame = struct.pack(">II", 1, 2) + png
        with contextlib.suppress(ConnectionError):
            await ws.send_bytes(frame)

    def _remaining(self) -> int:
        return len(self._pending) + (1 if self._running else 0)

    # -- HTTP: prompts, queue, history ----------------------------------------------------

    async def post_prompt(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.Response(status=500, text="500 Internal Server Error\n\n"
                                "Server got itself in trouble", content_type="text/plain")
        number = next(self._counter)
        if "prompt" not in body:
            err = {"type": "no_prompt", "message": "No prompt provided",
                   "details": "No prompt provided", "extra_info": {}}
            return web.json_response({"error": err, "node_errors": {}}, status=400)
        prompt = body["prompt"]
        info = self.object_info()
        error, good, node_errors = validate(
            prompt, info, targets=body.get("partial_execution_targets"),
            input_exists=lambda name: self._input_path(name).is_file())
        if error is not None:
            return web.json_response(error, status=400)
        pid = str(body.get("prompt_id") or uuid.uuid4())
        if "number" in body:
            number = float(body["number"])
        elif body.get("front"):
            number = -number
        extra = dict(body.get("extra_data") or {})
        if "client_id" in body:
            extra["client_id"] = body["client_id"]
        heapq.heappush(self._pending, _Item(number, pid, prompt, extra, good))
        self.posted.append(pid)
        self.socket_open_at_post.append(body.get("client_id") in self._sockets)
        self._wakeup.set()
        await self._status()
        return web.json_response({"prompt_id": pid, "number": number, "node_errors": node_errors})

    def _input_path(self, name: str) -> Path:
        kind = "input"
        if name.endswith("]") and " [" in name:
            name, kind = name[:-1].rsplit(" [", 1)
        return self.root / kind / name

    async def get_prompt(self, request: web.Request) -> web.Response:
        return web.json_response({"exec_info": {"queue_remaining": self._remaining()}})

    def _queue_item(self, item: _Item) -> list[Any]:
        return [item.number, item.prompt_id, item.prompt, item.extra_data, item.outputs]

    async def get_queue(self, request: web.Request) -> web.Response:
        running = [self._queue_item(self._running)] if self._running else []
        return web.json_response({"queue_running": running,
                                  "queue_pending": [self._queue_item(i) for i in self._pending]})

    async def post_queue(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("clear"):
            self._pending.clear()
        delete = set(body.get("delete") or ())
        if delete:
            self._pending = [i for i in self._pending if i.prompt_id not in delete]
            heapq.heapify(self._pending)
        await self._status()
        return web.Response(status=200)

    async def post_interrupt(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else {}
        self.interrupts.append(body)
        target = (body or {}).get("prompt_id")
        if self._running and (target is None or target == self._running.prompt_id):
            self._interrupt = True
        return web.Response(status=200)

    async def get_history(self, request: web.Request) -> web.Response:
        items = list(self.history.items())
        if "max_items" in request.query:
            count = int(request.query["max_items"])
            if "offset" in request.query:
                start = int(request.query["offset"])
                items = items[start : start + count]
            else:
                items = items[-count:]
        return web.json_response(dict(items))

    async def get_history_one(self, request: web.Request) -> web.Response:
        pid = request.match_info["prompt_id"]
        return web.json_response({pid: self.history[pid]} if pid in self.history else {})

    async def post_history(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("clear"):
            self.history.clear()
        for pid in body.get("delete") or ():
            self.history.pop(pid, None)
        return web.Response(status=200)

    # -- HTTP: files ----------------------------------------------------------------------

    async def get_view(self, request: web.Request) -> web.StreamResponse:
        name = request.query.get("filename")
        if not name:
            return web.Response(status=404)
        kind = request.query.get("type", "output")
        if kind not in ("output", "input", "temp"):
            return web.Response(status=400)
        if name.startswith("/") or ".." in name:
            return web.Response(status=400)
        sub = request.query.get("subfolder", "")
        base = (self.root / kind).resolve()
        folder = (base / sub).resolve()
        if not folder.is_relative_to(base):
            return web.Response(status=403)
        path = folder / name
        if not path.is_file():
            return web.Response(status=404)
        return web.Response(body=path.read_bytes(), headers={
            "Content-Type": CONTENT_TYPES.get(path.suffix, "application/octet-stream"),
            "Content-Disposition": f'filename="{name}"'})

    async def post_upload(self, request: web.Request) -> web.Response:
        form = await request.post()
        part = form.get("image")
        if part is None or not hasattr(part, "file"):
            return web.Response(status=400)
        kind = str(form.get("type") or "input")
        sub = str(form.get("subfolder") or "")
        overwrite = str(form.get("overwrite") or "").lower() in ("true", "1")
        folder = (self.root / kind / sub).resolve()
        if not folder.is_relative_to((self.root / kind).resolve()):
            return web.Response(status=400)
        folder.mkdir(parents=True, exist_ok=True)
        data = part.file.read()
        name = Path(part.filename).name
        stem, suffix = Path(name).stem, Path(name).suffix
        path, n = folder / name, 1
        while path.exists() and not overwrite:
            if hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(data).digest():
                break  # the same bytes: deduplicated, no new file
            path = folder / f"{stem} ({n}){suffix}"
            n += 1
        path.write_bytes(data)
        self._info = None
        return web.json_response({"name": path.name, "subfolder": sub, "type": kind})

    # -- HTTP: info -----------------------------------------------------------------------

    async def get_info(self, request: web.Request) -> web.Response:
        return web.json_response(self.object_info())

    async def get_info_one(self, request: web.Request) -> web.Response:
        name = request.match_info["node_class"]
        info = self.object_info()
        return web.json_response({name: info[name]} if name in info else {})

    async def get_stats(self, request: web.Request) -> web.Response:
        return web.json_response({
            "system": {"os": "posix", "ram_total": 25276510208, "ram_free": 23676477440,
                       "comfyui_version": "0.3.64", "python_version": "3.11.7",
                       "pytorch_version": "2.13.0+cu130", "embedded_python": False,
                       "argv": ["main.py", "--cpu"]},
            "devices": [{"name": "cpu", "type": "cpu", "index": None,
                         "vram_total": 25276510208, "vram_free": 23676477440,
                         "torch_vram_total": 25276510208, "torch_vram_free": 23676477440}]})

    async def get_features(self, request: web.Request) -> web.Response:
        return web.json_response({"supports_preview_metadata": True,
                                  "max_upload_size": 104857600})

    async def get_models(self, request: web.Request) -> web.Response:
        return web.json_response(sorted(self.models))

    async def get_folder(self, request: web.Request) -> web.Response:
        folder = request.match_info["folder"]
        if folder not in self.models:
            return web.Response(status=404)
        return web.json_response(self.models[folder])

    async def get_embeddings(self, request: web.Request) -> web.Response:
        return web.json_response([])

    async def post_free(self, request: web.Request) -> web.Response:
        self.free_calls.append(await request.json())
        return web.Response(status=200)

    # -- execution ------------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            while not self._pending:
                self._wakeup.clear()
                await self._wakeup.wait()
            item = heapq.heappop(self._pending)
            self._running = item
            self._interrupt = False
            await self._status()
            try:
                await self._execute(item)
            finally:
                self._running = None
            await self._status()
            await self._send(item.extra_data.get("client_id"), "executing",
                             {"node": None, "prompt_id": item.prompt_id})

    async def _execute(self, item: _Item) -> None:
        """Run one prompt, sending what the real server sends, in its order.

        Per node (traces blur_saveimage, two_prompts_queued): ``progress_state`` with the
        node running -> ``executing`` -> for a sampler, per step ``progress_state`` (value
        = step) then ``progress`` (a binary preview before it with preview metadata, after
        it without) -> ``executed`` for an output node -> ``progress_state`` with the node
        finished. ``progress_state`` always carries every node seen so far.
        """
        pid, cid, prompt = item.prompt_id, item.extra_data.get("client_id"), item.prompt
        self.executed.append(pid)
        messages: list[list[Any]] = []
        states: dict[str, dict[str, Any]] = {}

        async def event(kind: str, data: dict[str, Any], *, keep: bool = False) -> None:
            data = {**data, "prompt_id": pid} if "prompt_id" not in data else data
            if keep:
                messages.append([kind, data])
            await self._send(cid, kind, data)

        async def state(nid: str, value: float, most: float, running: bool) -> None:
            states[nid] = {"value": value, "max": most, "state": "running" if running
                           else "finished", "node_id": nid, "prompt_id": pid,
                           "display_node_id": nid, "parent_node_id": None, "real_node_id": nid}
            await event("progress_state", {"prompt_id": pid,
                                           "nodes": {k: dict(v) for k, v in states.items()}})

        def now() -> int:
            return int(time.time() * 1000)

        started = time.monotonic()
        object_info = self.object_info()
        order = execution_order(prompt, item.outputs)
        sigs = signatures(prompt, order)
        cached = [n for n in order if sigs[n] in self._cache]
        await event("execution_start", {"prompt_id": pid, "timestamp": now()}, keep=True)
        await event("execution_cached", {"nodes": cached, "prompt_id": pid,
                                         "timestamp": now()}, keep=True)
        values: dict[str, tuple[Any, ...]] = {}
        outputs: dict[str, Any] = {}
        new_cache: dict[str, tuple[tuple[Any, ...], dict[str, Any] | None]] = {}
        samplers = [n for n in order if prompt[n]["class_type"] in SAMPLER_CLASSES]
        progress_nodes = samplers or [n for n in order if self.behaviour.step_class
                                      and prompt[n]["class_type"] == self.behaviour.step_class]
        live = [n for n in progress_nodes if n not in cached]
        total_steps = max(1, self.behaviour.steps) * max(1, len(live))
        step_no = 0
        executed: list[str] = []
        for nid in order:
            class_type = prompt[nid]["class_type"]
            info = object_info[class_type]
            if nid in cached:
                values[nid], ui = self._cache[sigs[nid]]
                new_cache[sigs[nid]] = (values[nid], ui)
                if ui is not None:
                    outputs[nid] = ui
                    await event("executed", {"node": nid, "display_node": nid, "output": ui,
                                             "prompt_id": pid})
                    await state(nid, 1, 1, False)
                continue
            await state(nid, 0.0, 1.0, True)
            self._current_node = nid
            await event("executing", {"node": nid, "display_node": nid, "prompt_id": pid})
            if self._interrupt:
                return await self._interrupted(item, nid, class_type, executed, messages)
            args = {k: (values[str(v[0])][v[1]] if isinstance(v, list) else v)
                    for k, v in (prompt[nid].get("inputs") or {}).items()}
            if nid in live:
                steps = max(1, self.behaviour.steps)
                for step in range(1, steps + 1):
                    step_no += 1
                    # Deadlines from the job's start: the whole job takes run_seconds
                    # (the fake's own work fits in the last fifth), not run_seconds + work.
                    due = started + 0.8 * self.behaviour.run_seconds * step_no / total_steps
                    await asyncio.sleep(max(0.0, due - time.monotonic()))
                    if self.behaviour.crash_at_step == step_no:
                        asyncio.get_running_loop().create_task(self.kill())
                        await asyncio.sleep(3600)  # cancelled by kill()
                    if self.behaviour.drop_ws_at_step == step_no:
                        self.behaviour.drop_ws_at_step = None
                        self.behaviour.silent_ws = self.behaviour.silent_after_drop
                        for ws in list(self._sockets.values()):
                            await ws.close()
                    if self._interrupt:
                        return await self._interrupted(item, nid, class_type, executed, messages)
                    await state(nid, float(step), float(steps), True)
                    with_meta = cid is not None and self.flags.get(str(cid), False)
                    if self.behaviour.previews and with_meta:
                        await self._send_binary(cid, nid, pid, _PREVIEW_PNG)
                    await event("progress", {"value": step, "max": steps, "prompt_id": pid,
                                             "node": nid})
                    if self.behaviour.previews and not with_meta:
                        await self._send_binary(cid, nid, pid, _PREVIEW_PNG)
            try:
                if class_type == self.behaviour.fail_class:
                    raise NodeFailure("torch.OutOfMemoryError", self.behaviour.fail_message)
                if info["output_node"]:
                    ui: dict[str, Any] | None = await asyncio.to_thread(
                        self.evaluator.save, class_type, args)
                    values[nid] = ()
                else:
                    values[nid], ui = await asyncio.to_thread(self.evaluator.run, class_type, args)
            except NodeFailure as failure:
                data = {"prompt_id": pid, "node_id": nid, "node_type": class_type,
                        "executed": executed, "exception_message": str(failure),
                        "exception_type": failure.exception_type,
                        "traceback": ["  File \"<fake>/execution.py\", line 496, in execute\n"],
                        "current_inputs": {k: [str(v)[:50]] for k, v in args.items()},
                        "current_outputs": order, "timestamp": now()}
                await event("execution_error", data, keep=True)
                self._store(item, outputs, "error", messages)
                return None
            executed.append(nid)
            new_cache[sigs[nid]] = (values[nid], ui)
            if ui is not None:
                outputs[nid] = ui
                lose = self.behaviour.lose_executed_of == nid
                listening = await self._drop_sockets() if lose else []
                await event("executed", {"node": nid, "display_node": nid, "output": ui,
                                         "prompt_id": pid})
                if lose:
                    self.behaviour.lose_executed_of = None
                    await self._sockets_back(listening)
            await state(nid, 1.0, 1.0, False)
        self._cache = new_cache
        self._current_node = None
        await asyncio.sleep(max(0.0, started + self.behaviour.run_seconds - time.monotonic()))
        await event("execution_success", {"prompt_id": pid, "timestamp": now()}, keep=True)
        self.completed.append(pid)
        self._store(item, outputs, "success", messages)
        return None

    async def _drop_sockets(self) -> list[str]:
        """Close every socket and forget it at once, as a dropped connection is; their ids."""
        sids = list(self._sockets)
        for sid in sids:
            await self._sockets.pop(sid).close()
        return sids

    async def _sockets_back(self, sids: list[str]) -> None:
        """Wait until every client in ``sids`` has reconnected."""
        while not all(sid in self._sockets for sid in sids):
            self._socket_opened.clear()
            await self._socket_opened.wait()

    async def _interrupted(self, item: _Item, nid: str, class_type: str, executed: list[str],
                           messages: list[list[Any]]) -> None:
        data = {"prompt_id": item.prompt_id, "node_id": nid, "node_type": class_type,
                "executed": executed, "timestamp": int(time.time() * 1000)}
        messages.append(["execution_interrupted", data])
        await self._send(None, "execution_interrupted", data, broadcast=True)
        self._store(item, {}, "error", messages)

    def _store(self, item: _Item, outputs: dict[str, Any], status: str,
               messages: list[list[Any]]) -> None:
        ok = status == "success"
        self.history[item.prompt_id] = {
            "prompt": self._queue_item(item), "outputs": outputs,
            "status": {"status_str": status, "completed": ok, "messages": messages},
            "meta": {n: {"node_id": n, "display_node": n, "parent_node": None,
                         "real_node_id": n} for n in outputs} if ok else {}}


MANAGER_PACKS = {
    # registry id (as ComfyUI-Manager's getmappings keys it) -> (fake pack, node classes)
    "comfyui-framepackwrapper": ("framepack", [
        "DownloadAndLoadFramePackModel", "FramePackFindNearestBucket", "FramePackLoraSelect",
        "FramePackSampler", "FramePackSingleFrameSampler", "FramePackTorchCompileSettings",
        "LoadFramePackModel"]),
}
MANAGER_MODEL_TYPES = {"checkpoints": "checkpoint", "loras": "lora", "vae": "VAE",
                       "diffusion_models": "diffusion_model", "text_encoders": "clip",
                       "clip_vision": "clip_vision"}


class FakeManager:
    """ComfyUI-Manager's routes (manager_server.py): node-pack mappings, the model list,
    the install queue. Packs load at the server's next start, as on a real server;
    models are there at once."""

    def __init__(self, fake: FakeComfyUI) -> None:
        self.fake = fake
        self.queue: list[tuple[str, dict[str, Any]]] = []
        self.done: list[tuple[str, dict[str, Any]]] = []
        self.installed_packs: list[str] = []
        self.processing = False
        self.reboot_allowed = True  # False: a security_level that forbids it (403)
        self.reboots = 0

    def activate(self) -> None:
        self.fake.packs = tuple(dict.fromkeys([*self.fake.packs, *self.installed_packs]))
        self.fake._info = None

    def routes(self) -> list[tuple[str, str, Any]]:
        return [("GET", "/manager/version", self.version),
                ("GET", "/customnode/getmappings", self.mappings),
                ("GET", "/externalmodel/getlist", self.model_list),
                ("POST", "/manager/queue/install", self.install),
                ("POST", "/manager/queue/install_model", self.install_model),
                ("GET", "/manager/queue/start", self.start),
                ("GET", "/manager/queue/status", self.status),
                ("GET", "/manager/reboot", self.reboot)]

    async def reboot(self, request: web.Request) -> web.Response:
        """Restart the server as the Manager does: the process is replaced (``os.execv``)
        while the request is open, so it never gets an answer; the new one starts with the
        installed packs loaded."""
        if not self.reboot_allowed:
            return web.Response(status=403)
        self.reboots += 1
        asyncio.get_running_loop().create_task(self._replace_process())
        await asyncio.Event().wait()  # cancelled when the server goes: the connection drops
        raise AssertionError("unreachable")

    async def _replace_process(self) -> None:
        await self.fake.kill()
        await asyncio.sleep(0.3)  # a real one takes seconds to import its packs
        await self.fake.start()

    async def version(self, request: web.Request) -> web.Response:
        return web.Response(text="V3.37")

    async def mappings(self, request: web.Request) -> web.Response:
        if "mode" not in request.query:
            return web.Response(status=500)  # the real handler reads query["mode"]
        return web.json_response({key: [nodes, {"title_aux": key}]
                                  for key, (_, nodes) in MANAGER_PACKS.items()})

    async def model_list(self, request: web.Request) -> web.Response:
        if "mode" not in request.query:
            return web.Response(status=500)
        models = []
        for folder, files in ALL_MODELS.items():
            for file in files:
                models.append({
                    "name": file, "type": MANAGER_MODEL_TYPES.get(folder, folder),
                    "base": "", "save_path": "default", "description": "",
                    "reference": "", "filename": file,
                    "url": f"https://huggingface.co/fake/{file}",
                    "installed": str(file in self.fake.models.get(folder, ()))})
        return web.json_response({"models": models})

    async def install(self, request: web.Request) -> web.Response:
        body = await request.json()
        if not {"version", "channel", "mode"} <= set(body):
            return web.Response(status=500)  # KeyError in the real handler
        if body["version"] != "unknown" and body.get("id") not in MANAGER_PACKS:
            return web.Response(status=404, text="unknown node pack")
        self.queue.append(("install", body))
        return web.Response(status=200)

    async def install_model(self, request: web.Request) -> web.Response:
        body = await request.json()
        if not str(body.get("filename", "")).endswith(".safetensors"):
            return web.Response(status=403, text="A security error has occurred.")
        self.queue.append(("install-model", body))
        return web.Response(status=200)

    async def start(self, request: web.Request) -> web.Response:
        if self.processing:
            return web.Response(status=201)
        self.processing = True
        self.done = []
        asyncio.get_running_loop().create_task(self._work())
        return web.Response(status=200)

    async def _work(self) -> None:
        while self.queue:
            kind, body = self.queue.pop(0)
            await asyncio.sleep(0.01)
            if kind == "install":
                self.installed_packs.append(MANAGER_PACKS[body["id"]][0])
            else:
                folder = next(f for f, files in ALL_MODELS.items() if body["filename"] in files)
                self.fake.models.setdefault(folder, []).append(body["filename"])
                self.fake._info = None
            self.done.append((kind, body))
        self.processing = False

    async def status(self, request: web.Request) -> web.Response:
        done = len(self.done)
        return web.json_response({"total_count": done + len(self.queue), "done_count": done,
                                  "in_progress_count": 0, "is_processing": self.processing})


class FakeServer:
    """Runs a :class:`FakeComfyUI` on 127.0.0.1 in a background thread with its own loop."""

    def __init__(self, fake: FakeComfyUI) -> None:
        self.fake = fake
        self._paused = threading.Event()
        self._released = threading.Event()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                        name="fake-comfyui")
        self._thread.start()
        self.call(self._init())
        self.call(fake.start())

    async def _init(self) -> None:
        self.fake._reset_memory()  # asyncio objects bound to this loop

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    @property
    def url(self) -> str:
        return self.fake.url

    @property
    def behaviour(self) -> Behaviour:
        return self.fake.behaviour

    def kill(self) -> None:
        self.call(self.fake.kill())

    def restart(self) -> None:
        self.call(self.fake.start())

    def pause(self) -> None:
        """Freeze the server like SIGSTOP: its loop blocks, so connections are accepted by
        the kernel but nothing is answered, no WebSocket ping is returned, no job runs."""
        if self._paused.is_set():
            return
        self._paused.set()
        self._released.clear()
        self.loop.call_soon_threadsafe(self._freeze)

    def _freeze(self) -> None:
        self._released.wait()  # blocks the server's whole event loop on purpose

    def resume(self) -> None:
        """SIGCONT: the loop runs on where it stopped."""
        self._paused.clear()
        self._released.set()

    def close(self) -> None:
        self.resume()
        self.call(self.fake.kill())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()
