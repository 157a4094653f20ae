"""Structured outputs: a pydantic model in, a validated instance out, one repair at most.

Every structured request does two things, because servers differ in what they honour:

1. it sends the model's JSON schema as ``response_format`` (``{"type": "json_schema",
   "json_schema": {"name", "schema", "strict"}}``), which vLLM, llama.cpp, Ollama,
   LM Studio and OpenAI use to constrain decoding;
2. it also asks, in the system prompt, for one JSON object matching that schema, so a
   server that ignores ``response_format`` still gets told.

If the reply is not valid JSON, does not validate, or was cut off
(``finish_reason == "length"``), exactly one repair request follows: the conversation,
the bad reply, and a list of what was wrong. If that fails too,
:class:`MalformedOutputError` shows the offending output. The I/O lives in the
clients (``ask_structured``); this module is pure functions.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import pydantic

from studio.assistant._types import Message

__all__ = [
    "ParseOutcome",
    "parse_structured",
    "repair_messages",
    "response_format_for",
    "schema_instruction",
    "structured_messages",
]

T = TypeVar("T", bound=pydantic.BaseModel)


def response_format_for(schema: type[pydantic.BaseModel]) -> dict[str, Any]:
    """The ``response_format`` value asking for JSON that matches ``schema``.

    ``strict`` is off: OpenAI's strict mode rejects schemas with optional fields, and
    validation happens here anyway.
    """
    return {
        "type": "json_schema",
        "json_schema": {
            "name": schema.__name__,
            "schema": schema.model_json_schema(),
            "strict": False,
        },
    }


def schema_instruction(schema: type[pydantic.BaseModel]) -> str:
    """The prompt text asking for one JSON object matching ``schema``."""
    return (
        f"Reply with exactly one JSON object, a {schema.__name__}, matching this JSON "
        "schema. No prose before or after it, no markdown code fences, no comments.\n"
        f"JSON schema:\n{json.dumps(schema.model_json_schema(), separators=(',', ':'))}"
    )


def structured_messages(
    messages: Sequence[Message], schema: type[pydantic.BaseModel]
) -> list[Message]:
    """``messages`` with the schema instruction added to the leading system message.

    The instruction joins the first system message (or becomes one at the start):
    several chat templates (Mistral, Gemma) refuse a system message anywhere else.
    """
    instruction = schema_instruction(schema)
    result = list(messages)
    if result and result[0].role == "system":
        result[0] = Message.system(f"{result[0].content}\n\n{instruction}")
    else:
        result.insert(0, Message.system(instruction))
    return result


@dataclass(frozen=True)
class ParseOutcome(Generic[T]):
    """What :func:`parse_structured` made of a reply.

    Attributes:
        value: The validated instance, or ``None`` when the reply was unusable.
        problems: What was wrong, one readable line each (empty when ``value`` is set).
    """

    value: T | None
    problems: tuple[str, ...] = ()


def parse_structured(
    text: str, schema: type[T], *, finish_reason: str | None = None
) -> ParseOutcome[T]:
    """Validate a reply against ``schema``.

    Tolerated without a repair: whitespace and one surrounding markdown code fence, and
    prose around a single JSON object (many local models add "Here is the JSON:").

    Args:
        text: The reply's content.
        schema: The pydantic model it must match.
        finish_reason: The server's finish reason; ``"length"`` means cut off.

    Returns:
        The instance, or the list of problems.
    """
    problems: list[str] = []
    if finish_reason == "length":
        problems.append(
            "the reply was cut off by the token limit (finish_reason=length); "
            "reply more briefly so the JSON is complete"
        )
    candidate = _strip_fence(text.strip())
    if not candidate:
        return ParseOutcome(None, (*problems, "the reply was empty"))
    try:
        data = json.loads(candidate)
    except json.JSONDecodeError as first_error:
        data = _outermost_object(candidate)
        if data is None:
            problems.append(
                f"not valid JSON: {first_error.msg} at line {first_error.lineno} "
                f"column {first_error.colno}"
            )
            return ParseOutcome(None, tuple(problems))
    try:
        value = schema.model_validate(data)
    except pydantic.ValidationError as exc:
        for error in exc.errors(include_url=False):
            where = ".".join(str(part) for part in error["loc"]) or "(top level)"
            problems.append(f"{where}: {error['msg']}")
        return ParseOutcome(None, tuple(problems))
    return ParseOutcome(value, ())


def repair_messages(
    request: Sequence[Message], bad_output: str, problems: Sequence[str]
) -> list[Message]:
    """The follow-up conversation asking the model to correct its reply.

    Args:
        request: The messages of the first request (schema instruction included).
        bad_output: The reply that failed.
        problems: What was wrong with it.

    Returns:
        ``request`` + the bad reply as the assistant's turn + a user turn listing the
        problems and asking for the corrected JSON object only.
    """
    listed = "\n".join(f"- {p}" for p in problems)
    return [
        *request,
        Message.assistant(bad_output),
        Message.user(
            "Your reply could not be used:\n"
            f"{listed}\n"
            "Reply again with only the corrected, complete JSON object matching the schema."
        ),
    ]


def _strip_fence(text: str) -> str:
    if text.startswith("```") and text.endswith("```") and len(text) >= 6:
        inner = text[3:-3]
        first_newline = inner.find("\n")
        # Drop a language tag such as ```json on the opening line.
        if first_newline != -1 and " " not in inner[:first_newline].strip():
            inner = inner[first_newline + 1 :]
        return inner.strip()
    return text


def _outermost_object(text: str) -> Any:
    """The JSON object between the first ``{`` and the last ``}``, if that parses."""
    start, end = text.find("{"), text.rfind("}")
    if start == -1 or end <= start:
        return None
    try:
        return json.loads(text[start : end + 1])
    except json.JSONDecodeError:
        return None
