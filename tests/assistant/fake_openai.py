"""A loopback fake of the OpenAI API, following the public API's shapes.

Serves ``GET /v1/models``, ``POST /v1/chat/completions`` (JSON, or SSE
``chat.completion.chunk`` events ending with ``data: [DONE]`` when ``stream`` is true)
and ``POST /v1/embeddings`` (deterministic vectors from a hash of each text) on
127.0.0.1, on a free port, from an aiohttp app in a background thread.

Tests script it: :meth:`FakeOpenAI.reply` queues canned replies (served in order, to
any model); with the queue empty it echoes the last user message. :meth:`stall`
makes the next requests wait until the server stops (for timeout tests: the client's
own timeout fires, the test never sleeps). Unknown models get OpenAI's 404
``model_not_found``; a request longer than ``context_tokens`` gets its 400
``context_length_exceeded``. Every request is recorded in :attr:`requests`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

DEFAULT_MODELS = ("fake-small", "fake-large", "fake-embed")
EMBEDDING_DIMENSIONS = 8


@dataclass(frozen=True)
class CannedReply:
    """One scripted answer: a completion, or an HTTP error with an OpenAI-style body."""

    content: str = ""
    finish_reason: str = "stop"
    status: int = 200
    error: dict[str, Any] | None = None


@dataclass
class RecordedRequest:
    method: str
    path: str
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def error_body(
    message: str, *, type_: str, code: str | None, param: str | None = None
) -> dict[str, Any]:
    """OpenAI's error shape."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def fake_embedding(text: str) -> list[float]:
    """A unit vector derived from the text's SHA-256: same text, same vector."""
    digest = hashlib.sha256(text.encode()).digest()
    raw = [(b - 127.5) / 127.5 for b in digest[:EMBEDDING_DIMENSIONS]]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [x / norm for x in raw]


class FakeOpenAI:
    """The fake server. Use :meth:`start`/:meth:`stop` or the pytest fixture."""

    def __init__(
        self,
        *,
        models: tuple[str, ...] = DEFAULT_MODELS,
        context_tokens: int = 4096,
        api_key: str | None = None,
        chunk_chars: int = 4,
    ) -> None:
        self.models = list(models)
        self.context_tokens = context_tokens
        self.api_key = api_key
        self.chunk_chars = chunk_chars
        self.requests: list[RecordedRequest] = []
        self._replies: deque[CannedReply] = deque()
        self._stalls = 0
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._released: asyncio.Event | None = None
        self.base_url = ""

    # -- scripting ---------------------------------------------------------------------

    def reply(self, *contents: str, finish_reason: str = "stop") -> None:
        """Queue completions, served in order."""
        with self._lock:
            for content in contents:
                self._replies.append(CannedReply(content, finish_reason=finish_reason))

    def fail(self, status: int, body: dict[str, Any]) -> None:
        """Queue an error response."""
        with self._lock:
            self._replies.append(CannedReply(status=status, error=body))

    def stall(self, count: int = 1) -> None:
        """Make the next ``count`` requests hang until the server stops."""
        with self._lock:
            self._stalls += count

    def chat_requests(self) -> list[dict[str, Any]]:
        """The JSON bodies of every chat request so far."""
        return [r.body for r in self.requests if r.path == "/v1/chat/completions"]

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> str:
        """Start serving; returns the base URL (``http://127.0.0.1:PORT/v1``)."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._serve())
            except BaseException as exc:  # reported to the starting thread
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-openai", daemon=True)
        self._thread.start()
        if not ready.wait(timeout=10):
            raise RuntimeError("the fake OpenAI server did not start within 10 s")
        if failure:
            raise RuntimeError("the fake OpenAI server failed to start") from failure[0]
        return self.base_url

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/embeddings", self._embeddings)
        self._released = asyncio.Event()
        self._runner = web.AppRunner(app, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}/v1"

    def stop(self) -> None:
        """Release stalled requests, stop serving and join the thread."""
        loop, runner = self._loop, self._runner
        if loop is None or runner is None or self._thread is None:
            return
        if self._released is not None:
            loop.call_soon_threadsafe(self._released.set)
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(timeout=10)
        self._loop = self._runner = self._thread = None

    # -- handlers ------------------------------------------------------------------------

    async def _record(self, request: web.Request) -> Any:
        body = await request.json() if request.can_read_body else None
        self.requests.append(
            RecordedRequest(request.method, request.path, body, dict(request.headers))
        )
        with self._lock:
            stall = self._stalls > 0
            if stall:
                self._stalls -= 1
        if stall and self._released is not None:
            await self._released.wait()
        return body

    def _unauthorised(self, request: web.Request) -> web.Response | None:
        if self.api_key is None:
            return None
        if request.headers.get("Authorization") == f"Bearer {self.api_key}":
            return None
        given = request.headers.get("Authorization", "").removeprefix("Bearer ")
        # Real servers quote (part of) the key back; this one quotes all of it.
        return web.json_response(
            error_body(
                f"Incorrect API key provided: {given}.",
                type_="invalid_request_error",
                code="invalid_api_key",
            ),
            status=401,
        )

    def _unknown_model(self, model: Any) -> web.Response | None:
        if model in self.models:
            return None
        return web.json_response(
            error_body(
                f"The model `{model}` does not exist",
                type_="invalid_request_error",
                code="model_not_found",
            ),
            status=404,
        )

    async def _models(self, request: web.Request) -> web.StreamResponse:
        await self._record(request)
        if (denied := self._unauthorised(request)) is not None:
            return denied
        data = [
            {"id": name, "object": "model", "created": 1700000000, "owned_by": "fake"}
            for name in self.models
        ]
        return web.json_response({"object": "list", "data": data})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await self._record(request)
        if (denied := self._unauthorised(request)) is not None:
            return denied
        model = body.get("model")
        if (missing := self._unknown_model(model)) is not None:
            return missing
        messages = body.get("messages") or []
        tokens = sum(4 + math.ceil(len(m.get("content") or "") / 4) for m in messages)
        if tokens > self.context_tokens:
            return web.json_response(
                error_body(
                    f"This model's maximum context length is {self.context_tokens} tokens. "
                    f"However, your messages resulted in {tokens} tokens. Please reduce the "
                    "length of the messages.",
                    type_="invalid_request_error",
                    code="context_length_exceeded",
                    param="messages",
                ),
                status=400,
            )
        with self._lock:
            canned = self._replies.popleft() if self._replies else None
        if canned is None:
            last_user = next(
                (m.get("content", "") for m in reversed(messages) if m.get("role") == "user"), ""
            )
            canned = CannedReply(f"echo: {last_user}")
        if canned.error is not None:
            return web.json_response(canned.error, status=canned.status)
        completion_id = f"chatcmpl-{len(self.requests)}"
        created = int(time.time())
        if body.get("stream"):
            return await self._stream(request, canned, model, completion_id, created)
        completion_tokens = math.ceil(len(canned.content) / 4)
        return web.json_response(
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": canned.content},
                        "finish_reason": canned.finish_reason,
                    }
                ],
                "usage": {
                    "prompt_tokens": tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": tokens + completion_tokens,
                },
            }
        )

    async def _stream(
        self,
        request: web.Request,
        canned: CannedReply,
        model: str,
        completion_id: str,
        created: int,
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)

        async def send(delta: dict[str, Any], finish_reason: str | None) -> None:
            chunk = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
            }
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())

        await send({"role": "assistant", "content": ""}, None)
        text = canned.content
        for start in range(0, len(text), self.chunk_chars):
            await send({"content": text[start : start + self.chunk_chars]}, None)
        await send({}, canned.finish_reason)
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def _embeddings(self, request: web.Request) -> web.StreamResponse:
        body = await self._record(request)
        if (denied := self._unauthorised(request)) is not None:
            return denied
        model = body.get("model")
        if (missing := self._unknown_model(model)) is not None:
            return missing
        inputs = body.get("input")
        texts = [inputs] if isinstance(inputs, str) else list(inputs or [])
        data = [
            {"object": "embedding", "index": index, "embedding": fake_embedding(text)}
            for index, text in enumerate(texts)
        ]
        tokens = sum(math.ceil(len(t) / 4) for t in texts)
        return web.json_response(
            {
                "object": "list",
                "data": data,
                "model": model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )
