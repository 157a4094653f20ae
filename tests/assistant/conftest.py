"""Fixtures: a fake OpenAI server per test, clients pointed at it, a dead port."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from studio.assistant import ChatClient, Timeouts
from tests.assistant.fake_openai import FakeOpenAI

#: Generous for a loopback server, so slow CI never trips it; timeout tests use their own.
TEST_TIMEOUTS = Timeouts.uniform(10.0)


@pytest.fixture
def fake_server() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def client(fake_server: FakeOpenAI) -> Iterator[ChatClient]:
    with ChatClient(fake_server.base_url, timeouts=TEST_TIMEOUTS) as chat_client:
        yield chat_client


@pytest.fixture
def dead_url() -> str:
    """A loopback URL where nothing listens (the port was free a moment ago)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
