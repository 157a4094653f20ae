"""What both model-server clients share and do without I/O: configuration, the SDK's
options, fitting a conversation into the context, reading bodies strictly, and mapping
SDK and transport errors to the studio's typed errors."""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import Sequence
from typing import Any

import httpx2
import openai

from studio._config import mask_password
from studio.assistant._context import DEFAULT_REPLY_TOKENS, fit_messages
from studio.assistant._exceptions import (
    AssistantError,
    AssistantOfflineError,
    AssistantServerError,
    AssistantTimeoutError,
    ContextTooLargeError,
    ModelNotFoundError,
)
from studio.assistant._protocol import (
    bad_body_error,
    error_from_response,
    normalise_base_url,
    parse_completion,
    parse_embeddings,
    parse_models,
    parse_stream_event,
    translate_transport_error,
)
from studio.assistant._timeouts import Timeouts
from studio.assistant._types import ChatChunk, ChatCompletion, Message

__all__ = ["DEFAULT_MAX_RETRIES", "BaseClient", "ClientState"]

logger = logging.getLogger("studio.assistant")

#: Retries after the first try, for transient failures only (the SDK's classification).
DEFAULT_MAX_RETRIES = 2
# The SDK insists on a key; a local server needs none, so a placeholder is set and the
# header it would produce is removed.
_NO_KEY = "no-key"


class ClientState(enum.Enum):
    """A client's lifecycle: usable until closed, never after."""

    UNOPENED = 1
    OPENED = 2
    CLOSED = 3


def _given(value: Any) -> Any:
    return openai.NOT_GIVEN if value is None else value


class BaseClient:
    """Configuration and every step that does no I/O, shared by both clients."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None,
        timeouts: Timeouts,
        context_tokens: int,
        max_retries: int,
    ) -> None:
        if context_tokens <= 0:
            raise ValueError(f"context_tokens must be positive, got {context_tokens}")
        if max_retries < 0:
            raise ValueError(f"max_retries must be 0 or more, got {max_retries}")
        self._base_url = normalise_base_url(base_url)
        self._api_key = api_key
        self._timeouts = timeouts
        self._context_tokens = context_tokens
        self._max_retries = max_retries
        self._state = ClientState.UNOPENED

    @property
    def base_url(self) -> str:
        """The server's base URL, ending in ``/v1`` (credentials in it masked)."""
        return mask_password(self._base_url)

    @property
    def timeouts(self) -> Timeouts:
        return self._timeouts

    @property
    def context_tokens(self) -> int:
        """The context window requests are fitted into (prompt + reply), in tokens."""
        return self._context_tokens

    @property
    def max_retries(self) -> int:
        """Retries after a transient failure (429, 5xx, a lost connection)."""
        return self._max_retries

    @property
    def state(self) -> ClientState:
        return self._state

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, state={self._state.name})"

    def _sdk_options(self) -> dict[str, Any]:
        t = self._timeouts
        options: dict[str, Any] = {
            "base_url": self._base_url,
            "api_key": self._api_key or _NO_KEY,
            "timeout": httpx2.Timeout(connect=t.connect, read=t.read, write=t.write, pool=t.pool),
            "max_retries": self._max_retries,
        }
        return options

    def _headers(self) -> dict[str, Any] | None:
        """Per-request headers: without a key, the SDK is told to send no Authorization."""
        return None if self._api_key else {"Authorization": openai.Omit()}

    def _ensure_open(self) -> None:
        if self._state is ClientState.CLOSED:
            raise RuntimeError(
                f"this {type(self).__name__} has been closed; create a new one to talk to "
                "the model server again"
            )
        self._state = ClientState.OPENED

    def _chat_arguments(
        self,
        messages: Sequence[Message],
        *,
        model: str,
        temperature: float | None,
        max_tokens: int | None,
        response_format: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """Keyword arguments for ``chat.completions.create``, the conversation fitted."""
        reply = max_tokens if max_tokens is not None else DEFAULT_REPLY_TOKENS
        budget = self._context_tokens - reply
        if budget <= 0:
            raise ContextTooLargeError(
                f"max_tokens={reply} leaves no room for the prompt in a context of "
                f"{self._context_tokens} tokens; ask for a shorter reply",
                budget=self._context_tokens,
            )
        fitted = fit_messages(messages, budget)
        if fitted.dropped:
            logger.info(
                "left out %d earlier messages (%s) to fit %d tokens",
                fitted.dropped,
                "summarised" if fitted.summarised else "not summarised",
                budget,
            )
        logger.debug(
            "chat request: model=%s messages=%d ~tokens=%d structured=%s",
            model,
            len(fitted.messages),
            fitted.tokens,
            response_format is not None,
        )
        return {
            "model": model,
            "messages": [m.to_json() for m in fitted.messages],
            "temperature": _given(temperature),
            "max_tokens": _given(max_tokens),
            "response_format": _given(response_format),
            "extra_headers": self._headers(),
        }

    def _error(self, status: int, body: bytes, model: str | None) -> AssistantError:
        return error_from_response(status, body, url=self._base_url, model=model, secret=self._api_key)

    def _translate(self, exc: openai.OpenAIError, model: str | None) -> AssistantError:
        """The studio error for an SDK error (after the SDK's own retries)."""
        if isinstance(exc, openai.APIStatusError):
            return self._error(exc.status_code, exc.response.content, model)
        if isinstance(exc, openai.APIConnectionError):  # APITimeoutError too
            cause = exc.__cause__
            if isinstance(cause, httpx2.HTTPError):
                return translate_transport_error(cause, url=self._base_url, timeouts=self._timeouts)
            if isinstance(exc, openai.APITimeoutError):
                return AssistantTimeoutError(
                    f"the model server at {self.base_url} timed out", phase="unknown", url=self.base_url
                )
            return AssistantOfflineError.unreachable(self.base_url, str(exc))
        if isinstance(exc, openai.APIError):  # an error event in a stream
            body = exc.body if exc.body is not None else {"message": exc.message}
            return self._error(400, json.dumps({"error": body}).encode(), model)
        return AssistantServerError(f"the model server at {self.base_url} failed: {exc}", url=self.base_url)

    def _decode(self, body: bytes, what: str) -> Any:
        try:
            return json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise bad_body_error(self._base_url, what, body, "not JSON") from exc

    def _completion(self, body: bytes) -> ChatCompletion:
        try:
            return parse_completion(self._decode(body, "chat completion"))
        except ValueError as exc:
            raise bad_body_error(self._base_url, "chat completion", body, str(exc)) from exc

    def _chunk(self, chunk: Any) -> ChatChunk | None:
        data = chunk.to_dict() if hasattr(chunk, "to_dict") else chunk
        if isinstance(data, dict) and set(data) == {"data", "event"}:
            data = data["data"]  # an event named "message": the SDK wraps it
        try:
            return parse_stream_event(data)
        except ValueError as exc:
            raise bad_body_error(
                self._base_url, "stream event", json.dumps(data, default=str).encode(), str(exc)
            ) from exc

    def _model_list(self, body: bytes) -> list[str]:
        try:
            return parse_models(self._decode(body, "model list"))
        except ValueError as exc:
            raise bad_body_error(self._base_url, "model list", body, str(exc)) from exc

    def _vectors(self, body: bytes, expected: int) -> list[list[float]]:
        try:
            return parse_embeddings(self._decode(body, "embedding list"), expected)
        except ValueError as exc:
            raise bad_body_error(self._base_url, "embedding list", body, str(exc)) from exc

    def _with_models(self, error: AssistantError, available: list[str]) -> AssistantError:
        if isinstance(error, ModelNotFoundError):
            return ModelNotFoundError(error.model, available, url=self.base_url)
        return error
