"""Structured outputs: schema in response_format and prompt, one repair, clear failure."""

from __future__ import annotations

import asyncio
import json

import pytest

from studio.assistant import (
    AsyncChatClient,
    CharacterSheet,
    ChatClient,
    MalformedOutputError,
    Message,
    PromptSuggestion,
    SceneBreakdown,
    parse_structured,
)
from studio.assistant._exceptions import truncate_for_display
from studio.assistant._structured import structured_messages
from tests.assistant.conftest import TEST_TIMEOUTS
from tests.assistant.fake_openai import FakeOpenAI

REQUEST = [
    Message.system("You are a story editor."),
    Message.user("Break this synopsis into scenes: Aoi delivers a letter in the rain."),
]
GOOD = {
    "episode_title": "The Letter",
    "scenes": [
        {"title": "Harbour", "description": "Aoi runs through the rain.", "characters": ["Aoi"]},
        {"title": "Doorstep", "description": "She hands over the letter.",
         "camera_movement": "dolly", "duration": 20},
    ],
}
TRUNCATED = '{"episode_title": "The Letter", "scenes": [{"title": "Harb'


def test_valid_reply_needs_one_request(fake_server: FakeOpenAI, client: ChatClient) -> None:
    fake_server.reply(json.dumps(GOOD))
    breakdown = client.ask_structured(REQUEST, SceneBreakdown, model="fake-large")
    assert [s.title for s in breakdown.scenes] == ["Harbour", "Doorstep"]
    assert breakdown.scenes[1].camera_movement == "dolly"
    (body,) = fake_server.chat_requests()
    response_format = body["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["name"] == "SceneBreakdown"
    assert response_format["json_schema"]["schema"] == SceneBreakdown.model_json_schema()
    system = body["messages"][0]
    assert system["role"] == "system"
    assert system["content"].startswith("You are a story editor.")
    assert "Reply with exactly one JSON object, a SceneBreakdown" in system["content"]
    assert '"scenes"' in system["content"]  # the schema itself is in the prompt
    assert [m["role"] for m in body["messages"]] == ["system", "user"]


def test_malformed_then_repaired(fake_server: FakeOpenAI, client: ChatClient) -> None:
    fake_server.reply(TRUNCATED, json.dumps(GOOD))
    breakdown = client.ask_structured(REQUEST, SceneBreakdown, model="fake-large")
    assert len(breakdown.scenes) == 2
    first, repair = fake_server.chat_requests()
    assert repair["response_format"] == first["response_format"]
    assert repair["messages"][: len(first["messages"])] == first["messages"]
    bad_turn, ask = repair["messages"][-2:]
    assert bad_turn == {"role": "assistant", "content": TRUNCATED}
    assert ask["role"] == "user"
    assert "not valid JSON" in ask["content"]
    assert "only the corrected, complete JSON object" in ask["content"]


def test_invalid_fields_are_listed_in_the_repair(
    fake_server: FakeOpenAI, client: ChatClient
) -> None:
    wrong = {"scenes": [{"title": "Harbour"}], "extra": 1}
    fake_server.reply(json.dumps(wrong), json.dumps(GOOD))
    client.ask_structured(REQUEST, SceneBreakdown, model="fake-large")
    ask = fake_server.chat_requests()[1]["messages"][-1]["content"]
    assert "scenes.0.description: Field required" in ask


def test_malformed_twice_is_a_clear_error(fake_server: FakeOpenAI, client: ChatClient) -> None:
    fake_server.reply("Sure! Here are some scenes: the harbour, the door.", TRUNCATED)
    with pytest.raises(MalformedOutputError) as info:
        client.ask_structured(REQUEST, SceneBreakdown, model="fake-large")
    error = info.value
    assert error.output == TRUNCATED
    assert error.first_output.startswith("Sure!")
    assert error.schema_name == "SceneBreakdown"
    message = str(error)
    assert "did not return a valid SceneBreakdown, even after one repair request" in message
    assert TRUNCATED in message
    assert "not valid JSON" in message
    assert "Nothing was changed" in message
    assert len(fake_server.chat_requests()) == 2  # exactly one repair


def test_a_cut_off_reply_is_repaired(fake_server: FakeOpenAI, client: ChatClient) -> None:
    fake_server.reply(TRUNCATED, finish_reason="length")
    fake_server.reply(json.dumps(GOOD))
    client.ask_structured(REQUEST, SceneBreakdown, model="fake-large", max_tokens=256)
    ask = fake_server.chat_requests()[1]["messages"][-1]["content"]
    assert "cut off by the token limit" in ask


def test_structured_async(fake_server: FakeOpenAI) -> None:
    sheet = {
        "name": "Aoi",
        "description": "A courier with red hair and a yellow raincoat.",
        "prompt_tokens": ["red hair", "yellow raincoat"],
        "palette": ["#d04030", "#f0c020"],
    }

    async def scenario() -> CharacterSheet:
        async with AsyncChatClient(fake_server.base_url, timeouts=TEST_TIMEOUTS) as client:
            fake_server.reply("{not json", json.dumps(sheet))
            return await client.ask_structured(REQUEST, CharacterSheet, model="fake-large")

    result = asyncio.run(scenario())
    assert result.palette == ["#d04030", "#f0c020"]
    assert len(fake_server.chat_requests()) == 2


def test_structured_async_failure(fake_server: FakeOpenAI) -> None:
    async def scenario() -> None:
        async with AsyncChatClient(fake_server.base_url, timeouts=TEST_TIMEOUTS) as client:
            fake_server.reply("{}", "{}")
            await client.ask_structured(REQUEST, PromptSuggestion, model="fake-small")

    with pytest.raises(MalformedOutputError, match="prompt: Field required"):
        asyncio.run(scenario())


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(GOOD),
        f"```json\n{json.dumps(GOOD)}\n```",
        f"```\n{json.dumps(GOOD, indent=2)}\n```",
        f"Here is the breakdown:\n{json.dumps(GOOD)}\nEnjoy!",
    ],
)
def test_parse_tolerates_fences_and_prose(text: str) -> None:
    outcome = parse_structured(text, SceneBreakdown)
    assert outcome.value is not None and outcome.problems == ()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "the reply was empty"),
        ("   ", "the reply was empty"),
        ("[1, 2]", "(top level): Input should be a valid dictionary"),
        ('{"scenes": []}', "scenes: List should have at least 1 item"),
        (TRUNCATED, "not valid JSON"),
        ('{"name": "Aoi"}', "description: Field required"),
    ],
)
def test_parse_reports_problems(text: str, problem: str) -> None:
    schema = CharacterSheet if "Aoi" in text and "scenes" not in text else SceneBreakdown
    outcome = parse_structured(text, schema)
    assert outcome.value is None
    assert any(problem in p for p in outcome.problems), outcome.problems


def test_palette_colours_are_checked() -> None:
    bad = {"name": "Aoi", "description": "d", "prompt_tokens": ["x"], "palette": ["red"]}
    outcome = parse_structured(json.dumps(bad), CharacterSheet)
    assert outcome.value is None
    assert any(p.startswith("palette.0: String should match pattern") for p in outcome.problems)


def test_instruction_joins_the_first_system_message_or_leads() -> None:
    without_system = structured_messages([Message.user("hi")], PromptSuggestion)
    assert [m.role for m in without_system] == ["system", "user"]
    assert "PromptSuggestion" in without_system[0].content


def test_long_output_is_truncated_keeping_both_ends() -> None:
    text = "A" * 5000 + "END"
    shown = truncate_for_display(text, limit=400)
    assert shown.startswith("A" * 300)
    assert shown.endswith("END")
    assert "[... 4603 characters omitted ...]" in shown
    assert truncate_for_display("short") == "short"
