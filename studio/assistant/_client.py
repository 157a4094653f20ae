"""Clients for an OpenAI-compatible model server: async first, a sync twin.

:class:`AsyncChatClient` and :class:`ChatClient` have the same methods in the same
order, differing only by ``await`` (``close``/``aclose`` as in httpx): ``chat``,
``stream_chat``, ``ask_structured``, ``models``, ``embeddings``. Everything without
I/O (payloads, parsing, error mapping, context fitting) lives in :class:`_BaseClient`
and :mod:`studio.assistant._protocol`, so the two cannot drift apart.

Every request runs under a :class:`Timeouts`; httpx errors are translated at this
boundary and chained with ``from``. Transports are injectable (``transport=``) for
tests. The API key travels only in the ``Authorization`` header: no repr, log line or
error message contains it.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from types import TracebackType
from typing import Any, TypeVar

import httpx
import pydantic

from studio._config import Settings, mask_password
from studio.assistant._context import (
    DEFAULT_CONTEXT_TOKENS,
    DEFAULT_REPLY_TOKENS,
    fit_messages,
)
from studio.assistant._exceptions import (
    AssistantError,
    AssistantOfflineError,
    ContextTooLargeError,
    MalformedOutputError,
    ModelNotFoundError,
)
from studio.assistant._protocol import (
    DONE,
    SSEDecoder,
    bad_body_error,
    build_chat_payload,
    error_from_response,
    normalise_base_url,
    parse_completion,
    parse_embeddings,
    parse_models,
    parse_stream_event,
    total_timeout_error,
    translate_transport_error,
)
from studio.assistant._structured import (
    parse_structured,
    repair_messages,
    response_format_for,
    structured_messages,
)
from studio.assistant._timeouts import DEFAULT_TIMEOUTS, Timeouts
from studio.assistant._types import ChatChunk, ChatCompletion, Message

__all__ = ["AsyncChatClient", "ChatClient", "ClientState"]

logger = logging.getLogger("studio.assistant")

T = TypeVar("T", bound=pydantic.BaseModel)


class ClientState(enum.Enum):
    """A client's lifecycle: usable until closed, never after."""

    UNOPENED = 1
    OPENED = 2
    CLOSED = 3


class _BaseClient:
    """Configuration and every step that does no I/O, shared by both clients."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None,
        timeouts: Timeouts,
        context_tokens: int,
    ) -> None:
        if context_tokens <= 0:
            raise ValueError(f"context_tokens must be positive, got {context_tokens}")
        self._base_url = normalise_base_url(base_url)
        self._api_key = api_key
        self._timeouts = timeouts
        self._context_tokens = context_tokens
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
    def state(self) -> ClientState:
        return self._state

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, state={self._state.name})"

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def _ensure_open(self) -> None:
        if self._state is ClientState.CLOSED:
            raise RuntimeError(
                f"this {type(self).__name__} has been closed; create a new one to talk to "
                "the model server again"
            )
        self._state = ClientState.OPENED

    def _chat_payload(
        self,
        messages: Sequence[Message],
        *,
        model: str,
        stream: bool,
        temperature: float | None,
        max_tokens: int | None,
        response_format: dict[str, Any] | None,
    ) -> dict[str, Any]:
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
            "chat request: model=%s messages=%d ~tokens=%d stream=%s structured=%s",
            model,
            len(fitted.messages),
            fitted.tokens,
            stream,
            response_format is not None,
        )
        return build_chat_payload(
            model,
            fitted.messages,
            stream=stream,
            temperature=temperature,
            max_tokens=max_tokens,
            response_format=response_format,
        )

    def _error(self, status: int, body: bytes, model: str | None) -> AssistantError:
        return error_from_response(
            status, body, url=self._base_url, model=model, secret=self._api_key
        )

    def _transport_error(self, exc: httpx.HTTPError) -> AssistantError:
        return translate_transport_error(exc, url=self._base_url, timeouts=self._timeouts)

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

    def _chunk(self, data: str, model: str) -> ChatChunk | None:
        raw = data.encode()
        event = self._decode(raw, "stream event")
        if isinstance(event, dict) and "error" in event:
            raise self._error(400, raw, model)
        try:
            return parse_stream_event(event)
        except ValueError as exc:
            raise bad_body_error(self._base_url, "stream event", raw, str(exc)) from exc

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


class AsyncChatClient(_BaseClient):
    """An asyncio client for one OpenAI-compatible model server.

    Args:
        base_url: The server's OpenAI-compatible base URL (``/v1`` is added if missing).
        api_key: Sent as a bearer token when set; never shown.
        timeouts: Limits for every request.
        context_tokens: The model's context window; requests are trimmed to fit it
            (see :func:`studio.assistant.fit_messages`).
        transport: An httpx transport to use instead of the network (tests).

    Raises:
        ConfigurationError: ``base_url`` is not an http(s) URL.
    """

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        context_tokens: int = DEFAULT_CONTEXT_TOKENS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            base_url, api_key=api_key, timeouts=timeouts, context_tokens=context_tokens
        )
        self._http = httpx.AsyncClient(
            base_url=self._base_url + "/",
            headers=self._headers(),
            timeout=timeouts.to_httpx(),
            transport=transport,
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        context_tokens: int = DEFAULT_CONTEXT_TOKENS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> AsyncChatClient:
        """A client for the configured server.

        Raises:
            AssistantOfflineError: ``STUDIO_LLM_URL`` is not set.
        """
        if not settings.llm_url:
            raise AssistantOfflineError.not_configured()
        return cls(
            settings.llm_url,
            api_key=settings.llm_api_key,
            timeouts=timeouts,
            context_tokens=context_tokens,
            transport=transport,
        )

    async def __aenter__(self) -> AsyncChatClient:
        self._ensure_open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections. The client cannot be used afterwards."""
        if self._state is not ClientState.CLOSED:
            self._state = ClientState.CLOSED
            await self._http.aclose()

    async def chat(
        self,
        messages: Sequence[Message],
        *,
        model: str,
        temperature: float | None = None,
        max_tokens: int | None = None,
        response_format: dict[str, Any] | None = None,
    ) -> ChatCompletion:
        """One chat completion (``stream=false``).

        Args:
            messages: The conversation, oldest first; trimmed to the context budget.
            model: The model name the server knows.
            temperature: Sampling temperature; the server's default when ``None``.
            max_tokens: The longest reply; ``None`` leaves it to the server (and keeps
                :data:`DEFAULT_REPLY_TOKENS` free in the context budget).
            response_format: Sent as is (see :func:`response_format_for`).

        Raises:
            AssistantOfflineError: the server cannot be reached.
            AssistantTimeoutError: a timeout ran out.
            ModelNotFoundError: the server has no such model (lists the ones it has).
            ContextTooLargeError: the request does not fit, here or on the server.
            AssistantServerError: any other error response or an unreadable body.
        """
        payload = self._chat_payload(
            messages,
            model=model,
            stream=False,
            temperature=temperature,
            max_tokens=max_tokens,
            response_format=response_format,
        )
        body = await self._request("POST", "chat/completions", payload=payload, model=model)
        return self._completion(body)

    async def stream_chat(
        self,
        messages: Sequence[Message],
        *,
        model: str,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> AsyncIterator[ChatChunk]:
        """A chat completion streamed as Server-Sent Events, one chunk at a time.

        ``Timeouts.read`` bounds the wait for each chunk; ``total`` does not apply.
        Stopping early: wrap it in :func:`contextlib.aclosing`.

        Raises:
            The same errors as :meth:`chat`, including an error event mid-stream.
        """
        payload = self._chat_payload(
            messages,
            model=model,
            stream=True,
            temperature=temperature,
            max_tokens=max_tokens,
            response_format=None,
        )
        self._ensure_open()
        try:
            async with self._http.stream("POST", "chat/completions", json=payload) as response:
                if response.status_code >= 400:
                    body = await response.aread()
                    raise await self._http_error(response.status_code, body, model)
                decoder = SSEDecoder()
                async for line in response.aiter_lines():
                    data = decoder.feed(line)
                    if data == DONE:
                        return
                    if data is not None and (chunk := self._chunk(data, model)) is not None:
                        yield chunk
                tail = decoder.flush()
                if tail is not None and tail != DONE and (chunk := self._chunk(tail, model)):
                    yield chunk
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from exc

    async def ask_structured(
        self,
        messages: Sequence[Message],
        schema: type[T],
        *,
        model: str,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> T:
        """Ask for a reply matching ``schema``; one repair request if it does not.

        See :mod:`studio.assistant._structured` for what is sent.

        Returns:
            The validated instance.

        Raises:
            MalformedOutputError: the reply and the repaired reply both failed; it shows
                the offending output and what was wrong.
            The errors of :meth:`chat`.
        """
        request = structured_messages(messages, schema)
        response_format = response_format_for(schema)
        first = await self.chat(
            request, model=model, temperature=temperature, max_tokens=max_tokens,
            response_format=response_format,
        )
        outcome = parse_structured(first.content, schema, finish_reason=first.finish_reason)
        if outcome.value is not None:
            return outcome.value
        logger.warning(
            "%s reply from %s did not validate (%s); asking once for a repair",
            schema.__name__, model, "; ".join(outcome.problems),
        )
        second = await self.chat(
            repair_messages(request, first.content, outcome.problems),
            model=model, temperature=temperature, max_tokens=max_tokens,
            response_format=response_format,
        )
        repaired = parse_structured(second.content, schema, finish_reason=second.finish_reason)
        if repaired.value is not None:
            return repaired.value
        raise MalformedOutputError(
            schema_name=schema.__name__,
            output=second.content,
            problems=repaired.problems,
            first_output=first.content,
            model=model,
        )

    async def models(self) -> list[str]:
        """The model ids the server lists at ``/v1/models``, sorted.

        Also the cheapest way to check that the server is up.

        Raises:
            AssistantOfflineError, AssistantTimeoutError, AssistantServerError.
        """
        return self._model_list(await self._request("GET", "models", model=None))

    async def embeddings(self, texts: Sequence[str], *, model: str) -> list[list[float]]:
        """One embedding vector per text, from ``/v1/embeddings``, in input order.

        Raises:
            ValueError: ``texts`` is empty.
            The errors of :meth:`chat`; an :class:`AssistantServerError` for a body with
            missing, empty, mixed-size or non-finite vectors.
        """
        if not texts:
            raise ValueError("embeddings() needs at least one text")
        payload = {"model": model, "input": list(texts), "encoding_format": "float"}
        body = await self._request("POST", "embeddings", payload=payload, model=model)
        return self._vectors(body, len(texts))

    async def _request(
        self, method: str, path: str, *, payload: dict[str, Any] | None = None, model: str | None
    ) -> bytes:
        self._ensure_open()
        total = self._timeouts.total
        try:
            async with asyncio.timeout(total):
                response = await self._http.request(method, path, json=payload)
        except TimeoutError as exc:
            raise total_timeout_error(self._base_url, total or 0.0) from exc
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from exc
        if response.status_code >= 400:
            raise await self._http_error(response.status_code, response.content, model)
        return response.content

    async def _http_error(self, status: int, body: bytes, model: str | None) -> AssistantError:
        error = self._error(status, body, model)
        if isinstance(error, ModelNotFoundError):
            try:
                available = await self.models()
            except AssistantError:
                available = []
            error = self._with_models(error, available)
        return error


class ChatClient(_BaseClient):
    """The blocking twin of :class:`AsyncChatClient`: same arguments, same methods.

    Safe to use where an event loop is already running (Jupyter): it does plain
    blocking I/O. ``Timeouts.total`` is checked as the body arrives, so a silent server
    is bounded by ``read`` and a trickling one by ``total``.
    """

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        context_tokens: int = DEFAULT_CONTEXT_TOKENS,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            base_url, api_key=api_key, timeouts=timeouts, context_tokens=context_tokens
        )
        self._http = httpx.Client(
            base_url=self._base_url + "/",
            headers=self._headers(),
            timeout=timeouts.to_httpx(),
            transport=transport,
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        context_tokens: int = DEFAULT_CONTEXT_TOKENS,
        transport: httpx.BaseTransport | None = None,
    ) -> ChatClient:
        """A client for the configured server.

        Raises:
            AssistantOfflineError: ``STUDIO_LLM_URL`` is not set.
        """
        if not settings.llm_url:
            raise AssistantOfflineError.not_configured()
        return cls(
            settings.llm_url,
            api_key=settings.llm_api_key,
            timeouts=timeouts,
            context_tokens=context_tokens,
            transport=transport,
        )

    def __enter__(self) -> ChatClient:
        self._ensure_open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections. The client cannot be used afterwards."""
        if self._state is not ClientState.CLOSED:
            self._state = ClientState.CLOSED
            self._http.close()

    def chat(
        self,
        messages: Sequence[Message],
        *,
        model: str,
        temperature: float | None = None,
        max_tokens: int | None = None,
        response_format: dict[str, Any] | None = None,
    ) -> ChatCompletion:
        """One chat completion; see :meth:`AsyncChatClient.chat`."""
        payload = self._chat_payload(
            messages,
            model=model,
            stream=False,
            temperature=temperature,
            max_tokens=max_tokens,
            response_format=response_format,
        )
        body = self._request("POST", "chat/completions", payload=payload, model=model)
        return self._completion(body)

    def stream_chat(
        self,
        messages: Sequence[Message],
        *,
        model: str,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> Iterator[ChatChunk]:
        """A streamed chat completion; see :meth:`AsyncChatClient.stream_chat`.

        Stopping early: call the generator's ``close()`` (or use
        :func:`contextlib.closing`).
        """
        payload = self._chat_payload(
            messages,
            model=model,
            stream=True,
            temperature=temperature,
            max_tokens=max_tokens,
            response_format=None,
        )
        self._ensure_open()
        try:
            with self._http.stream("POST", "chat/completions", json=payload) as response:
                if response.status_code >= 400:
                    raise self._http_error(response.status_code, response.read(), model)
                decoder = SSEDecoder()
                for line in response.iter_lines():
                    data = decoder.feed(line)
                    if data == DONE:
                        return
                    if data is not None and (chunk := self._chunk(data, model)) is not None:
                        yield chunk
                tail = decoder.flush()
                if tail is not None and tail != DONE and (chunk := self._chunk(tail, model)):
                    yield chunk
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from exc

    def ask_structured(
        self,
        messages: Sequence[Message],
        schema: type[T],
        *,
        model: str,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> T:
        """A reply matching ``schema``; see :meth:`AsyncChatClient.ask_structured`."""
        request = structured_messages(messages, schema)
        response_format = response_format_for(schema)
        first = self.chat(
            request, model=model, temperature=temperature, max_tokens=max_tokens,
            response_format=response_format,
        )
        outcome = parse_structured(first.content, schema, finish_reason=first.finish_reason)
        if outcome.value is not None:
            return outcome.value
        logger.warning(
            "%s reply from %s did not validate (%s); asking once for a repair",
            schema.__name__, model, "; ".join(outcome.problems),
        )
        second = self.chat(
            repair_messages(request, first.content, outcome.problems),
            model=model, temperature=temperature, max_tokens=max_tokens,
            response_format=response_format,
        )
        repaired = parse_structured(second.content, schema, finish_reason=second.finish_reason)
        if repaired.value is not None:
            return repaired.value
        raise MalformedOutputError(
            schema_name=schema.__name__,
            output=second.content,
            problems=repaired.problems,
            first_output=first.content,
            model=model,
        )

    def models(self) -> list[str]:
        """The model ids the server lists; see :meth:`AsyncChatClient.models`."""
        return self._model_list(self._request("GET", "models", model=None))

    def embeddings(self, texts: Sequence[str], *, model: str) -> list[list[float]]:
        """One vector per text; see :meth:`AsyncChatClient.embeddings`."""
        if not texts:
            raise ValueError("embeddings() needs at least one text")
        payload = {"model": model, "input": list(texts), "encoding_format": "float"}
        body = self._request("POST", "embeddings", payload=payload, model=model)
        return self._vectors(body, len(texts))

    def _request(
        self, method: str, path: str, *, payload: dict[str, Any] | None = None, model: str | None
    ) -> bytes:
        self._ensure_open()
        total = self._timeouts.total
        deadline = None if total is None else time.monotonic() + total
        try:
            with self._http.stream(method, path, json=payload) as response:
                parts: list[bytes] = []
                for part in response.iter_bytes():
                    parts.append(part)
                    if deadline is not None and time.monotonic() > deadline:
                        raise total_timeout_error(self._base_url, total or 0.0)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from exc
        body = b"".join(parts)
        if response.status_code >= 400:
            raise self._http_error(response.status_code, body, model)
        return body

    def _http_error(self, status: int, body: bytes, model: str | None) -> AssistantError:
        error = self._error(status, body, model)
        if isinstance(error, ModelNotFoundError):
            try:
                available = self.models()
            except AssistantError:
                available = []
            error = self._with_models(error, available)
        return error
