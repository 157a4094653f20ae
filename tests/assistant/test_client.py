"""The chat client against the fake server: completions, streams, models, embeddings."""

from __future__ import annotations

import asyncio
import logging
from contextlib import aclosing, closing

import httpx2
import pytest

from studio import ConfigurationError, load_settings
from studio.assistant import (
    AssistantOfflineError,
    AssistantServerError,
    AsyncChatClient,
    ChatChunk,
    ChatClient,
    ClientState,
    Message,
)
from tests.assistant.conftest import TEST_TIMEOUTS
from tests.assistant.fake_openai import FakeOpenAI, fake_embedding

HELLO = [Message.system("You are Echo Brain."), Message.user("Hello")]


def test_chat_returns_the_completion(fake_server: FakeOpenAI, client: ChatClient) -> None:
    fake_server.reply("Hi, director.")
    completion = client.chat(HELLO, model="fake-small", temperature=0.3, max_tokens=64)
    assert completion.content == "Hi, director."
    assert completion.model == "fake-small"
    assert completion.finish_reason == "stop"
    assert completion.usage is not None and completion.usage.total_tokens > 0
    assert completion.id.startswith("chatcmpl-")
    (body,) = fake_server.chat_requests()
    assert body == {
        "model": "fake-small",
        "messages": [
            {"role": "system", "content": "You are Echo Brain."},
            {"role": "user", "content": "Hello"},
        ],
        "stream": False,
        "temperature": 0.3,
        "max_tokens": 64,
    }


def test_stream_chat_yields_the_deltas_in_order(
    fake_server: FakeOpenAI, client: ChatClient
) -> None:
    text = "A long reply, streamed in small pieces."
    fake_server.reply(text)
    chunks = list(client.stream_chat(HELLO, model="fake-small"))
    assert "".join(c.content for c in chunks) == text
    assert len(chunks) > 3
    assert chunks[-1] == ChatChunk(content="", finish_reason="stop")
    assert fake_server.chat_requests()[0]["stream"] is True


def test_stream_chat_can_stop_early(fake_server: FakeOpenAI, client: ChatClient) -> None:
    fake_server.reply("one two three four five six")
    with closing(client.stream_chat(HELLO, model="fake-small")) as chunks:
        first = next(chunks)
    assert first.content
    fake_server.reply("still usable")
    assert client.chat(HELLO, model="fake-small").content == "still usable"


def test_models_lists_the_server_models(client: ChatClient) -> None:
    assert client.models() == ["fake-embed", "fake-large", "fake-small"]


def test_embeddings_come_back_in_input_order(
    fake_server: FakeOpenAI, client: ChatClient
) -> None:
    texts = ["Aoi, a courier with red hair", "a rainy harbour", "Aoi, a courier with red hair"]
    vectors = client.embeddings(texts, model="fake-embed")
    assert vectors == [fake_embedding(t) for t in texts]
    assert vectors[0] == vectors[2] != vectors[1]
    body = fake_server.requests[-1].body
    assert body == {"model": "fake-embed", "input": texts, "encoding_format": "float"}


def test_embeddings_need_a_text(client: ChatClient) -> None:
    with pytest.raises(ValueError, match="at least one text"):
        client.embeddings([], model="fake-embed")


def test_async_client_mirrors_the_sync_one(fake_server: FakeOpenAI) -> None:
    async def scenario() -> tuple[str, str, list[str], list[list[float]]]:
        async with AsyncChatClient(fake_server.base_url, timeouts=TEST_TIMEOUTS) as client:
            fake_server.reply("plain", "streamed reply")
            plain = (await client.chat(HELLO, model="fake-large")).content
            async with aclosing(client.stream_chat(HELLO, model="fake-large")) as stream:
                streamed = "".join([chunk.content async for chunk in stream])
            models = await client.models()
            vectors = await client.embeddings(["x"], model="fake-embed")
        assert client.state is ClientState.CLOSED
        return plain, streamed, models, vectors

    plain, streamed, models, vectors = asyncio.run(scenario())
    assert (plain, streamed) == ("plain", "streamed reply")
    assert models == ["fake-embed", "fake-large", "fake-small"]
    assert vectors == [fake_embedding("x")]


def test_sync_and_async_clients_have_the_same_methods() -> None:
    def public(cls: type) -> set[str]:
        return {name for name in vars(cls) if not name.startswith("_")}

    assert public(ChatClient) - {"close"} == public(AsyncChatClient) - {"aclose"}


def test_a_closed_client_refuses_work(fake_server: FakeOpenAI) -> None:
    client = ChatClient(fake_server.base_url, timeouts=TEST_TIMEOUTS)
    client.close()
    with pytest.raises(RuntimeError, match="has been closed; create a new one"):
        client.models()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://localhost:11434", "http://localhost:11434/v1"),
        ("http://localhost:11434/v1/", "http://localhost:11434/v1"),
        ("https://api.openai.com/v1", "https://api.openai.com/v1"),
    ],
)
def test_base_url_gets_v1(given: str, expected: str) -> None:
    with ChatClient(given) as client:
        assert client.base_url == expected


@pytest.mark.parametrize("bad", ["localhost:11434", "ftp://host/v1", "http://"])
def test_base_url_must_be_http(bad: str) -> None:
    with pytest.raises(ConfigurationError, match="STUDIO_LLM_URL must be an http"):
        ChatClient(bad)


def test_from_settings_without_a_url_says_offline() -> None:
    settings = load_settings(home="/tmp/studio-test-home", environ={})
    configured = "no model server configured: set STUDIO_LLM_URL"
    with pytest.raises(AssistantOfflineError, match=configured):
        ChatClient.from_settings(settings)
    with pytest.raises(AssistantOfflineError, match="deterministic prompt composer"):
        AsyncChatClient.from_settings(settings)


def test_from_settings_uses_url_and_key(fake_server: FakeOpenAI) -> None:
    fake_server.api_key = "sk-test-secret-123"
    settings = load_settings(
        home="/tmp/studio-test-home",
        environ={
            "STUDIO_LLM_URL": fake_server.base_url,
            "STUDIO_LLM_API_KEY": "sk-test-secret-123",
        },
    )
    with ChatClient.from_settings(settings, timeouts=TEST_TIMEOUTS) as client:
        assert client.models()
    assert fake_server.requests[-1].headers["Authorization"] == "Bearer sk-test-secret-123"


def test_the_api_key_is_never_shown(
    fake_server: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "sk-test-secret-123"
    fake_server.api_key = secret
    caplog.set_level(logging.DEBUG)
    settings = load_settings(
        home="/tmp/studio-test-home",
        environ={"STUDIO_LLM_URL": fake_server.base_url, "STUDIO_LLM_API_KEY": secret},
    )
    assert secret not in repr(settings)
    with ChatClient.from_settings(settings, timeouts=TEST_TIMEOUTS) as client:
        assert secret not in repr(client)
        client.chat(HELLO, model="fake-small")
    assert secret not in caplog.text
    # A server that quotes the (wrong) key back: the error message scrubs it.
    bad = ChatClient(fake_server.base_url, api_key="sk-wrong-key", timeouts=TEST_TIMEOUTS)
    with bad, pytest.raises(AssistantServerError, match="Check STUDIO_LLM_API_KEY") as info:
        bad.chat(HELLO, model="fake-small")
    assert info.value.status_code == 401
    assert "sk-wrong-key" not in str(info.value)
    assert "sk-wrong-key" not in caplog.text


def test_a_body_that_is_not_json_is_a_clear_error() -> None:
    transport = httpx2.MockTransport(lambda request: httpx2.Response(200, text="<html>hi</html>"))
    client = ChatClient("http://model.invalid/v1", transport=transport)
    with client, pytest.raises(AssistantServerError, match="OpenAI-compatible API") as info:
        client.chat(HELLO, model="m")
    assert "<html>hi</html>" in str(info.value)


def test_a_wrong_path_suggests_checking_the_url() -> None:
    transport = httpx2.MockTransport(lambda request: httpx2.Response(404, text="404 not found"))
    client = ChatClient("http://model.invalid", transport=transport)
    with client, pytest.raises(AssistantServerError, match="usually ends in /v1") as info:
        client.models()
    assert info.value.status_code == 404


def test_an_error_event_mid_stream_is_raised() -> None:
    events = (
        'data: {"choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}\n\n'
        'data: {"error":{"message":"the GPU fell over","type":"server_error","code":null}}\n\n'
    )

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, text=events, headers={"Content-Type": "text/event-stream"})

    with ChatClient("http://model.invalid/v1", transport=httpx2.MockTransport(handler)) as client:
        stream = client.stream_chat(HELLO, model="m")
        assert next(stream).content == "Hel"
        with pytest.raises(AssistantServerError, match="the GPU fell over"):
            next(stream)


def test_a_stream_without_done_ends_cleanly() -> None:
    events = (
        ": keep-alive comment\n"
        "event: message\n"
        'data: {"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]}\n\n'
        'data: {"choices":[{"index":0,"delta":{"content":"b"},"finish_reason":"stop"}]}\n\n'
        # An event cut off before its blank line is not dispatched (WHATWG SSE rules).
        'data: {"choices":[{"index":0,"delta":{"content":"lost"},"finish_reason":null}]}'
    )
    transport = httpx2.MockTransport(lambda request: httpx2.Response(200, text=events))
    with ChatClient("http://model.invalid/v1", transport=transport) as client:
        chunks = list(client.stream_chat(HELLO, model="m"))
    assert [(c.content, c.finish_reason) for c in chunks] == [("a", None), ("b", "stop")]
