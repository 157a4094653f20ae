"""A loopback OpenAI-compatible speech server: ``POST /v1/audio/speech``.

Follows the public API (https://platform.openai.com/docs/api-reference/audio/createSpeech):
a JSON body with ``model``, ``input``, ``voice``, optional ``response_format`` (``mp3``
by default; ``wav``, ``flac``, ``pcm``…) and ``speed``; the answer is the audio bytes
with an audio content type, and errors are OpenAI's error document. The "speech" is a
1 kHz tone of 0.06 s per character (divided by ``speed``) with a 0.1 s silence either
side, so tests know exactly when and how long each line sounds.
"""

from __future__ import annotations

import asyncio
import io
import math
import threading
import wave
from typing import Any

import numpy as np
from aiohttp import web

VOICES = ("alloy", "echo", "fable", "onyx", "nova", "shimmer")
RATE = 24_000  # what OpenAI returns
SECONDS_PER_CHARACTER = 0.06
PADDING_SECONDS = 0.1
TONE_HZ = 1000.0
_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg", "flac": "audio/flac", "pcm": "audio/pcm"}


def spoken_seconds(text: str, speed: float = 1.0) -> float:
    return len(text) * SECONDS_PER_CHARACTER / speed


def error_body(message: str, *, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": None}}


def tone_wav(seconds: float) -> bytes:
    pad = np.zeros(round(PADDING_SECONDS * RATE), dtype=np.float32)
    t = np.arange(round(seconds * RATE)) / RATE
    samples = np.concatenate([pad, 0.5 * np.sin(2 * math.pi * TONE_HZ * t).astype(np.float32), pad])
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes((samples * 32767).astype("<i2").tobytes())
    return buffer.getvalue()


class FakeSpeechServer:
    def __init__(self, *, api_key: str | None = None) -> None:
        self.api_key = api_key
        self.requests: list[dict[str, Any]] = []
        self.garbage = False  # answer with bytes that are not audio
        self.busy = 0  # answer this many next requests with 503 (a server still loading its model)
        self.base_url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self._serve())
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-speech", daemon=True)
        self._thread.start()
        if not ready.wait(timeout=10):
            raise RuntimeError("the fake speech server did not start within 10 s")
        return self.base_url

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/audio/speech", self._speech)
        self._runner = web.AppRunner(app, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"

    def stop(self) -> None:
        loop, runner = self._loop, self._runner
        if loop is None or runner is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(timeout=10)
        self._loop = self._runner = self._thread = None

    async def _speech(self, request: web.Request) -> web.Response:
        if self.api_key and request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return web.json_response(error_body("Incorrect API key provided."), status=401)
        body = await request.json()
        self.requests.append(body)
        if self.busy:
            self.busy -= 1
            return web.json_response(error_body("The model is loading, try again."), status=503)
        for field in ("model", "input", "voice"):
            if not body.get(field):
                return web.json_response(
                    error_body(f"Missing required parameter: '{field}'.", param=field), status=400
                )
        if body["voice"] not in VOICES:
            message = (
                f"Invalid value for 'voice' = {body['voice']}. Supported values are: {', '.join(VOICES)}."
            )
            return web.json_response(error_body(message, param="voice"), status=400)
        speed = float(body.get("speed", 1.0))
        if not 0.25 <= speed <= 4.0:
            return web.json_response(
                error_body("speed must be between 0.25 and 4.0", param="speed"), status=400
            )
        fmt = body.get("response_format", "mp3")
        if fmt not in ("wav", "pcm"):
            return web.json_response(
                error_body(f"this fake speaks wav and pcm, not {fmt}", param="response_format"), status=400
            )
        if self.garbage:
            return web.Response(body=b"<html>upstream proxy error</html>" * 4, content_type=_TYPES[fmt])
        audio = tone_wav(spoken_seconds(body["input"], speed))
        if fmt == "pcm":  # raw 24 kHz 16-bit mono, as OpenAI documents
            audio = audio[44:]
        return web.Response(body=audio, content_type=_TYPES[fmt])
