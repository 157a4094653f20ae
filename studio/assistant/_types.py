"""Plain values the client speaks in: messages, completions, stream chunks, usage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["ChatChunk", "ChatCompletion", "Message", "Role", "Usage"]

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class Message:
    """One chat message.

    Attributes:
        role: ``"system"``, ``"user"`` or ``"assistant"``.
        content: Its text.
    """

    role: Role
    content: str

    @classmethod
    def system(cls, content: str) -> Message:
        return cls("system", content)

    @classmethod
    def user(cls, content: str) -> Message:
        return cls("user", content)

    @classmethod
    def assistant(cls, content: str) -> Message:
        return cls("assistant", content)

    def to_json(self) -> dict[str, Any]:
        """The OpenAI wire shape: ``{"role": ..., "content": ...}``."""
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True)
class Usage:
    """Token counts as the server reports them."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


@dataclass(frozen=True)
class ChatCompletion:
    """A finished (non-streaming) chat completion.

    Attributes:
        content: The assistant's text (``""`` when the server sent none).
        model: The model that answered, as the server names it.
        finish_reason: ``"stop"``, ``"length"`` (cut off), ... or ``None``.
        usage: Token counts, when the server reports them.
        id: The server's completion id.
    """

    content: str
    model: str
    finish_reason: str | None = None
    usage: Usage | None = None
    id: str = ""

    @property
    def truncated(self) -> bool:
        """Whether the reply was cut off by the token limit."""
        return self.finish_reason == "length"


@dataclass(frozen=True)
class ChatChunk:
    """One piece of a streamed reply.

    Attributes:
        content: The new text (may be ``""``, e.g. on the chunk carrying the role).
        finish_reason: Set on the last chunk of a choice.
    """

    content: str
    finish_reason: str | None = None
