"""Token estimates and fitting a conversation into a budget (no server)."""

from __future__ import annotations

import pytest

from studio.assistant import (
    ContextTooLargeError,
    Message,
    estimate_message_tokens,
    estimate_tokens,
    fit_messages,
)


def test_estimate_is_a_quarter_of_the_characters_rounded_up() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("abcde") == 2
    assert estimate_message_tokens([Message.user("abcd"), Message.assistant("")]) == 4 + 1 + 4


def test_messages_that_fit_are_unchanged() -> None:
    messages = [Message.system("s"), Message.user("u")]
    fitted = fit_messages(messages, 100)
    assert fitted.messages == tuple(messages)
    assert (fitted.dropped, fitted.summarised) == (0, False)


def test_oldest_are_dropped_first_and_summarised() -> None:
    messages = [Message.system("rules")]
    messages += [Message.user(f"turn {i}: " + "x" * 400) for i in range(10)]
    fitted = fit_messages(messages, 600)
    assert fitted.tokens <= 600
    assert fitted.messages[0] == Message.system("rules")
    assert fitted.messages[-1] == messages[-1]
    assert fitted.summarised
    summary = fitted.messages[1]
    assert summary.role == "system"
    assert f"Summary of {fitted.dropped} earlier messages" in summary.content
    kept = fitted.messages[2:]
    assert list(kept) == messages[len(messages) - len(kept) :]  # the newest, in order


def test_without_summary() -> None:
    messages = [Message.user("x" * 400) for _ in range(5)]
    fitted = fit_messages(messages, 250, summarise=False)
    assert not fitted.summarised
    assert all(m.role == "user" for m in fitted.messages)
    assert fitted.tokens <= 250


def test_the_summary_keeps_the_latest_lines_when_room_is_short() -> None:
    messages = [Message.user(f"old {i} " + "y" * 1200) for i in range(30)]
    messages.append(Message.user("now"))
    fitted = fit_messages(messages, 1000)
    assert fitted.tokens <= 1000
    assert fitted.summarised and fitted.dropped == 28
    summary = fitted.messages[0].content
    assert "- user: old 27 " in summary and "old 0 " not in summary


def test_system_plus_newest_too_big_raises() -> None:
    with pytest.raises(ContextTooLargeError, match="needs about 263 tokens") as info:
        fit_messages([Message.system("s" * 20), Message.user("u" * 1000)], 100)
    assert (info.value.tokens, info.value.budget) == (263, 100)


@pytest.mark.parametrize(("messages", "budget"), [([], 10), ([Message.user("x")], 0)])
def test_bad_arguments(messages: list[Message], budget: int) -> None:
    with pytest.raises(ValueError):
        fit_messages(messages, budget)
