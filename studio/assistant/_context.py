"""Fitting a conversation into a token budget.

Token counts are *estimates*: one token per four characters (rounded up) plus a fixed
overhead per message for the chat template's role markers. That is what OpenAI quotes
for English text and is close for Llama/Mistral/Gemma tokenizers; it underestimates
dense scripts (Japanese counts nearer one token per character), so budgets should keep
a margin. The server has the last word: its own "context length exceeded" error is
mapped to :class:`ContextTooLargeError` as well.

Trimming keeps every leading system message and the newest messages that fit, and
replaces what it drops with one short extractive summary (the start of each dropped
message), so the model still knows roughly what was said. Nothing here calls a model.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from studio._config import Settings, read_env_file
from studio._exceptions import ConfigurationError
from studio.assistant._exceptions import ContextTooLargeError
from studio.assistant._types import Message

__all__ = [
    "CHARS_PER_TOKEN",
    "CONTEXT_TOKENS_VARIABLE",
    "DEFAULT_CONTEXT_TOKENS",
    "DEFAULT_REPLY_TOKENS",
    "FittedContext",
    "configured_context_tokens",
    "estimate_message_tokens",
    "estimate_tokens",
    "fit_messages",
]

CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD_TOKENS = 4
#: The whole window (prompt + reply) assumed when nothing else is configured. 8k is
#: what most local models (Llama 3, Mistral 7B, Gemma) run with by default.
DEFAULT_CONTEXT_TOKENS = 8192
#: The variable that sets the context window (the model server's ``num_ctx``/``-c``).
CONTEXT_TOKENS_VARIABLE = "STUDIO_LLM_CONTEXT_TOKENS"
#: Room kept for the reply when the request sets no ``max_tokens``.
DEFAULT_REPLY_TOKENS = 1024
#: Below this many tokens a summary is not worth sending.
_MIN_SUMMARY_TOKENS = 24
_MAX_SUMMARY_TOKENS = 512
_SUMMARY_EXCERPT_CHARS = 160


def configured_context_tokens(settings: Settings, *, environ: Mapping[str, str] | None = None) -> int:
    """The context window to fit requests into: ``STUDIO_LLM_CONTEXT_TOKENS``, else 8192.

    Read like every other setting: the environment first, then ``HOME/.env``. A
    ``Settings.llm_context_tokens`` field, once the settings carry one, wins over both
    (it was resolved from the same sources).

    Args:
        settings: The studio settings (for the home's ``.env`` file).
        environ: The environment to read; ``os.environ`` by default.

    Raises:
        ConfigurationError: the value is not a positive whole number.
    """
    resolved = getattr(settings, "llm_context_tokens", None)
    if isinstance(resolved, int) and resolved > 0:
        return resolved
    env = os.environ if environ is None else environ
    raw = env.get(CONTEXT_TOKENS_VARIABLE)
    if raw is None:
        raw = read_env_file(settings.home / ".env").get(CONTEXT_TOKENS_VARIABLE)
    if raw is None or not raw.strip():
        return DEFAULT_CONTEXT_TOKENS
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(
            f"{CONTEXT_TOKENS_VARIABLE} must be a whole number of tokens, got {raw!r}"
        ) from None
    if value <= 0:
        raise ConfigurationError(f"{CONTEXT_TOKENS_VARIABLE} must be positive, got {value}")
    return value


def estimate_tokens(text: str) -> int:
    """Estimate how many tokens ``text`` takes: ``ceil(len(text) / 4)``."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def estimate_message_tokens(messages: Sequence[Message]) -> int:
    """Estimate a whole request: each message's text plus a per-message overhead."""
    return sum(MESSAGE_OVERHEAD_TOKENS + estimate_tokens(m.content) for m in messages)


@dataclass(frozen=True)
class FittedContext:
    """The outcome of :func:`fit_messages`.

    Attributes:
        messages: What to send.
        dropped: How many of the original messages were left out.
        summarised: Whether a summary of the dropped messages was added.
        tokens: The estimated size of ``messages``.
    """

    messages: tuple[Message, ...]
    dropped: int
    summarised: bool
    tokens: int


def fit_messages(
    messages: Sequence[Message], budget: int, *, summarise: bool = True
) -> FittedContext:
    """Fit ``messages`` into ``budget`` estimated tokens.

    Leading system messages and the newest message are always kept; older messages are
    dropped oldest first until the rest fits, and (when ``summarise``) replaced by one
    system message that quotes the start of each, if room is left for it.

    Args:
        messages: The conversation, oldest first.
        budget: The most tokens the prompt may take (the context window minus the room
            kept for the reply).
        summarise: Whether to add the extractive summary of what was dropped.

    Returns:
        The messages to send, unchanged when they already fit.

    Raises:
        ContextTooLargeError: the system messages and the newest message alone exceed
            the budget; the message says how far over it is.
        ValueError: ``messages`` is empty or ``budget`` is not positive.
    """
    if not messages:
        raise ValueError("fit_messages needs at least one message")
    if budget <= 0:
        raise ValueError(f"the token budget must be positive, got {budget}")
    total = estimate_message_tokens(messages)
    if total <= budget:
        return FittedContext(tuple(messages), dropped=0, summarised=False, tokens=total)

    head_len = 0
    while head_len < len(messages) - 1 and messages[head_len].role == "system":
        head_len += 1
    head = list(messages[:head_len])
    body = list(messages[head_len:])

    required = estimate_message_tokens([*head, body[-1]])
    if required > budget:
        raise ContextTooLargeError(
            f"the request needs about {required} tokens but the context budget is {budget}, "
            "even with all earlier conversation left out: shorten the text (synopsis, "
            "notes) or raise the context budget for this model",
            tokens=required,
            budget=budget,
        )

    # Older turns may use what the summary does not need: an eighth of the budget,
    # capped, is kept back for it.
    summary_room = min(budget // 8, _MAX_SUMMARY_TOKENS) if summarise else 0
    kept: list[Message] = [body[-1]]
    used = required
    for message in reversed(body[:-1]):
        cost = MESSAGE_OVERHEAD_TOKENS + estimate_tokens(message.content)
        if used + cost > budget - summary_room:
            break
        kept.insert(0, message)
        used += cost
    dropped = body[: len(body) - len(kept)]

    summary = _summary(dropped, budget - used) if summarise else None
    result = [*head, *([summary] if summary else []), *kept]
    return FittedContext(
        tuple(result),
        dropped=len(dropped),
        summarised=summary is not None,
        tokens=estimate_message_tokens(result),
    )


def _summary(dropped: Sequence[Message], room: int) -> Message | None:
    """One system message quoting the start of each dropped message, within ``room``."""
    room_chars = (room - MESSAGE_OVERHEAD_TOKENS) * CHARS_PER_TOKEN
    if room - MESSAGE_OVERHEAD_TOKENS < _MIN_SUMMARY_TOKENS:
        return None
    title = f"Summary of {len(dropped)} earlier messages left out to fit the context:"
    lines = []
    for message in dropped:
        text = " ".join(message.content.split())
        if len(text) > _SUMMARY_EXCERPT_CHARS:
            text = text[: _SUMMARY_EXCERPT_CHARS - 1] + "…"
        lines.append(f"- {message.role}: {text}")
    # Keep the most recent lines when room is short: they matter most to what follows.
    while lines and len(title) + sum(len(line) + 1 for line in lines) + 1 > room_chars:
        lines.pop(0)
    if not lines:
        return None
    return Message.system("\n".join([title, *lines]))
