"""Pure functions over ComfyUI's wire formats (comfyui-api.md §3-§6): no I/O here.

- :func:`parse_ws_message` turns one WebSocket text frame into a typed event;
- :func:`parse_binary_frame` reads a preview frame's header;
- :func:`validation_error` builds a :class:`ComfyValidationError` from a 400 body or
  from ``node_errors`` on a 200;
- :func:`parse_history_entry` and :func:`output_files` read ``/history``.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from studio.backends.comfyui._exceptions import (
    ComfyExecutionError,
    ComfyInterruptedError,
    ComfyProtocolError,
    ComfyValidationError,
    NodeProblem,
)

__all__ = [
    "BinaryPreview",
    "Executed",
    "Executing",
    "ExecutionCached",
    "ExecutionError",
    "ExecutionInterrupted",
    "ExecutionStart",
    "ExecutionSuccess",
    "HistoryEntry",
    "OutputFile",
    "Progress",
    "ProgressState",
    "Status",
    "UnknownMessage",
    "WsEvent",
    "output_files",
    "parse_binary_frame",
    "parse_history_entry",
    "parse_ws_message",
    "terminal_error",
    "validation_error",
]


@dataclass(frozen=True)
class Status:
    """``status``: broadcast to every socket; ``queue_remaining`` = running + pending."""

    queue_remaining: int
    sid: str | None = None
    prompt_id: None = None


@dataclass(frozen=True)
class ExecutionStart:
    prompt_id: str


@dataclass(frozen=True)
class ExecutionCached:
    prompt_id: str
    nodes: tuple[str, ...]


@dataclass(frozen=True)
class Executing:
    """``executing``; ``node`` is ``None`` in the legacy "done" message."""

    prompt_id: str
    node: str | None


@dataclass(frozen=True)
class Progress:
    """Old-style ``progress``: sampler steps (``value`` of ``max``) of one node."""

    prompt_id: str
    node: str | None
    value: int
    max: int


@dataclass(frozen=True)
class ProgressState:
    """New-style ``progress_state``: every node seen so far, with its value/max/state."""

    prompt_id: str
    nodes: Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class Executed:
    prompt_id: str
    node: str
    output: Mapping[str, Any]


@dataclass(frozen=True)
class ExecutionSuccess:
    prompt_id: str


@dataclass(frozen=True)
class ExecutionError:
    prompt_id: str
    node_id: str | None
    node_type: str | None
    exception_type: str
    exception_message: str


@dataclass(frozen=True)
class ExecutionInterrupted:
    prompt_id: str
    node_id: str | None
    node_type: str | None


@dataclass(frozen=True)
class UnknownMessage:
    """Any other message (``feature_flags``, custom node chatter)."""

    type: str
    data: Mapping[str, Any]
    prompt_id: str | None = None


WsEvent = (
    Status
    | ExecutionStart
    | ExecutionCached
    | Executing
    | Progress
    | ProgressState
    | Executed
    | ExecutionSuccess
    | ExecutionError
    | ExecutionInterrupted
    | UnknownMessage
)
TERMINAL_EVENTS = (ExecutionSuccess, ExecutionError, ExecutionInterrupted)


def parse_ws_message(text: str) -> WsEvent:
    """Parse one text frame ``{"type": str, "data": {...}}``.

    Raises:
        ComfyProtocolError: the frame is not a JSON object with ``type`` and ``data``.
    """
    try:
        message = json.loads(text)
        kind = message["type"]
        data = message.get("data") or {}
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ComfyProtocolError(f"unreadable WebSocket message: {text[:200]!r}") from error
    if not isinstance(kind, str) or not isinstance(data, dict):
        raise ComfyProtocolError(f"unreadable WebSocket message: {text[:200]!r}")
    pid = data.get("prompt_id")
    if kind == "status":
        remaining = ((data.get("status") or {}).get("exec_info") or {}).get("queue_remaining", 0)
        return Status(queue_remaining=int(remaining), sid=data.get("sid"))
    if pid is None:
        return UnknownMessage(kind, data)
    pid = str(pid)
    if kind == "execution_start":
        return ExecutionStart(pid)
    if kind == "execution_cached":
        return ExecutionCached(pid, tuple(str(n) for n in data.get("nodes") or ()))
    if kind == "executing":
        node = data.get("node")
        return Executing(pid, None if node is None else str(node))
    if kind == "progress":
        node = data.get("node")
        return Progress(pid, None if node is None else str(node), int(data.get("value", 0)),
                        int(data.get("max", 0) or 0))
    if kind == "progress_state":
        nodes = data.get("nodes") or {}
        return ProgressState(pid, {str(k): v for k, v in nodes.items() if isinstance(v, dict)}
                             if isinstance(nodes, dict) else {})
    if kind == "executed":
        return Executed(pid, str(data.get("node")), data.get("output") or {})
    if kind == "execution_success":
        return ExecutionSuccess(pid)
    if kind == "execution_error":
        return ExecutionError(
            pid,
            _opt_str(data.get("node_id")),
            _opt_str(data.get("node_type")),
            str(data.get("exception_type") or ""),
            str(data.get("exception_message") or "").strip(),
        )
    if kind == "execution_interrupted":
        return ExecutionInterrupted(pid, _opt_str(data.get("node_id")),
                                    _opt_str(data.get("node_type")))
    return UnknownMessage(kind, data, pid)


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class BinaryPreview:
    """A binary WebSocket frame: type 1 (PREVIEW_IMAGE) or 4 (with metadata)."""

    event_type: int
    image_format: str
    data: bytes
    metadata: Mapping[str, Any] = field(default_factory=dict)


def parse_binary_frame(frame: bytes) -> BinaryPreview:
    """Read a preview frame's header (comfyui-api.md §5, binary frames)."""
    if len(frame) < 8:
        raise ComfyProtocolError(f"binary WebSocket frame too short ({len(frame)} bytes)")
    (event_type,) = struct.unpack(">I", frame[:4])
    if event_type == 1:
        (fmt,) = struct.unpack(">I", frame[4:8])
        return BinaryPreview(1, {1: "jpeg", 2: "png"}.get(fmt, str(fmt)), frame[8:])
    if event_type == 4:
        (length,) = struct.unpack(">I", frame[4:8])
        try:
            meta = json.loads(frame[8 : 8 + length])
        except ValueError as error:
            raise ComfyProtocolError("unreadable preview metadata") from error
        mime = str(meta.get("image_type", ""))
        return BinaryPreview(4, mime.rpartition("/")[2], frame[8 + length :], meta)
    return BinaryPreview(event_type, "", frame[4:])


def validation_error(
    body: Any, *, server: str, status_code: int, prompt_id: str | None = None
) -> ComfyValidationError:
    """Build the typed error for a rejected prompt (400) or ``node_errors`` on a 200."""
    if not isinstance(body, dict):
        return ComfyValidationError(
            f"{server} rejected the prompt (HTTP {status_code}): {str(body)[:300]}",
            server=server, error_type="unknown", prompt_id=prompt_id,
        )
    raw_error = body.get("error")
    error: dict[str, Any] = raw_error if isinstance(raw_error, dict) else {}
    node_errors = body.get("node_errors") or {}
    problems: list[NodeProblem] = []
    skipped: set[str] = set()
    for node_id, entry in node_errors.items():
        class_type = str(entry.get("class_type", "?"))
        skipped.update(str(o) for o in entry.get("dependent_outputs") or ())
        for item in entry.get("errors") or ():
            extra = item.get("extra_info") or {}
            input_name = extra.get("input_name")
            if input_name is None and item.get("type") == "required_input_missing":
                input_name = item.get("details") or None
            problems.append(NodeProblem(
                node_id=str(node_id), class_type=class_type, type=str(item.get("type", "")),
                message=str(item.get("message", "")), details=str(item.get("details", "")),
                input_name=input_name,
            ))
    if status_code == 200:
        head = (f"{server} queued the prompt but will skip output node(s) "
                f"{', '.join(sorted(skipped))} because of node errors")
        error_type = "node_errors"
    else:
        error_type = str(error.get("type", "unknown"))
        head = f"{server} rejected the prompt: {error.get('message', 'invalid prompt')}"
        if error.get("details"):
            head += f" ({error['details']})"
    return ComfyValidationError(head, server=server, error_type=error_type,
                                problems=problems, skipped_outputs=sorted(skipped),
                                prompt_id=prompt_id)


@dataclass(frozen=True)
class OutputFile:
    """One file a node produced: what ``/view`` needs to fetch it."""

    node_id: str
    filename: str
    subfolder: str
    type: str
    animated: bool = False


@dataclass(frozen=True)
class HistoryEntry:
    """The parts of one ``/history`` entry the client uses."""

    prompt_id: str
    status_str: str
    completed: bool
    outputs: Mapping[str, Mapping[str, Any]]
    messages: tuple[tuple[str, Mapping[str, Any]], ...]


def parse_history_entry(prompt_id: str, body: Any) -> HistoryEntry | None:
    """Read ``GET /history/{id}``; ``None`` while pending, running or unknown (``{}``)."""
    if not isinstance(body, dict):
        raise ComfyProtocolError(f"/history/{prompt_id} did not return a JSON object")
    entry = body.get(prompt_id)
    if not entry:
        return None
    status = entry.get("status") or {}
    messages = tuple(
        (str(m[0]), m[1] if isinstance(m[1], dict) else {})
        for m in status.get("messages") or ()
        if isinstance(m, list | tuple) and len(m) == 2
    )
    return HistoryEntry(
        prompt_id=prompt_id,
        status_str=str(status.get("status_str", "")),
        completed=bool(status.get("completed", False)),
        outputs=entry.get("outputs") or {},
        messages=messages,
    )


def terminal_error(
    entry: HistoryEntry, *, server: str
) -> ComfyExecutionError | ComfyInterruptedError | None:
    """The error a finished history entry stands for, or ``None`` when it succeeded."""
    if entry.status_str == "success":
        return None
    for kind, data in reversed(entry.messages):
        if kind == "execution_error":
            event = parse_ws_message(json.dumps({"type": kind, "data": data}))
            assert isinstance(event, ExecutionError)
            return execution_error(event, server=server)
        if kind == "execution_interrupted":
            return ComfyInterruptedError(
                f"job {entry.prompt_id} on {server} was interrupted",
                server=server, prompt_id=entry.prompt_id, node_id=_opt_str(data.get("node_id")),
            )
    return ComfyExecutionError(
        f"job {entry.prompt_id} on {server} ended with status {entry.status_str!r}",
        server=server, prompt_id=entry.prompt_id, node_id=None, node_type=None,
    )


def execution_error(event: ExecutionError, *, server: str) -> ComfyExecutionError:
    """The typed error for an ``execution_error`` message."""
    return ComfyExecutionError(
        f"job {event.prompt_id} failed on {server} in node {event.node_id} "
        f"({event.node_type}): {event.exception_type}: {event.exception_message}",
        server=server, prompt_id=event.prompt_id, node_id=event.node_id,
        node_type=event.node_type, exception_type=event.exception_type,
        exception_message=event.exception_message,
    )


def output_files(outputs: Mapping[str, Mapping[str, Any]]) -> list[OutputFile]:
    """Every file listed in ``outputs`` (videos are listed under ``images`` too)."""
    files: list[OutputFile] = []
    for node_id, output in outputs.items():
        animated = any(bool(a) for a in output.get("animated") or ())
        for key in ("images", "gifs", "videos", "audio"):
            for item in output.get(key) or ():
                if not isinstance(item, dict) or "filename" not in item:
                    continue
                files.append(OutputFile(
                    node_id=str(node_id), filename=str(item["filename"]),
                    subfolder=str(item.get("subfolder", "")), type=str(item.get("type", "output")),
                    animated=animated,
                ))
    return files
