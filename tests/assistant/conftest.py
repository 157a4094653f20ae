"""Fixtures: a fake OpenAI server per test, clients pointed at it, a dead port."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from click.testing import CliRunner, Result

from studio._cli._assist import COMMANDS
from studio._cli._common import adopt
from studio._config import Settings, load_settings
from studio._studio import Studio
from studio.assistant import ChatClient, EchoBrain, Timeouts
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


#: Routing used by the studio-backed tests: prompts and chat on the small model,
#: story work on the large one, embeddings on the embedding model.
MODELS = "fast=fake-small,story=fake-large,embed=fake-embed"


def llm_settings(settings: Settings, base_url: str, **extra: str) -> Settings:
    """``settings`` (SQLite or PostgreSQL) pointed at a model server."""
    environ = {"STUDIO_LLM_URL": base_url, "STUDIO_LLM_MODELS": MODELS, **extra}
    return load_settings(home=settings.home, database_url=settings.database_url, environ=environ)


@pytest.fixture
def studio(settings: Settings, fake_server: FakeOpenAI) -> Iterator[Studio]:
    """The demo imported into a studio on both databases, with the fake server configured."""
    with Studio.open(settings=llm_settings(settings, fake_server.base_url), upgrade=True) as opened:
        opened.import_demo()
        yield opened


@pytest.fixture
def brain(studio: Studio) -> Iterator[EchoBrain]:
    with EchoBrain.from_studio(studio, timeouts=TEST_TIMEOUTS) as assistant:
        yield assistant


@pytest.fixture
def cli_env(studio: Studio, fake_server: FakeOpenAI) -> dict[str, str]:
    """The environment a `studio assist` command needs to reach this studio and server."""
    return {
        "STUDIO_HOME": str(studio.home),
        "STUDIO_LLM_URL": fake_server.base_url,
        "STUDIO_LLM_MODELS": MODELS,
        "STUDIO_DATABASE_URL": studio.settings.database_url,
        "STUDIO_LLM_CONTEXT_TOKENS": "",
    }


def run_cli(args: list[str], env: dict[str, str], *, input: str | None = None) -> Result:
    """Run `studio assist ARGS` in-process, as the registered group."""
    return CliRunner().invoke(adopt(COMMANDS[0]), args, env=env, input=input, catch_exceptions=False)
