"""The async ComfyUI client: one server, HTTP through httpx, events through one WebSocket.

Protocol rules (comfyui-api.md §15) this client follows:

- one stable ``client_id`` per client; the WebSocket is connected *before* any POST;
- every prompt is posted with our own ``prompt_id`` so its events can be matched even
  when they arrive before the POST returns, and so an ambiguous POST can be checked in
  ``/queue`` instead of being posted twice;
- ``node_errors`` on a 200 is an error (the queued job is cancelled), a 400 becomes a
  :class:`ComfyValidationError` naming each failing node and input;
- terminal events are ``execution_success``/``execution_error``/``execution_interrupted``;
  after a reconnect, or a silent WebSocket, ``/queue`` and ``/history`` say what happened;
- every call has a timeout from :class:`Timeouts`; connection errors are retried with
  backoff (:class:`RetryPolicy`) and then raised as :class:`ComfyConnectionError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
import websockets
from websockets.asyncio.client import connect as ws_connect_default

from studio.backends.comfyui._exceptions import (
    ComfyConnectionError,
    ComfyError,
    ComfyInterruptedError,
    ComfyJobLostError,
    ComfyProtocolError,
    ComfyTimeoutError,
)
from studio.backends.comfyui._files import safe_join
from studio.backends.comfyui._messages import (
    BinaryPreview,
    Executed,
    Executing,
    ExecutionCached,
    ExecutionError,
    ExecutionInterrupted,
    ExecutionSuccess,
    HistoryEntry,
    OutputFile,
    Progress,
    ProgressState,
    Status,
    WsEvent,
    execution_error,
    output_files,
    parse_binary_frame,
    parse_history_entry,
    parse_ws_message,
    terminal_error,
    validation_error,
)
from studio.backends.comfyui._progress import ProgressTracker, RunProgress
from studio.backends.comfyui._timeouts import DEFAULT_RETRY_POLICY, DEFAULT_TIMEOUTS, RetryPolicy, Timeouts

__all__ = [
    "AsyncComfyClient",
    "ClientState",
    "Preview",
    "QueueState",
    "RunProgress",
    "RunResult",
    "UploadedImage",
]

logger = logging.getLogger("studio.backends.comfyui")

WS_MAX_FRAME = 64 * 1024 * 1024
_RETRY_STATUS = {502, 503, 504}
QUEUE_POLL_INTERVAL = 1.0
"""While a job waits in the queue, ``GET /queue`` is asked this often for its position."""
FEATURE_FLAGS = {"type": "feature_flags", "data": {"supports_preview_metadata": True}}


class ClientState(enum.Enum):
    UNOPENED = 1
    OPENED = 2
    CLOSED = 3


class WsConnection(Protocol):
    """The part of a WebSocket connection the client uses (``websockets`` fits it)."""

    async def recv(self) -> str | bytes: ...
    async def send(self, message: str) -> None: ...
    async def close(self) -> None: ...


WsConnect = Callable[[str, float | None], Awaitable[WsConnection]]


def _ws_connector(keepalive: float | None) -> WsConnect:
    async def connect(url: str, timeout: float | None) -> WsConnection:
        return await ws_connect_default(
            url, open_timeout=timeout, max_size=WS_MAX_FRAME, ping_interval=keepalive,
            ping_timeout=keepalive, close_timeout=timeout,
        )
    return connect


@dataclass(frozen=True)
class UploadedImage:
    """Where the server stored an upload; ``reference`` is the value for LoadImage."""

    name: str
    subfolder: str
    type: str

    @property
    def reference(self) -> str:
        path = f"{self.subfolder}/{self.name}" if self.subfolder else self.name
        return path if self.type == "input" else f"{path} [{self.type}]"


@dataclass(frozen=True)
class QueueState:
    """``GET /queue``: running ids, and pending ids in run order (sorted by number)."""

    running: tuple[str, ...]
    pending: tuple[str, ...]

    def __contains__(self, prompt_id: object) -> bool:
        return prompt_id in self.running or prompt_id in self.pending


@dataclass(frozen=True)
class Preview:
    """A latent preview a sampler sent (binary frame), attributed to its job."""

    prompt_id: str
    node: str | None
    image_format: str
    data: bytes


@dataclass(frozen=True)
class RunResult:
    """A finished job: its outputs as ComfyUI reported them."""

    prompt_id: str
    server: str
    outputs: Mapping[str, Mapping[str, Any]]
    cached_nodes: tuple[str, ...] = ()
    from_history: bool = False

    @property
    def files(self) -> list[OutputFile]:
        return output_files(self.outputs)

    def files_of(self, node_id: str) -> list[OutputFile]:
        return [f for f in self.files if f.node_id == node_id]


class _Reconnected:
    """Put in waiters' queues: events may have been missed, ask /history."""


@dataclass
class _ServerGone:
    error: ComfyConnectionError


_Item = WsEvent | Preview | _Reconnected | _ServerGone  # what a job's queue holds


@dataclass
class _Waiter:
    queue: asyncio.Queue[_Item] = field(default_factory=asyncio.Queue)
    tracker: ProgressTracker | None = None

    async def next(self, limit: float | None) -> _Item | None:
        """The next event for the job, or ``None`` when ``limit`` seconds pass first.

        Not ``asyncio.wait_for``: on 3.11 it wraps every ``get()`` in a Task of its
        own, a Task and a loop iteration for each of the dozen messages of a job
        (bench_comfyui's overhead ratio, median of 8 rounds, went from 1.13x to
        1.06x). Events come in bursts, so most are already queued.
        """
        if not self.queue.empty():
            return self.queue.get_nowait()
        try:
            async with asyncio.timeout(limit):
                return await self.queue.get()
        except TimeoutError:
            return None


class AsyncComfyClient:
    """Talks to one ComfyUI server.

    Use as ``async with AsyncComfyClient("http://gpu1:8188") as client: ...``.

    Args:
        base_url: The server, e.g. ``http://gpu1:8188`` (a path prefix is kept).
        client_id: The stable WebSocket id; a random one when omitted.
        timeouts: Per-phase limits.
        retry: How connection errors are retried.
        transport: An httpx transport (tests inject one); the default opens sockets.
        ws_connect: ``async (url, timeout) -> connection`` (tests inject one).
        on_status: Called with ``queue_remaining`` on every ``status`` message.
    """

    def __init__(
        self,
        base_url: str,
        *,
        client_id: str | None = None,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        retry: RetryPolicy = DEFAULT_RETRY_POLICY,
        transport: httpx.AsyncBaseTransport | None = None,
        ws_connect: WsConnect | None = None,
        on_status: Callable[[int], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id or uuid.uuid4().hex
        self.timeouts = timeouts
        self.retry = retry
        self.queue_remaining: int | None = None
        self._on_status = on_status
        self._ws_connect = ws_connect or _ws_connector(timeouts.keepalive)
        self._last_active: str | None = None  # the job type-1 previews belong to
        self._jobs_api: bool | None = None  # whether the server has /api/jobs
        self._job_cancel: bool | None = None  # ... and POST /api/jobs/{id}/cancel
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            transport=transport,
            timeout=httpx.Timeout(connect=timeouts.connect, read=timeouts.read,
                                  write=timeouts.read, pool=timeouts.connect),
        )
        self._state = ClientState.UNOPENED
        self._ws: WsConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._ws_lock = asyncio.Lock()
        self._waiters: dict[str, _Waiter] = {}

    def __repr__(self) -> str:
        return f"<AsyncComfyClient {self.base_url} {self._state.name}>"

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> AsyncComfyClient:
        self._check_usable()
        self._state = ClientState.OPENED
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the WebSocket and the HTTP connections. Idempotent."""
        if self._state is ClientState.CLOSED:
            return
        self._state = ClientState.CLOSED
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        await self._close_ws()
        await self._http.aclose()

    def _check_usable(self) -> None:
        if self._state is ClientState.CLOSED:
            raise RuntimeError(f"The ComfyUI client for {self.base_url} is closed; "
                               "create a new AsyncComfyClient.")

    # -- HTTP ------------------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        files: Any = None,
        data: Mapping[str, str] | None = None,
        idempotent: bool = True,
    ) -> httpx.Response:
        """Send one request with retries; translate httpx errors to ComfyErrors.

        Non-idempotent requests are retried only when the connection never opened.
        """
        self._check_usable()
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._http.request(method, path, json=json, params=params,
                                                    files=files, data=data)
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                failure: Exception = error
                if not idempotent and attempt >= self.retry.attempts:
                    raise ComfyConnectionError(
                        f"cannot reach ComfyUI at {self.base_url} ({method} {path}: "
                        f"{_describe(error)}); is the server running?", server=self.base_url,
                        refused=isinstance(error, httpx.ConnectError)) from error
            except httpx.TimeoutException as error:
                if not idempotent or attempt >= self.retry.attempts:
                    raise ComfyTimeoutError(
                        f"{self.base_url} did not answer {method} {path} within "
                        f"{self.timeouts.read} s", server=self.base_url, phase="read",
                    ) from error
                failure = error
            except httpx.TransportError as error:
                if not idempotent:
                    raise ComfyConnectionError(
                        f"connection to {self.base_url} failed during {method} {path}: "
                        f"{_describe(error)}", server=self.base_url,
                    ) from error
                failure = error
            else:
                if response.status_code not in _RETRY_STATUS or attempt >= self.retry.attempts:
                    return response
                failure = ComfyConnectionError(f"HTTP {response.status_code}",
                                               server=self.base_url)
            if attempt >= self.retry.attempts:
                raise ComfyConnectionError(
                    f"cannot reach ComfyUI at {self.base_url} ({method} {path} failed "
                    f"{attempt} times: {_describe(failure)}); is the server "
                    "running and is COMFYUI_URLS right?", server=self.base_url,
                    refused=isinstance(failure, httpx.ConnectError),
                ) from failure
            await asyncio.sleep(self.retry.delay(attempt))

    async def _get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        response = await self._request("GET", path, params=params)
        return self._json(response, f"GET {path}")

    def _json(self, response: httpx.Response, what: str) -> Any:
        if response.status_code != 200:
            raise ComfyProtocolError(
                f"{what} on {self.base_url} returned HTTP {response.status_code}: "
                f"{response.text[:200]}", server=self.base_url)
        try:
            return response.json()
        except ValueError as error:
            raise ComfyProtocolError(f"{what} on {self.base_url} returned non-JSON",
                                     server=self.base_url) from error

    async def system_stats(self) -> dict[str, Any]:
        """``GET /system_stats`` (the health check)."""
        result: dict[str, Any] = await self._get_json("/system_stats")
        return result

    async def ping(self, timeout: float | None = None) -> bool:
        """One ``GET /system_stats`` without retries: does the server answer now?"""
        self._check_usable()
        try:
            response = await self._http.get("/system_stats", timeout=timeout or
                                            self.timeouts.connect)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def object_info(self, node_class: str | None = None) -> dict[str, Any]:
        """``GET /object_info`` (all node schemas) or one class (``{}`` if unknown)."""
        path = "/object_info" if node_class is None else f"/object_info/{node_class}"
        result: dict[str, Any] = await self._get_json(path)
        return result

    async def models(self, folder: str) -> list[str] | None:
        """Files in a model folder (``GET /models/{folder}``); ``None`` for an unknown one."""
        response = await self._request("GET", f"/models/{folder}")
        if response.status_code == 404:
            return None
        return list(self._json(response, f"GET /models/{folder}"))

    async def queue(self) -> QueueState:
        """``GET /queue``, pending sorted by ``number`` (the server sends heap order)."""
        body = await self._get_json("/queue")
        try:
            running = tuple(str(item[1]) for item in body.get("queue_running", ()))
            pending = sorted(body.get("queue_pending", ()), key=lambda item: float(item[0]))
        except (AttributeError, IndexError, TypeError, ValueError) as error:
            raise ComfyProtocolError(f"unreadable /queue from {self.base_url}",
                                     server=self.base_url) from error
        return QueueState(running, tuple(str(item[1]) for item in pending))

    async def queue_size(self) -> int:
        """``GET /prompt``: running + pending jobs, everyone's."""
        body = await self._get_json("/prompt")
        return int((body.get("exec_info") or {}).get("queue_remaining", 0))

    async def history(self, prompt_id: str) -> HistoryEntry | None:
        """One history entry; ``None`` while the job is pending, running or unknown."""
        return parse_history_entry(prompt_id, await self._get_json(f"/history/{prompt_id}"))

    async def free(self, *, unload_models: bool = True, free_memory: bool = True) -> None:
        """``POST /free``: unload models between model families."""
        response = await self._request(
            "POST", "/free", json={"unload_models": unload_models, "free_memory": free_memory})
        if response.status_code != 200:
            raise ComfyProtocolError(f"POST /free on {self.base_url} returned HTTP "
                                     f"{response.status_code}", server=self.base_url)

    async def cancel(self, prompt_id: str) -> None:
        """Cancel one job: delete it while it waits, interrupt it while it runs.

        Newer ComfyUI does this itself, atomically, in ``POST /api/jobs/{id}/cancel``
        (it interrupts the job only if it is still the one running). On older servers
        the interrupt names the job and is sent only when the job runs: a server too
        old to read ``prompt_id`` would otherwise stop whatever runs, someone else's job.
        """
        if await self._cancel_by_jobs_api(prompt_id):
            return
        state, _ = await self.job_state(prompt_id)
        if state == "pending":
            await self._request("POST", "/queue", json={"delete": [prompt_id]})
            state, _ = await self.job_state(prompt_id)  # it may have just started
        if state == "running":
            await self._request("POST", "/interrupt", json={"prompt_id": prompt_id})

    async def _cancel_by_jobs_api(self, prompt_id: str) -> bool:
        """Whether the server took the cancel through its jobs API (``False``: it has none).

        ``/api/jobs`` came before its cancel route, so the route is tried, not assumed.
        """
        if self._job_cancel is False or not await self._has_jobs_api():
            return False
        response = await self._request("POST", f"/api/jobs/{prompt_id}/cancel")
        body = _maybe_json(response) if response.status_code == 200 else None
        self._job_cancel = isinstance(body, dict) and "cancelled" in body
        return self._job_cancel

    async def _has_jobs_api(self) -> bool:
        """Newer ComfyUI serves ``/api/jobs`` (one job's state in one request)."""
        if self._jobs_api is None:
            try:
                response = await self._request("GET", "/api/jobs", params={"limit": "1"})
                body = _maybe_json(response) if response.status_code == 200 else None
                self._jobs_api = isinstance(body, dict) and "jobs" in body
            except (ComfyError, TypeError):
                self._jobs_api = False
        return self._jobs_api

    async def job_state(self, prompt_id: str) -> tuple[str, HistoryEntry | None]:
        """``(state, entry)``: ``pending``, ``running``, ``done`` (with its history entry)
        or ``unknown``. Uses ``GET /api/jobs/{id}`` where the server has it, else
        ``/queue`` and ``/history``."""
        if await self._has_jobs_api():
            response = await self._request("GET", f"/api/jobs/{prompt_id}")
            if response.status_code == 404:
                return "unknown", None
            job = self._json(response, f"GET /api/jobs/{prompt_id}")
            status = str(job.get("status", ""))
            if status == "pending":
                return "pending", None
            if status == "in_progress":
                return "running", None
            if status in ("completed", "failed", "cancelled"):  # cancelled: interrupted
                return "done", parse_history_entry(prompt_id, {prompt_id: {
                    "outputs": job.get("outputs") or {},
                    "status": job.get("execution_status") or {
                        "status_str": "success" if status == "completed" else "error",
                        "completed": status == "completed", "messages": []}}})
            return "unknown", None
        queue = await self.queue()
        if prompt_id in queue.running:
            return "running", None
        if prompt_id in queue.pending:
            return "pending", None
        entry = await self.history(prompt_id)
        return ("done", entry) if entry is not None else ("unknown", None)

    async def upload_image(
        self,
        content: bytes | Path,
        *,
        name: str,
        subfolder: str = "",
        type: str = "input",
        overwrite: bool = False,
    ) -> UploadedImage:
        """``POST /upload/image``; use the returned name (the server may rename).

        Raises:
            ComfyProtocolError: the server refused the upload.
        """
        data = content.read_bytes() if isinstance(content, Path) else content
        form = {"type": type, "subfolder": subfolder, "overwrite": "true" if overwrite else "false"}
        response = await self._request(
            "POST", "/upload/image", files={"image": (name, data, "image/png")}, data=form)
        body = self._json(response, "POST /upload/image")
        try:
            return UploadedImage(str(body["name"]), str(body.get("subfolder", "")),
                                 str(body.get("type", type)))
        except (KeyError, TypeError) as error:
            raise ComfyProtocolError(f"unreadable upload answer from {self.base_url}",
                                     server=self.base_url) from error

    async def view(self, file: OutputFile) -> bytes:
        """Fetch one output through ``GET /view``."""
        response = await self._request("GET", "/view", params=_view_params(file))
        if response.status_code != 200:
            raise ComfyProtocolError(
                f"GET /view {file.subfolder}/{file.filename} on {self.base_url} returned HTTP "
                f"{response.status_code}", server=self.base_url)
        return response.content

    async def download(self, file: OutputFile, root: Path, *, name: str | None = None) -> Path:
        """Save one output under ``root`` and return its path.

        The path is ``root/<subfolder>/<filename>`` as the server named it, or
        ``root/<name>`` when ``name`` is given; either way it never leaves ``root``.

        Raises:
            UnsafePathError: the server-supplied names would escape ``root``.
        """
        if name is None:
            target = safe_join(root, file.subfolder, file.filename, server=self.base_url)
        else:
            target = safe_join(root, "", name, server=self.base_url)
        content = await self.view(file)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        partial.write_bytes(content)
        partial.replace(target)
        return target

    # -- WebSocket -------------------------------------------------------------------------

    @property
    def ws_url(self) -> str:
        scheme, rest = self.base_url.split("://", 1)
        return f"{'wss' if scheme == 'https' else 'ws'}://{rest}/ws?clientId={self.client_id}"

    async def connect(self) -> None:
        """Open the WebSocket now (``submit`` does it on demand)."""
        self._check_usable()
        async with self._ws_lock:
            if self._reader is not None and not self._reader.done():
                return
            self._ws = await self._open_ws()
            self._reader = asyncio.create_task(self._read_loop(), name=f"comfy-ws {self.base_url}")

    async def _open_ws(self) -> WsConnection:
        attempt = 0
        while True:
            attempt += 1
            try:
                ws = await self._ws_connect(self.ws_url, self.timeouts.connect)
                first = await asyncio.wait_for(ws.recv(), self.timeouts.connect)
                # Must be our first message: previews then carry their job and node.
                await ws.send(json.dumps(FEATURE_FLAGS))
            except (OSError, TimeoutError, websockets.WebSocketException) as error:
                if attempt >= self.retry.attempts:
                    raise ComfyConnectionError(
                        f"cannot open the WebSocket of ComfyUI at {self.base_url} "
                        f"({_describe(error)}); is the server running?",
                        server=self.base_url,
                        refused=isinstance(error, ConnectionRefusedError)) from error
                await asyncio.sleep(self.retry.delay(attempt))
                continue
            if isinstance(first, str):
                self._handle(parse_ws_message(first))
            return ws

    async def _close_ws(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()

    async def _read_loop(self) -> None:
        while True:
            ws = self._ws
            assert ws is not None
            try:
                while True:
                    frame = await ws.recv()
                    try:
                        if isinstance(frame, str):
                            self._handle(parse_ws_message(frame))
                        else:
                            self._handle_binary(parse_binary_frame(frame))
                    except ComfyProtocolError:
                        logger.warning("ignored an unreadable message from %s", self.base_url)
            except (OSError, websockets.WebSocketException) as error:
                logger.info("WebSocket to %s dropped: %s", self.base_url, error)
            await self._close_ws()
            try:
                self._ws = await self._open_ws()
            except ComfyConnectionError as error:
                for waiter in self._waiters.values():
                    waiter.queue.put_nowait(_ServerGone(error))
                return
            for waiter in self._waiters.values():
                waiter.queue.put_nowait(_Reconnected())

    def _handle(self, event: WsEvent) -> None:
        if isinstance(event, Status):
            self.queue_remaining = event.queue_remaining
            if self._on_status is not None:
                self._on_status(event.queue_remaining)
            return
        if isinstance(event, Executing | Progress):
            self._last_active = event.prompt_id
        if event.prompt_id is not None and event.prompt_id in self._waiters:
            self._waiters[event.prompt_id].queue.put_nowait(event)

    def _handle_binary(self, frame: BinaryPreview) -> None:
        """Previews: type 4 names its job and node; type 1 belongs to the last active job."""
        if frame.event_type not in (1, 4):
            return
        pid = frame.metadata.get("prompt_id") if frame.event_type == 4 else self._last_active
        if pid is not None and str(pid) in self._waiters:
            node = frame.metadata.get("node_id")
            self._waiters[str(pid)].queue.put_nowait(
                Preview(str(pid), None if node is None else str(node), frame.image_format,
                        frame.data))

    # -- jobs ------------------------------------------------------------------------------

    async def submit(
        self,
        graph: Mapping[str, Any],
        *,
        prompt_id: str | None = None,
        extra_data: Mapping[str, Any] | None = None,
        heavy_nodes: Sequence[str] = (),
    ) -> str:
        """Queue an API-format graph and return its prompt id (ours).

        Events for the job are buffered from before the POST until :meth:`wait`.

        Raises:
            ComfyValidationError: HTTP 400, or ``node_errors`` on a 200 (job cancelled).
            ComfyConnectionError: the server cannot be reached.
        """
        await self.connect()
        pid = prompt_id or str(uuid.uuid4())
        self._waiters[pid] = _Waiter(tracker=ProgressTracker(pid, graph, heavy_nodes))
        body = {"prompt": graph, "client_id": self.client_id, "prompt_id": pid,
                "extra_data": dict(extra_data or {})}
        try:
            response = await self._post_prompt(body, pid)
            if response is None:  # the POST was ambiguous and the job is known: submitted
                return pid
            if response.status_code == 400:
                raise validation_error(_maybe_json(response), server=self.base_url,
                                       status_code=400, prompt_id=pid)
            answer = self._json(response, "POST /prompt")
            if answer.get("node_errors"):
                with contextlib.suppress(ComfyError):
                    await self.cancel(pid)
                raise validation_error(answer, server=self.base_url, status_code=200,
                                       prompt_id=pid)
        except BaseException:
            self._waiters.pop(pid, None)
            raise
        return pid

    async def _post_prompt(self, body: dict[str, Any], pid: str) -> httpx.Response | None:
        try:
            return await self._request("POST", "/prompt", json=body, idempotent=False)
        except ComfyConnectionError as error:
            # The request may have arrived. Our prompt_id makes that checkable.
            try:
                if pid in await self.queue() or await self.history(pid) is not None:
                    return None
            except ComfyError:
                raise error from None
            raise

    async def wait(
        self,
        prompt_id: str,
        *,
        on_progress: Callable[[RunProgress], None] | None = None,
        on_preview: Callable[[Preview], None] | None = None,
    ) -> RunResult:
        """Wait for a submitted job's terminal event and return its outputs.

        ``on_progress`` gets a :class:`RunProgress` whenever the job's progress moves
        (queue position, nodes starting and finishing, sampler steps); ``on_preview``
        gets each latent preview the server sends for the job.

        Raises:
            ComfyExecutionError: a node failed.
            ComfyInterruptedError: the job was interrupted or cancelled.
            ComfyJobLostError: the server no longer knows the job (restart).
            ComfyConnectionError: the server went away and did not come back.
            ComfyTimeoutError: ``queue_wait`` or ``total`` ran out (the job is cancelled).
        """
        waiter = self._waiters.get(prompt_id)
        if waiter is None:
            raise RuntimeError(f"prompt {prompt_id} was not submitted by this client")
        if waiter.tracker is None:
            waiter.tracker = ProgressTracker(prompt_id)
        try:
            return await self._wait(prompt_id, waiter, waiter.tracker, on_progress, on_preview)
        finally:
            self._waiters.pop(prompt_id, None)

    async def _wait(
        self,
        pid: str,
        waiter: _Waiter,
        tracker: ProgressTracker,
        on_progress: Callable[[RunProgress], None] | None,
        on_preview: Callable[[Preview], None] | None,
    ) -> RunResult:
        t0 = time.monotonic()
        started = False
        missed = False  # a reconnect: messages sent while the socket was down are lost
        cached: tuple[str, ...] = ()
        outputs: dict[str, Mapping[str, Any]] = {}

        def report(update: RunProgress | None) -> None:
            if update is not None and on_progress is not None:
                on_progress(update)

        while True:
            elapsed = time.monotonic() - t0
            limit = self._next_limit(elapsed, started)
            item = await waiter.next(limit)
            if item is None or isinstance(item, _Reconnected):
                missed = missed or item is not None
                result, running = await self._check_job(pid, started, time.monotonic() - t0,
                                                        tracker, report)
                if result is not None:
                    report(tracker.finished())
                    return result
                if running and not started:
                    started = True
                    report(tracker.started())
                continue
            if isinstance(item, _ServerGone):
                raise ComfyConnectionError(f"lost ComfyUI at {self.base_url} while job {pid} "
                                           f"was running ({item.error})", server=self.base_url,
                                           prompt_id=pid, refused=item.error.refused
                                           ) from item.error
            if isinstance(item, Preview):
                if on_preview is not None:
                    on_preview(item)
                continue
            if not started and not isinstance(item, Status):
                started = True
                report(tracker.started())
            if isinstance(item, Executing):
                if item.node is not None:
                    report(tracker.executing(item.node))
            elif isinstance(item, ExecutionCached):
                cached = item.nodes
                report(tracker.cached(item.nodes))
            elif isinstance(item, ProgressState):
                report(tracker.node_states(item.nodes))
            elif isinstance(item, Progress):
                report(tracker.step(item.node, item.value, item.max))
            elif isinstance(item, Executed):
                outputs[item.node] = item.output
            elif isinstance(item, ExecutionSuccess):
                report(tracker.finished())
                if not outputs or missed:  # history has every output; the messages may not
                    entry = await self.history(pid)
                    if entry is not None:
                        return RunResult(pid, self.base_url, entry.outputs, cached, True)
                return RunResult(pid, self.base_url, outputs, cached)
            elif isinstance(item, ExecutionError):
                raise execution_error(item, server=self.base_url)
            elif isinstance(item, ExecutionInterrupted):
                raise ComfyInterruptedError(
                    f"job {pid} on {self.base_url} was interrupted in node {item.node_id} "
                    f"({item.node_type})", server=self.base_url, prompt_id=pid,
                    node_id=item.node_id)

    def _next_limit(self, elapsed: float, started: bool) -> float | None:
        limits = [self.timeouts.ws_idle]
        if self.timeouts.total is not None:
            limits.append(max(0.0, self.timeouts.total - elapsed))
        if not started:
            limits.append(QUEUE_POLL_INTERVAL)  # the queue position, while we wait
            if self.timeouts.queue_wait is not None:
                limits.append(max(0.0, self.timeouts.queue_wait - elapsed))
        present = [x for x in limits if x is not None]
        return min(present) if present else None

    async def _check_job(
        self, pid: str, started: bool, elapsed: float, tracker: ProgressTracker,
        report: Callable[[RunProgress | None], None],
    ) -> tuple[RunResult | None, bool]:
        """After silence, a reconnect or a queue poll: ``(result, running)``.

        Raises the job's error when it failed, :class:`ComfyJobLostError` when the
        server does not know it any more.
        """
        if started:
            state, entry = await self.job_state(pid)
        else:  # the whole queue, for our position in it
            queue = await self.queue()
            state = ("running" if pid in queue.running else
                     "pending" if pid in queue.pending else "")
            entry = None
            if state == "pending":
                report(tracker.queued(len(queue.running) + queue.pending.index(pid)))
            elif not state:
                entry = await self.history(pid)
                state = "done" if entry is not None else "unknown"
        if state == "unknown":
            raise ComfyJobLostError(
                f"ComfyUI at {self.base_url} no longer knows job {pid} (restarted?)",
                server=self.base_url, prompt_id=pid)
        if state == "done" and entry is not None:
            error = terminal_error(entry, server=self.base_url)
            if error is not None:
                raise error
            return RunResult(pid, self.base_url, entry.outputs, from_history=True), True
        running = state == "running"
        for phase, limit in (("total", self.timeouts.total),
                             ("queue_wait", None if started or running
                              else self.timeouts.queue_wait)):
            if limit is not None and elapsed >= limit:
                with contextlib.suppress(ComfyError):
                    await self.cancel(pid)
                raise ComfyTimeoutError(
                    f"job {pid} on {self.base_url} exceeded the {phase} timeout ({limit} s); "
                    "it was cancelled", server=self.base_url, phase=phase, prompt_id=pid)
        return None, running

    async def run(
        self,
        graph: Mapping[str, Any],
        *,
        prompt_id: str | None = None,
        on_progress: Callable[[RunProgress], None] | None = None,
        on_preview: Callable[[Preview], None] | None = None,
        heavy_nodes: Sequence[str] = (),
    ) -> RunResult:
        """Submit and wait: see :meth:`submit` and :meth:`wait`."""
        pid = await self.submit(graph, prompt_id=prompt_id, heavy_nodes=heavy_nodes)
        return await self.wait(pid, on_progress=on_progress, on_preview=on_preview)

    async def resume(
        self,
        prompt_id: str,
        *,
        graph: Mapping[str, Any] | None = None,
        on_progress: Callable[[RunProgress], None] | None = None,
        on_preview: Callable[[Preview], None] | None = None,
        heavy_nodes: Sequence[str] = (),
    ) -> RunResult | None:
        """Pick up a job submitted earlier (by us, before a disconnect or a restart).

        Returns its result when it finished, follows it to the end when it is still
        queued or running, and returns ``None`` when the server does not know it (a
        restarted server forgets its queue and history), so it must be submitted again.

        Raises:
            ComfyExecutionError: the job failed.
            ComfyInterruptedError: the job was interrupted.
            ComfyConnectionError: the server cannot be reached.
        """
        await self.connect()
        waiter = _Waiter(tracker=ProgressTracker(prompt_id, graph, heavy_nodes))
        self._waiters[prompt_id] = waiter  # before asking, so no event is missed
        try:
            state, entry = await self.job_state(prompt_id)
            if state in ("done", "unknown"):
                if entry is None:
                    self._waiters.pop(prompt_id, None)
                    return None
                error = terminal_error(entry, server=self.base_url)
                if error is not None:
                    raise error
                self._waiters.pop(prompt_id, None)
                return RunResult(prompt_id, self.base_url, entry.outputs, from_history=True)
        except BaseException:
            self._waiters.pop(prompt_id, None)
            raise
        logger.info("job %s is still on %s: following it", prompt_id, self.base_url)
        return await self.wait(prompt_id, on_progress=on_progress, on_preview=on_preview)

    async def events(self, prompt_id: str) -> AsyncIterator[WsEvent]:
        """Yield a submitted job's raw events up to its terminal one (for tools)."""
        waiter = self._waiters[prompt_id]
        try:
            while True:
                item = await asyncio.wait_for(waiter.queue.get(), self.timeouts.ws_idle)
                if isinstance(item, _Reconnected | _ServerGone | Preview):
                    continue
                yield item
                if isinstance(item, ExecutionSuccess | ExecutionError | ExecutionInterrupted):
                    return
        finally:
            self._waiters.pop(prompt_id, None)


def _describe(error: BaseException) -> str:
    """An error's text, or its type when the text is empty (httpx often has none)."""
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _view_params(file: OutputFile) -> dict[str, str]:
    return {"filename": file.filename, "subfolder": file.subfolder, "type": file.type}


def _maybe_json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text
