"""Failures: a server that is down, timeouts, a wrong model name, an oversized context."""

from __future__ import annotations

import asyncio

import pytest

from studio.assistant import (
    AssistantOfflineError,
    AssistantTimeoutError,
    AsyncChatClient,
    ChatClient,
    ContextTooLargeError,
    Message,
    ModelNotFoundError,
    Timeouts,
)
from studio.assistant._client import DEFAULT_MAX_RETRIES
from tests.assistant.conftest import TEST_TIMEOUTS
from tests.assistant.fake_openai import FakeOpenAI

HELLO = [Message.user("Hello")]
#: Short read limit for timeout tests; the fake holds the request until it stops.
SHORT = Timeouts(connect=5.0, read=0.2, write=5.0, pool=5.0, total=10.0)


def test_server_down_is_offline_with_the_url(dead_url: str) -> None:
    with ChatClient(dead_url, timeouts=TEST_TIMEOUTS) as client:
        with pytest.raises(AssistantOfflineError) as info:
            client.chat(HELLO, model="fake-small")
        assert info.value.url == dead_url
        message = str(info.value)
        assert f"the model server at {dead_url} is not reachable" in message
        assert "deterministic prompt composer work without it" in message
        with pytest.raises(AssistantOfflineError):
            list(client.stream_chat(HELLO, model="fake-small"))
        with pytest.raises(AssistantOfflineError):
            client.models()
    assert info.value.__cause__ is not None  # chained from the httpx error


def test_server_down_async(dead_url: str) -> None:
    async def scenario() -> None:
        async with AsyncChatClient(dead_url, timeouts=TEST_TIMEOUTS) as client:
            await client.embeddings(["x"], model="fake-embed")

    with pytest.raises(AssistantOfflineError, match="is not reachable"):
        asyncio.run(scenario())


def test_read_timeout(fake_server: FakeOpenAI) -> None:
    fake_server.stall(1 + DEFAULT_MAX_RETRIES)  # the first try and every retry
    client = ChatClient(fake_server.base_url, timeouts=SHORT)
    with client, pytest.raises(AssistantTimeoutError, match="read timeout") as info:
        client.chat(HELLO, model="fake-small")
    assert info.value.phase == "read"
    assert info.value.seconds == 0.2


def test_read_timeout_while_streaming(fake_server: FakeOpenAI) -> None:
    fake_server.stall(1 + DEFAULT_MAX_RETRIES)
    client = ChatClient(fake_server.base_url, timeouts=SHORT)
    with client, pytest.raises(AssistantTimeoutError) as info:
        list(client.stream_chat(HELLO, model="fake-small"))
    assert info.value.phase == "read"


def test_total_timeout_async(fake_server: FakeOpenAI) -> None:
    fake_server.stall()
    limits = Timeouts(connect=5.0, read=10.0, write=5.0, pool=5.0, total=0.2)

    async def scenario() -> None:
        async with AsyncChatClient(fake_server.base_url, timeouts=limits) as client:
            await client.chat(HELLO, model="fake-small")

    with pytest.raises(AssistantTimeoutError, match="total timeout") as info:
        asyncio.run(scenario())
    assert info.value.phase == "total"


def test_wrong_model_lists_the_available_ones(client: ChatClient) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        client.chat(HELLO, model="llama9:400b")
    error = info.value
    assert error.model == "llama9:400b"
    assert error.available == ("fake-embed", "fake-large", "fake-small")
    assert "has no model 'llama9:400b'" in str(error)
    assert "fake-small" in str(error)
    assert error.exit_code == 2


def test_wrong_embedding_model_async(fake_server: FakeOpenAI) -> None:
    async def scenario() -> None:
        async with AsyncChatClient(fake_server.base_url, timeouts=TEST_TIMEOUTS) as client:
            await client.embeddings(["x"], model="nomic-embed-text")

    with pytest.raises(ModelNotFoundError, match="it serves: fake-embed, fake-large"):
        asyncio.run(scenario())


@pytest.mark.parametrize(
    "body",
    [
        # Ollama
        {"error": {"message": 'model "llama9" not found, try pulling it first',
                   "type": "api_error", "param": None, "code": None}},
        # vLLM
        {"object": "error", "message": "The model `llama9` does not exist.",
         "type": "NotFoundError", "param": None, "code": 404},
    ],
)
def test_model_missing_in_other_dialects(
    fake_server: FakeOpenAI, client: ChatClient, body: dict[str, object]
) -> None:
    fake_server.fail(404, body)
    with pytest.raises(ModelNotFoundError, match="fake-large"):
        client.chat(HELLO, model="fake-small")


def test_the_servers_context_error_is_mapped(fake_server: FakeOpenAI) -> None:
    # The client believes in a big window; the server's is 4096 tokens.
    client = ChatClient(fake_server.base_url, timeouts=TEST_TIMEOUTS, context_tokens=100_000)
    with client, pytest.raises(ContextTooLargeError, match="maximum context length is 4096"):
        client.chat([Message.user("word " * 20_000)], model="fake-small")


def test_llama_cpp_context_error_is_mapped(fake_server: FakeOpenAI, client: ChatClient) -> None:
    fake_server.fail(
        400,
        {"error": {"code": 400, "type": "exceed_context_size_error",
                   "message": "the request exceeds the available context size"}},
    )
    with pytest.raises(ContextTooLargeError):
        client.chat(HELLO, model="fake-small")


def test_oversized_request_is_refused_before_sending(fake_server: FakeOpenAI) -> None:
    client = ChatClient(fake_server.base_url, timeouts=TEST_TIMEOUTS, context_tokens=2048)
    request = [Message.system("Be brief."), Message.user("x" * 10_000)]
    with client, pytest.raises(ContextTooLargeError, match="shorten the text") as info:
        client.chat(request, model="fake-small")
    assert info.value.budget == 2048 - 1024
    assert info.value.tokens is not None and info.value.tokens > info.value.budget
    assert fake_server.chat_requests() == []


def test_long_conversation_is_trimmed_to_fit(fake_server: FakeOpenAI) -> None:
    history = [Message.system("You are Echo Brain.")]
    for turn in range(40):
        history.append(Message.user(f"question {turn} " + "q" * 200))
        history.append(Message.assistant("a" * 200))
    history.append(Message.user("What did we decide about Aoi?"))
    with ChatClient(fake_server.base_url, timeouts=TEST_TIMEOUTS, context_tokens=2048) as client:
        reply = client.chat(history, model="fake-small")
    assert reply.content == "echo: What did we decide about Aoi?"
    sent = fake_server.chat_requests()[0]["messages"]
    assert sent[0] == {"role": "system", "content": "You are Echo Brain."}
    assert sent[1]["role"] == "system" and sent[1]["content"].startswith("Summary of ")
    assert sent[-1]["content"] == "What did we decide about Aoi?"
    assert len(sent) < len(history)
    assert sum(len(m["content"]) for m in sent) / 4 <= 2048 - 1024


def test_max_tokens_larger_than_the_window(client: ChatClient) -> None:
    with pytest.raises(ContextTooLargeError, match="leaves no room for the prompt"):
        client.chat(HELLO, model="fake-small", max_tokens=1_000_000)
