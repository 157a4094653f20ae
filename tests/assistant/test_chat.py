"""Stored conversations and `studio assist chat`, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from studio import ConfigurationError, NotFoundError, StorageError
from studio._config import Settings, load_settings
from studio._studio import DEMO_SCREENPLAY, Studio
from studio.assistant import (
    DEFAULT_CONTEXT_TOKENS,
    AssistantOfflineError,
    AssistantTimeoutError,
    ContextTooLargeError,
    ConversationStore,
    EchoBrain,
    NewMessage,
    configured_context_tokens,
    estimate_message_tokens,
)
from studio.assistant._assist import project_brief
from studio.assistant._client import DEFAULT_MAX_RETRIES
from studio.project._importer import import_file
from studio.storage._database import Database
from studio.storage._models import AssistantMessageModel, ProjectModel
from tests.assistant.conftest import TEST_TIMEOUTS, llm_settings, run_cli
from tests.assistant.fake_openai import FakeOpenAI
from tests.assistant.test_errors import SHORT

# ----------------------------------------------------------------------------- store


def demo_project(database: Database, home: Path) -> int:
    import_file(database, DEMO_SCREENPLAY, home=home)
    with database.session() as session:
        return int(session.scalar(select(ProjectModel.id)) or 0)


def demo_project_id(studio: Studio) -> int:
    with studio.database.session() as session:
        return int(session.scalar(select(ProjectModel.id)) or 0)


def test_store_appends_in_order_and_lists(database: Database, settings: Settings) -> None:
    project_id = demo_project(database, settings.home)
    store = ConversationStore(database)
    first, start = store.append(
        None,
        [NewMessage("user", "What does   Luna\nwear?"), NewMessage("assistant", "A teal jacket.", model="m")],
        project_id=project_id,
    )
    assert start == 0
    again, start = store.append(first, [NewMessage("user", "And Kai?")], project_id=project_id)
    assert (again, start) == (first, 2)
    second, _ = store.append(None, [NewMessage("user", "x" * 200)], project_id=project_id, task="prompt")

    listed = store.where_project(project_id)
    assert [c.id for c in listed] == [second, first]  # most recently updated first
    assert listed[1].title == "What does Luna wear?"
    assert listed[1].message_count == 3 and listed[1].model == "m"
    assert len(listed[0].title) == 80 and listed[0].title.endswith("…")
    assert listed[1].as_dict()["project"] == "Neon Tide"

    stored = store.find_or_raise(first)
    assert [(m.position, m.role) for m in stored.messages] == [(0, "user"), (1, "assistant"), (2, "user")]
    assert stored.messages[1].as_message().content == "A teal jacket."

    store.set_status(first, 1, "accepted")
    assert store.find_or_raise(first).messages[1].status == "accepted"
    with pytest.raises(ValueError, match="unknown proposal status"):
        store.set_status(first, 1, "maybe")
    with pytest.raises(NotFoundError, match="there is no conversation 999"):
        store.find_or_raise(999)
    with pytest.raises(NotFoundError):
        store.append(999, [NewMessage("user", "hi")], project_id=project_id)


def test_the_database_enforces_roles_positions_and_cascades(database: Database, settings: Settings) -> None:
    project_id = demo_project(database, settings.home)
    store = ConversationStore(database)
    conversation, _ = store.append(None, [NewMessage("user", "hi")], project_id=project_id)
    with pytest.raises(StorageError, match="refused"), database.session() as session:
        session.add(AssistantMessageModel(conversation_id=conversation, position=1, role="tool", content="x"))
    with pytest.raises(StorageError, match="refused"), database.session() as session:
        session.add(AssistantMessageModel(conversation_id=conversation, position=0, role="user", content="x"))
    with database.session() as session:
        session.execute(delete(ProjectModel))
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(AssistantMessageModel)) == 0
    assert store.where_project() == []


# ------------------------------------------------------------------------------ chat


def test_chat_streams_stores_and_resumes(brain: EchoBrain, fake_server: FakeOpenAI) -> None:
    fake_server.reply("Luna keeps her teal rain jacket all episode.", "Kai wears his orange hoodie.")
    pieces: list[str] = []
    first = brain.chat("What does Luna wear?", on_text=pieces.append)
    assert len(pieces) > 1 and "".join(pieces) == first.content  # streamed, piece by piece
    assert first.content == "Luna keeps her teal rain jacket all episode."
    request = fake_server.chat_requests()[0]
    assert request["stream"] is True and request["model"] == "fake-small"  # the fast tier
    system = request["messages"][0]
    assert system["role"] == "system"
    assert "- Luna: A quiet courier" in system["content"] and "Scene 3: The docks" in system["content"]

    second = brain.chat("And Kai?", conversation=first.conversation_id)
    assert second.conversation_id == first.conversation_id
    sent = fake_server.chat_requests()[1]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[2]["content"] == first.content

    stored = brain.conversations.find_or_raise(first.conversation_id)
    assert [m.content for m in stored.messages] == [
        "What does Luna wear?", first.content, "And Kai?", second.content,
    ]
    reply = stored.messages[3]
    assert reply.model == "fake-small"
    # The estimate of what was sent: the history plus the system prompt.
    history_only = estimate_message_tokens([m.as_message() for m in stored.messages[:3]])
    assert reply.prompt_tokens == second.prompt_tokens > history_only
    assert reply.completion_tokens == second.completion_tokens > 0
    assert stored.info.task == "chat"


def test_a_failed_turn_stores_nothing(brain: EchoBrain, fake_server: FakeOpenAI, studio: Studio) -> None:
    fake_server.reply("First answer.")
    first = brain.chat("Hello")
    fake_server.stall(1 + DEFAULT_MAX_RETRIES)
    with EchoBrain.from_studio(studio, timeouts=SHORT) as hasty, pytest.raises(AssistantTimeoutError):
        hasty.chat("Are you there?", conversation=first.conversation_id)
    assert len(brain.conversations.find_or_raise(first.conversation_id).messages) == 2
    with pytest.raises(ValueError, match="the message is empty"):
        brain.chat("   ")


def test_server_down_stores_nothing(settings: Settings, dead_url: str) -> None:
    with Studio.open(settings=llm_settings(settings, dead_url), upgrade=True) as studio:
        studio.import_demo()
        brain = EchoBrain.from_studio(studio, timeouts=TEST_TIMEOUTS)
        with brain, pytest.raises(AssistantOfflineError, match="is not reachable"):
            brain.chat("Hello")
        assert brain.conversations.where_project() == []


def test_a_long_conversation_is_fitted_to_the_configured_budget(
    studio: Studio, fake_server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STUDIO_LLM_CONTEXT_TOKENS", "2048")
    with EchoBrain.from_studio(studio, timeouts=TEST_TIMEOUTS) as brain:
        history = [
            NewMessage("user" if turn % 2 == 0 else "assistant", f"turn {turn} " + "w" * 400)
            for turn in range(30)
        ]
        project_id = demo_project_id(studio)
        conversation, _ = brain.conversations.append(None, history, project_id=project_id)
        reply = brain.chat("So what did we decide?", conversation=conversation)
    sent = fake_server.chat_requests()[0]["messages"]
    assert reply.dropped > 0
    assert sent[1]["role"] == "system" and sent[1]["content"].startswith("Summary of ")
    assert sent[-1]["content"] == "So what did we decide?"
    assert sum(4 + -(-len(m["content"]) // 4) for m in sent) <= 2048 - 1024
    assert len(brain.conversations.find_or_raise(conversation).messages) == 32  # all kept


def test_an_oversized_message_is_refused_and_not_stored(brain: EchoBrain, fake_server: FakeOpenAI) -> None:
    with pytest.raises(ContextTooLargeError, match="shorten the text"):
        brain.chat("tide " * 10_000)
    assert fake_server.chat_requests() == []
    assert brain.conversations.where_project() == []


def test_the_project_brief_is_cut_to_its_share_of_the_budget(studio: Studio) -> None:
    screenplay = studio.export()
    full = project_brief(screenplay)
    assert "Scene 3: The docks" in full
    cut = project_brief(screenplay, max_tokens=60)
    assert len(cut) <= 60 * 4
    assert cut.startswith("Project: Neon Tide")
    assert "left out to fit the context" in cut


def test_the_context_budget_setting(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path, environ={})
    assert configured_context_tokens(settings, environ={}) == DEFAULT_CONTEXT_TOKENS == 8192
    assert configured_context_tokens(settings, environ={"STUDIO_LLM_CONTEXT_TOKENS": "32768"}) == 32768
    (tmp_path / ".env").write_text("STUDIO_LLM_CONTEXT_TOKENS=4096\n", encoding="utf-8")
    assert configured_context_tokens(settings, environ={}) == 4096  # the home's .env
    assert configured_context_tokens(settings, environ={"STUDIO_LLM_CONTEXT_TOKENS": "2048"}) == 2048
    for bad in ("lots", "0"):
        with pytest.raises(ConfigurationError, match="STUDIO_LLM_CONTEXT_TOKENS must be"):
            configured_context_tokens(settings, environ={"STUDIO_LLM_CONTEXT_TOKENS": bad})


# ------------------------------------------------------------------------------- CLI


def test_cli_chat_one_message_then_resume_then_list(
    fake_server: FakeOpenAI, cli_env: dict[str, str]
) -> None:
    fake_server.reply("Teal, always teal.", "Orange.")
    first = run_cli(["chat", "--message", "What does Luna wear?"], cli_env)
    assert first.exit_code == 0, first.output
    assert first.stdout == "Teal, always teal.\n"
    assert "conversation 1 (resume: --conversation 1)" in first.stderr

    second = run_cli(["chat", "--conversation", "1", "-m", "And Kai?", "--json"], cli_env)
    assert second.exit_code == 0, second.output
    document = json.loads(second.stdout)
    assert (document["conversation"], document["reply"], document["model"]) == (1, "Orange.", "fake-small")

    listed = run_cli(["chat", "--list"], cli_env)
    assert listed.exit_code == 0, listed.output
    assert "What does Luna wear?" in listed.stdout
    rows = json.loads(run_cli(["chat", "--list", "--json"], cli_env).stdout)
    assert [(r["id"], r["messages"], r["task"]) for r in rows] == [(1, 4, "chat")]


def test_cli_chat_interactive_session(fake_server: FakeOpenAI, cli_env: dict[str, str]) -> None:
    fake_server.reply("Hello, director.", "Scene 2 is the chase.")
    result = run_cli(["chat"], cli_env, input="Hi\nWhich scene is the chase?\n/quit\nnever sent\n")
    assert result.exit_code == 0, result.output
    assert "Hello, director." in result.stdout and "Scene 2 is the chase." in result.stdout
    rows = json.loads(run_cli(["chat", "--list", "--json"], cli_env).stdout)
    assert [(r["id"], r["messages"]) for r in rows] == [(1, 4)]  # one conversation, two turns
    assert len(fake_server.chat_requests()) == 2


def test_cli_chat_keeps_going_after_a_failed_turn(
    fake_server: FakeOpenAI, cli_env: dict[str, str]
) -> None:
    for _ in range(1 + DEFAULT_MAX_RETRIES):  # a lasting failure: every retry fails too
        fake_server.fail(500, {"error": {"message": "CUDA out of memory", "type": "server_error", "code": None}})
    fake_server.reply("Better now.")
    result = run_cli(["chat"], cli_env, input="First try\nSecond try\n")
    assert result.exit_code == 0, result.output
    assert "CUDA out of memory" in result.stderr
    assert "Better now." in result.stdout
    rows = json.loads(run_cli(["chat", "--list", "--json"], cli_env).stdout)
    assert [r["messages"] for r in rows] == [2]  # only the turn that worked


def test_cli_chat_offline_but_list_works(cli_env: dict[str, str]) -> None:
    offline = {**cli_env, "STUDIO_LLM_URL": ""}
    result = run_cli(["chat", "-m", "Hello"], offline)
    assert result.exit_code == 1
    assert "no model server configured" in result.stderr
    listed = run_cli(["chat", "--list"], offline)
    assert listed.exit_code == 0
    assert "no conversations yet" in listed.stdout


def test_cli_chat_unknown_conversation(cli_env: dict[str, str]) -> None:
    result = run_cli(["chat", "--conversation", "42", "-m", "Hello"], cli_env)
    assert result.exit_code == 2
    assert "there is no conversation 42" in result.stderr


def test_cli_chat_json_needs_a_message(cli_env: dict[str, str]) -> None:
    result = run_cli(["chat", "--json"], cli_env)
    assert result.exit_code == 2
    assert "--json needs --message" in result.output
