"""The OpenAI-compatible wire protocol as pure functions: no I/O here.

Response parsing and the translation of error responses and transport exceptions
into :mod:`studio.assistant` errors. Both clients (:mod:`studio.assistant._client`, on
the openai SDK) call these, so sync and async behave the same.

Shapes follow the public API that Ollama, vLLM, llama.cpp's server, LM Studio and
OpenAI all serve under ``/v1``: ``chat/completions`` (plain and ``stream=true``),
``models`` and ``embeddings``. Error bodies come in several dialects, all handled:
``{"error": {"message", "type", "code"}}`` (OpenAI, Ollama, llama.cpp),
``{"object": "error", "message", "type", "code"}`` (vLLM) and ``{"error": "text"}``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx2

from studio._config import mask_password
from studio._exceptions import ConfigurationError
from studio.assistant._exceptions import (
    AssistantError,
    AssistantOfflineError,
    AssistantServerError,
    AssistantTimeoutError,
    ContextTooLargeError,
    ModelNotFoundError,
    truncate_for_display,
)
from studio.assistant._timeouts import Timeouts
from studio.assistant._types import ChatChunk, ChatCompletion, Message, Usage

__all__ = [
    "build_chat_payload",
    "error_from_response",
    "normalise_base_url",
    "parse_completion",
    "parse_embeddings",
    "parse_models",
    "parse_stream_event",
    "translate_transport_error",
]

_CONTEXT_PATTERNS = re.compile(
    r"maximum context length|context length|context window|context size|"
    r"too many tokens|prompt is too long|exceeds? the available context",
    re.IGNORECASE,
)
_CONTEXT_CODES = {"context_length_exceeded", "exceed_context_size_error", "string_above_max_length"}


def normalise_base_url(url: str) -> str:
    """Check an OpenAI-compatible base URL and make it end in ``/v1``.

    ``http://localhost:11434`` and ``http://localhost:11434/v1/`` both become
    ``http://localhost:11434/v1``.

    Raises:
        ConfigurationError: not an http(s) URL.
    """
    cleaned = url.strip().rstrip("/")
    if not cleaned.startswith(("http://", "https://")) or not urlsplit(cleaned).netloc:
        raise ConfigurationError(
            "STUDIO_LLM_URL must be an http(s) URL such as http://localhost:11434/v1, "
            f"got {mask_password(url)!r}"
        )
    if not cleaned.endswith("/v1"):
        cleaned += "/v1"
    return cleaned


def build_chat_payload(
    model: str,
    messages: Sequence[Message],
    *,
    stream: bool,
    temperature: float | None = None,
    max_tokens: int | None = None,
    response_format: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON body of a ``/v1/chat/completions`` request; ``None`` values are left out."""
    payload: dict[str, Any] = {
        "model": model,
        "messages": [m.to_json() for m in messages],
        "stream": stream,
    }
    if temperature is not None:
        payload["temperature"] = temperature
    if max_tokens is not None:
        payload["max_tokens"] = max_tokens
    if response_format is not None:
        payload["response_format"] = response_format
    return payload


def parse_completion(data: Any) -> ChatCompletion:
    """Read a non-streaming chat completion.

    Raises:
        ValueError: the body does not have the chat completion shape.
    """
    try:
        choice = data["choices"][0]
        content = choice["message"].get("content") or ""
        if not isinstance(content, str):
            raise TypeError("message.content is not a string")
        usage = data.get("usage")
        return ChatCompletion(
            content=content,
            model=str(data.get("model", "")),
            finish_reason=choice.get("finish_reason"),
            usage=_usage(usage) if isinstance(usage, dict) else None,
            id=str(data.get("id", "")),
        )
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a chat completion ({exc})") from exc


def _usage(raw: dict[str, Any]) -> Usage:
    return Usage(
        prompt_tokens=int(raw.get("prompt_tokens") or 0),
        completion_tokens=int(raw.get("completion_tokens") or 0),
        total_tokens=int(raw.get("total_tokens") or 0),
    )


def parse_stream_event(data: Any) -> ChatChunk | None:
    """Read one ``chat.completion.chunk``; ``None`` for chunks with nothing to show.

    Raises:
        ValueError: the event does not have the chunk shape.
    """
    try:
        choices = data.get("choices") or []
        if not choices:  # e.g. the final usage-only chunk
            return None
        choice = choices[0]
        content = (choice.get("delta") or {}).get("content") or ""
        finish_reason = choice.get("finish_reason")
    except (AttributeError, TypeError) as exc:
        raise ValueError(f"not a chat completion chunk ({exc})") from exc
    if not isinstance(content, str):
        raise ValueError("delta.content is not a string")
    if not content and finish_reason is None:
        return None
    return ChatChunk(content=content, finish_reason=finish_reason)


def parse_models(data: Any) -> list[str]:
    """Read ``/v1/models``: the model ids, sorted.

    Raises:
        ValueError: the body does not have the model list shape.
    """
    try:
        return sorted(str(item["id"]) for item in data["data"])
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not a model list ({exc})") from exc


def parse_embeddings(data: Any, expected: int) -> list[list[float]]:
    """Read ``/v1/embeddings``: one vector per input, in input order.

    Raises:
        ValueError: wrong shape, wrong count, an empty vector, mixed dimensions, or a
            value that is not a finite number.
    """
    try:
        items = sorted(data["data"], key=lambda item: int(item["index"]))
        vectors = [[float(x) for x in item["embedding"]] for item in items]
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not an embedding list ({exc})") from exc
    if len(vectors) != expected:
        raise ValueError(f"expected {expected} embeddings, got {len(vectors)}")
    dims = {len(v) for v in vectors}
    if 0 in dims or len(dims) > 1:
        raise ValueError(f"embeddings have inconsistent or empty dimensions: {sorted(dims)}")
    if not all(math.isfinite(x) for v in vectors for x in v):
        raise ValueError("an embedding contains a value that is not a finite number")
    return vectors


def error_from_response(
    status: int,
    body: bytes,
    *,
    url: str,
    model: str | None,
    secret: str | None = None,
) -> AssistantError:
    """Translate an error response into the most specific assistant error.

    A missing model comes back as :class:`ModelNotFoundError` with an empty
    ``available`` list; the client fills it from ``/v1/models``.

    Args:
        status: The HTTP status.
        body: The raw body.
        url: The server's base URL (shown in messages).
        model: The model the request named, or ``None`` (model listing).
        secret: The API key, scrubbed from anything quoted back.
    """
    message, code, kind = _error_fields(body)
    text = truncate_for_display(scrub(message, secret), limit=500)
    lowered = text.lower()
    shown = mask_password(url)
    if status in (400, 413, 422) and (
        code in _CONTEXT_CODES or kind in _CONTEXT_CODES or _CONTEXT_PATTERNS.search(text)
    ):
        return ContextTooLargeError(
            f"the model server at {shown} says the request is too long for {model!r}: "
            f"{text}. Shorten the text, or lower the context budget to the model's window."
        )
    if model is not None and (
        code == "model_not_found"
        or (
            status in (400, 404)
            and "model" in lowered
            and ("not found" in lowered or "does not exist" in lowered)
        )
    ):
        return ModelNotFoundError(model, (), url=shown)
    if status in (401, 403):
        return AssistantServerError(
            f"the model server at {shown} refused the request ({status}): {text}. "
            "Check STUDIO_LLM_API_KEY.",
            status_code=status,
            url=shown,
        )
    if status == 404:
        return AssistantServerError(
            f"the model server at {shown} has no such endpoint (404): {text}. Check that "
            "STUDIO_LLM_URL is the OpenAI-compatible base URL (it usually ends in /v1).",
            status_code=status,
            url=shown,
        )
    return AssistantServerError(
        f"the model server at {shown} answered {status}: {text}", status_code=status, url=shown
    )


def _error_fields(body: bytes) -> tuple[str, str, str]:
    """(message, code, type) from any of the error dialects; raw text as a last resort."""
    raw = body.decode("utf-8", errors="replace").strip()
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        return raw or "(empty body)", "", ""
    if not isinstance(data, dict):
        return raw, "", ""
    error = data.get("error", data)
    if isinstance(error, str):
        return error, "", ""
    if not isinstance(error, dict):
        return raw, "", ""
    return (
        str(error.get("message") or raw),
        str(error.get("code") or ""),
        str(error.get("type") or ""),
    )


def scrub(text: str, secret: str | None) -> str:
    """``text`` with every occurrence of ``secret`` replaced by ``***``."""
    if secret:
        return text.replace(secret, "***")
    return text


def translate_transport_error(
    exc: httpx2.HTTPError, *, url: str, timeouts: Timeouts
) -> AssistantError:
    """The assistant error for a transport exception (``httpx2``, the SDK's HTTP library);
    callers chain it with ``from exc``."""
    shown = mask_password(url)
    if isinstance(exc, httpx2.ConnectTimeout):
        return AssistantOfflineError.unreachable(
            shown, f"no connection within {timeouts.connect:g} s"
        )
    if isinstance(exc, httpx2.ConnectError):
        return AssistantOfflineError.unreachable(shown, str(exc) or "connection refused")
    if isinstance(exc, httpx2.ReadTimeout):
        return AssistantTimeoutError(
            f"the model server at {shown} sent nothing for {timeouts.read:g} s (read "
            "timeout). A large model may need a longer read timeout; or route this task "
            "to a faster model.",
            phase="read",
            seconds=timeouts.read,
            url=shown,
        )
    if isinstance(exc, httpx2.WriteTimeout):
        return AssistantTimeoutError(
            f"sending the request to the model server at {shown} took over "
            f"{timeouts.write:g} s (write timeout)",
            phase="write",
            seconds=timeouts.write,
            url=shown,
        )
    if isinstance(exc, httpx2.PoolTimeout):
        return AssistantTimeoutError(
            f"no free connection to the model server at {shown} within {timeouts.pool:g} s "
            "(pool timeout): too many requests at once",
            phase="pool",
            seconds=timeouts.pool,
            url=shown,
        )
    if isinstance(exc, httpx2.TimeoutException):
        return AssistantTimeoutError(
            f"the model server at {shown} timed out: {exc}", phase="unknown", url=shown
        )
    return AssistantServerError(
        f"the connection to the model server at {shown} failed: "
        f"{type(exc).__name__}: {exc}",
        url=shown,
    )


def total_timeout_error(url: str, seconds: float) -> AssistantTimeoutError:
    """The error for a request that ran past :attr:`Timeouts.total`."""
    shown = mask_password(url)
    return AssistantTimeoutError(
        f"the model server at {shown} did not finish within {seconds:g} s (total timeout). "
        "Raise the timeout, ask for a shorter reply, or route this task to a faster model.",
        phase="total",
        seconds=seconds,
        url=shown,
    )


def bad_body_error(url: str, what: str, body: bytes, reason: str) -> AssistantServerError:
    """The error for a 2xx response whose body is not what the API promises."""
    shown = mask_password(url)
    text = truncate_for_display(body.decode("utf-8", errors="replace"), limit=500)
    return AssistantServerError(
        f"the model server at {shown} sent a {what} this client cannot read ({reason}). Is "
        f"STUDIO_LLM_URL an OpenAI-compatible API? The body began:\n{text}",
        url=shown,
    )
