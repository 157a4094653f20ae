"""Clients for an OpenAI-compatible model server, on the official ``openai`` SDK.

:class:`AsyncChatClient` and :class:`ChatClient` have the same methods in the same
order, differing only by ``await`` (``close``/``aclose`` as in httpx): ``chat``,
``stream_chat``, ``ask_structured``, ``models``, ``embeddings``. The SDK does the
wire work: connections, Server-Sent Events, and retries of 408/409/429/5xx and lost
connections with exponential backoff that honours ``Retry-After`` (``max_retries``).
What stays here is what the SDK does not know: fitting the conversation into the
model's context, reading bodies strictly (a server that is not OpenAI-compatible gets a
clear message, not a half-filled object), and mapping every server dialect's errors to
the studio's typed errors (:mod:`studio.assistant._protocol`).

Every request runs under a :class:`Timeouts`; SDK and transport errors are translated
at this boundary and chained with ``from``. Transports are injectable (``transport=``,
an ``httpx2`` transport, the SDK's HTTP library) for tests. The API key travels only in
the ``Authorization`` header: no repr, log line or error message contains it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from types import TracebackType
from typing import Any, TypeVar, cast

import httpx2
import openai
import pydantic

from studio._config import Settings
from studio.assistant._client_base import DEFAULT_MAX_RETRIES, BaseClient, ClientState
from studio.assistant._context import DEFAULT_CONTEXT_TOKENS
from studio.assistant._exceptions import (
    AssistantError,
    AssistantOfflineError,
    MalformedOutputError,
    ModelNotFoundError,
)
from studio.assistant._protocol import total_timeout_error, translate_transport_error
from studio.assistant._structured import (
    parse_structured,
    repair_messages,
    response_format_for,
    structured_messages,
)
from studio.assistant._timeouts import DEFAULT_TIMEOUTS, Timeouts
from studio.assistant._types import ChatChunk, ChatCompletion, Message

__all__ = ["DEFAULT_MAX_RETRIES", "AsyncChatClient", "ChatClient", "ClientState"]

logger = logging.getLogger("studio.assistant")

T = TypeVar("T", bound=pydantic.BaseModel)


class AsyncChatClient(BaseClient):
    """An asyncio client for one OpenAI-compatible model server.

    Args:
        base_url: The server's OpenAI-compatible base URL (``/v1`` is added if missing).
        api_key: Sent as a bearer token when set; never shown.
        timeouts: Limits for every request.
        context_tokens: The model's context window; requests are trimmed to fit it
            (see :func:`studio.assistant.fit_messages`).
        max_retries: Retries of a transient failure (429, 5xx, a lost connection), with
            exponential backoff that honours ``Retry-After``; 0 disables them.
        transport: An ``httpx2`` transport to use instead of the network (tests).

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
        max_retries: int = DEFAULT_MAX_RETRIES,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            base_url,
            api_key=api_key,
            timeouts=timeouts,
            context_tokens=context_tokens,
            max_retries=max_retries,
        )
        http_client = openai.DefaultAsyncHttpxClient(transport=transport) if transport else None
        self._sdk = openai.AsyncOpenAI(**self._sdk_options(), http_client=http_client)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        context_tokens: int = DEFAULT_CONTEXT_TOKENS,
        max_retries: int = DEFAULT_MAX_RETRIES,
        transport: httpx2.AsyncBaseTransport | None = None,
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
            max_retries=max_retries,
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
            await self._sdk.close()

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
        arguments = self._chat_arguments(
            messages,
            model=model,
            temperature=temperature,
            max_tokens=max_tokens,
            response_format=response_format,
        )
        completions = cast(Any, self._sdk.chat.completions.with_streaming_response)
        body = await self._read(lambda: completions.create(stream=False, **arguments), model=model)
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
        arguments = self._chat_arguments(
            messages, model=model, temperature=temperature, max_tokens=max_tokens, response_format=None
        )
        self._ensure_open()
        completions = cast(Any, self._sdk.chat.completions)
        try:
            stream = await completions.create(stream=True, **arguments)
        except openai.OpenAIError as exc:
            raise await self._sdk_error(exc, model) from exc
        try:
            async for event in stream:
                chunk = self._chunk(event)
                if chunk is not None:
                    yield chunk
        except openai.OpenAIError as exc:
            raise await self._sdk_error(exc, model) from exc
        except httpx2.HTTPError as exc:  # a read timeout between chunks
            raise translate_transport_error(exc, url=self._base_url, timeouts=self._timeouts) from exc
        finally:
            await stream.close()

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
            request,
            model=model,
            temperature=temperature,
            max_tokens=max_tokens,
            response_format=response_format,
        )
        outcome = parse_structured(first.content, schema, finish_reason=first.finish_reason)
        if outcome.value is not None:
            return outcome.value
        logger.warning(
            "%s reply from %s did not validate (%s); asking once for a repair",
            schema.__name__,
            model,
            "; ".join(outcome.problems),
        )
        second = await self.chat(
            repair_messages(request, first.content, outcome.problems),
            model=model,
            temperature=temperature,
            max_tokens=max_tokens,
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
        listing = self._sdk.models.with_streaming_response
        return self._model_list(
            await self._read(lambda: listing.list(extra_headers=self._headers()), model=None)
        )

    async def embeddings(self, texts: Sequence[str], *, model: str) -> list[list[float]]:
        """One embedding vector per text, from ``/v1/embeddings``, in input order.

        Raises:
            ValueError: ``texts`` is empty.
            The errors of :meth:`chat`; an :class:`AssistantServerError` for a body with
            missing, empty, mixed-size or non-finite vectors.
        """
        if not texts:
            raise ValueError("embeddings() needs at least one text")
        embeddings = self._sdk.embeddings.with_streaming_response
        body = await self._read(
            lambda: embeddings.create(
                model=model, input=list(texts), encoding_format="float", extra_headers=self._headers()
            ),
            model=model,
        )
        return self._vectors(body, len(texts))

    async def _read(self, open_response: Any, *, model: str | None) -> bytes:
        """The body of the response ``open_response()`` opens, within ``Timeouts.total``."""
        self._ensure_open()
        total = self._timeouts.total
        try:
            async with asyncio.timeout(total):
                async with open_response() as response:
                    return cast(bytes, await response.read())
        except TimeoutError as exc:
            raise total_timeout_error(self._base_url, total or 0.0) from exc
        except openai.OpenAIError as exc:
            raise await self._sdk_error(exc, model) from exc

    async def _sdk_error(self, exc: openai.OpenAIError, model: str | None) -> AssistantError:
        error = self._translate(exc, model)
        if isinstance(error, ModelNotFoundError):
            try:
                available = await self.models()
            except AssistantError:
                available = []
            error = self._with_models(error, available)
        return error


class ChatClient(BaseClient):
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
        max_retries: int = DEFAULT_MAX_RETRIES,
        transport: httpx2.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            base_url,
            api_key=api_key,
            timeouts=timeouts,
            context_tokens=context_tokens,
            max_retries=max_retries,
        )
        http_client = openai.DefaultHttpxClient(transport=transport) if transport else None
        self._sdk = openai.OpenAI(**self._sdk_options(), http_client=http_client)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        context_tokens: int = DEFAULT_CONTEXT_TOKENS,
        max_retries: int = DEFAULT_MAX_RETRIES,
        transport: httpx2.BaseTransport | None = None,
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
            max_retries=max_retries,
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
            self._sdk.close()

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
        arguments = self._chat_arguments(
            messages,
            model=model,
            temperature=temperature,
            max_tokens=max_tokens,
            response_format=response_format,
        )
        completions = cast(Any, self._sdk.chat.completions.with_streaming_response)
        body = self._read(lambda: completions.create(stream=False, **arguments), model=model)
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
        arguments = self._chat_arguments(
            messages, model=model, temperature=temperature, max_tokens=max_tokens, response_format=None
        )
        self._ensure_open()
        completions = cast(Any, self._sdk.chat.completions)
        try:
            stream = completions.create(stream=True, **arguments)
        except openai.OpenAIError as exc:
            raise self._sdk_error(exc, model) from exc
        try:
            for event in stream:
                chunk = self._chunk(event)
                if chunk is not None:
                    yield chunk
        except openai.OpenAIError as exc:
            raise self._sdk_error(exc, model) from exc
        except httpx2.HTTPError as exc:  # a read timeout between chunks
            raise translate_transport_error(exc, url=self._base_url, timeouts=self._timeouts) from exc
        finally:
            stream.close()

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
            request,
            model=model,
            temperature=temperature,
            max_tokens=max_tokens,
            response_format=response_format,
        )
        outcome = parse_structured(first.content, schema, finish_reason=first.finish_reason)
        if outcome.value is not None:
            return outcome.value
        logger.warning(
            "%s reply from %s did not validate (%s); asking once for a repair",
            schema.__name__,
            model,
            "; ".join(outcome.problems),
        )
        second = self.chat(
            repair_messages(request, first.content, outcome.problems),
            model=model,
            temperature=temperature,
            max_tokens=max_tokens,
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
        listing = self._sdk.models.with_streaming_response
        return self._model_list(self._read(lambda: listing.list(extra_headers=self._headers()), model=None))

    def embeddings(self, texts: Sequence[str], *, model: str) -> list[list[float]]:
        """One vector per text; see :meth:`AsyncChatClient.embeddings`."""
        if not texts:
            raise ValueError("embeddings() needs at least one text")
        embeddings = self._sdk.embeddings.with_streaming_response
        body = self._read(
            lambda: embeddings.create(
                model=model, input=list(texts), encoding_format="float", extra_headers=self._headers()
            ),
            model=model,
        )
        return self._vectors(body, len(texts))

    def _read(self, open_response: Any, *, model: str | None) -> bytes:
        """The body of the response ``open_response()`` opens; ``Timeouts.total`` is
        checked as the body arrives."""
        self._ensure_open()
        total = self._timeouts.total
        deadline = None if total is None else time.monotonic() + total
        parts: list[bytes] = []
        try:
            with open_response() as response:
                for part in response.iter_bytes():
                    parts.append(part)
                    if deadline is not None and time.monotonic() > deadline:
                        raise total_timeout_error(self._base_url, total or 0.0)
        except openai.OpenAIError as exc:
            raise self._sdk_error(exc, model) from exc
        except httpx2.HTTPError as exc:
            raise translate_transport_error(exc, url=self._base_url, timeouts=self._timeouts) from exc
        return b"".join(parts)

    def _sdk_error(self, exc: openai.OpenAIError, model: str | None) -> AssistantError:
        error = self._translate(exc, model)
        if isinstance(error, ModelNotFoundError):
            try:
                available = self.models()
            except AssistantError:
                available = []
            error = self._with_models(error, available)
        return error
