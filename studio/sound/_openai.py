"""Any OpenAI-compatible speech server: ``POST /v1/audio/speech``.

Kokoro-FastAPI, LocalAI, openedai-speech and OpenAI itself take the same request
(``model``, ``input``, ``voice``, ``response_format``, ``speed``) and answer with the
audio bytes. Configured like the assistant: ``STUDIO_TTS_URL`` (the server, with or
without ``/v1``), ``STUDIO_TTS_MODEL`` (default ``tts-1``), ``STUDIO_TTS_API_KEY``.
The API has no pitch: a voice's ``pitch`` is ignored here, with one log line. A server
that is down or busy (connection errors, 429, 5xx) is asked again, twice, after 0.5 s and
1 s; any other answer is final.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx

from studio._config import Settings
from studio._exceptions import ConfigurationError
from studio.assistant._timeouts import Timeouts
from studio.sound._tts import SpeechError, SpeechRequest, TtsUnavailableError, UnknownVoiceError

__all__ = ["DEFAULT_TTS_MODEL", "DEFAULT_TTS_TIMEOUTS", "OpenAISpeechBackend"]

log = logging.getLogger("studio.sound")

DEFAULT_TTS_MODEL = "tts-1"
DEFAULT_OPENAI_VOICE = "alloy"
RESPONSE_FORMAT = "wav"  # lossless and decodable without guessing
DEFAULT_ATTEMPTS = 3  # for a server that is down or busy (connection errors, 429, 5xx)
DEFAULT_BACKOFF_SECONDS = 0.5  # then 1 s
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
DEFAULT_TTS_TIMEOUTS = Timeouts(connect=5.0, read=120.0, write=30.0, pool=10.0, total=300.0)


class OpenAISpeechBackend:
    """The ``openai`` speech backend (see the module docstring)."""

    name = "openai"

    def __init__(
        self,
        url: str,
        *,
        model: str | None = None,
        api_key: str | None = None,
        timeouts: Timeouts = DEFAULT_TTS_TIMEOUTS,
        attempts: int = DEFAULT_ATTEMPTS,
        backoff_seconds: float = DEFAULT_BACKOFF_SECONDS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {attempts}")
        self._attempts = attempts
        self._backoff = backoff_seconds
        base = url.rstrip("/")
        self._endpoint = (base if base.endswith("/v1") else base + "/v1") + "/audio/speech"
        self._model = model or DEFAULT_TTS_MODEL
        self._timeouts = timeouts
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(headers=headers, timeout=timeouts.to_httpx(), transport=transport)
        self._warned_pitch = False

    def __repr__(self) -> str:  # never the key
        return f"OpenAISpeechBackend({self._endpoint!r}, model={self._model!r})"

    def identity(self) -> str:
        return f"openai:{self._endpoint}:{self._model}"

    async def speak(self, request: SpeechRequest) -> bytes:
        voice = request.voice
        if voice.pitch and not self._warned_pitch:
            self._warned_pitch = True
            log.warning("the OpenAI speech API has no pitch setting; voice pitch is ignored")
        body: dict[str, Any] = {
            "model": self._model,
            "input": request.text,
            "voice": voice.id or DEFAULT_OPENAI_VOICE,
            "response_format": RESPONSE_FORMAT,
            "speed": min(4.0, max(0.25, voice.speed)),
        }
        for attempt in range(1, self._attempts + 1):
            try:
                response = await self._post(body)
            except TtsUnavailableError:
                if attempt == self._attempts:
                    raise
            else:
                if response.status_code not in TRANSIENT_STATUSES or attempt == self._attempts:
                    break
            # Only a server that is down or busy is asked again, after a growing pause.
            await asyncio.sleep(self._backoff * 2 ** (attempt - 1))
        if response.status_code >= 400:
            raise _error_from(response, voice.id or DEFAULT_OPENAI_VOICE, self._endpoint)
        kind = response.headers.get("content-type", "")
        if kind.startswith(("application/json", "text/")):
            raise SpeechError(
                f"the speech server at {self._endpoint} answered {kind!r} instead of audio: "
                f"{response.text[:200]!r}"
            )
        return response.content

    async def _post(self, body: dict[str, Any]) -> httpx.Response:
        total = self._timeouts.total
        try:
            return await asyncio.wait_for(self._client.post(self._endpoint, json=body), total)
        except httpx.TransportError as error:
            raise TtsUnavailableError(
                f"cannot reach the speech server at {self._endpoint} ({type(error).__name__}: {error}); "
                "start it, fix STUDIO_TTS_URL, or unset it to use the embedded espeak voices"
            ) from error
        except TimeoutError:
            raise TtsUnavailableError(
                f"the speech server at {self._endpoint} did not answer within {total:g} s"
            ) from None

    async def aclose(self) -> None:
        await self._client.aclose()


def _error_from(response: httpx.Response, voice: str, endpoint: str) -> SpeechError:
    """The OpenAI error document (``{"error": {"message", "type", "param", "code"}}``)
    as the most specific error; servers that answer otherwise keep their text."""
    message, param = response.text[:300], None
    try:
        document = response.json()
    except ValueError:
        document = None
    if isinstance(document, dict):
        error = document.get("error")
        if isinstance(error, dict):
            message = str(error.get("message") or message)
            param = error.get("param")
        elif isinstance(document.get("detail"), str | list):  # FastAPI servers (Kokoro)
            message = str(document["detail"])
    if param == "voice" or (response.status_code in (400, 404, 422) and "voice" in message.lower()):
        return UnknownVoiceError(
            f"the speech server has no voice {voice!r} ({response.status_code}: {message}); "
            "set the character's voice.id to one the server lists"
        )
    if response.status_code in (401, 403):
        return SpeechError(
            f"the speech server refused the request ({response.status_code}: {message}); "
            "check STUDIO_TTS_API_KEY"
        )
    if response.status_code >= 500 or response.status_code == 429:
        return TtsUnavailableError(
            f"the speech server at {endpoint} failed ({response.status_code}: {message})"
        )
    return SpeechError(f"the speech server rejected the request ({response.status_code}: {message})")


def create_openai_backend(settings: Settings) -> OpenAISpeechBackend:
    if not settings.tts_url:
        raise ConfigurationError(
            "STUDIO_TTS=openai needs STUDIO_TTS_URL (e.g. http://localhost:8880 for Kokoro-FastAPI)"
        )
    return OpenAISpeechBackend(settings.tts_url, model=settings.tts_model, api_key=settings.tts_api_key)
