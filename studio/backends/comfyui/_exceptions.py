"""Errors raised by the ComfyUI backend.

The hierarchy (under :class:`studio.BackendError`)::

    ComfyError                      anything ComfyUI-related; carries ``server`` and ``prompt_id``
    ├── ComfyConnectionError        the server cannot be reached (after retries); transient
    │   ├── ComfyTimeoutError       a phase took longer than its ``Timeouts`` value
    │   └── ComfyJobLostError       the server forgot a queued job (restart, crash)
    ├── ComfyProtocolError          the server answered something we cannot read
    ├── ComfyValidationError        POST /prompt rejected the graph (or skipped outputs)
    ├── ComfyExecutionError         a node raised while running (``node_id``, ``node_type``)
    ├── ComfyInterruptedError       the job was interrupted or cancelled
    ├── PreflightError              the graph does not fit the server's /object_info
    ├── TemplateError               a template is missing or malformed
    ├── WorkflowImportError         a workflow file cannot be converted to API format
    └── UnsafePathError             a server-supplied path would leave its root

httpx and websockets errors are translated at the boundary (``_client.py``) and chained
with ``from``. Only :class:`ComfyConnectionError` and its subclasses are transient:
the pool retries them on another server; everything else is final.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from studio._exceptions import BackendError

__all__ = [
    "ComfyConnectionError",
    "ComfyError",
    "ComfyExecutionError",
    "ComfyInterruptedError",
    "ComfyJobLostError",
    "ComfyProtocolError",
    "ComfyTimeoutError",
    "ComfyValidationError",
    "NodeProblem",
    "PreflightError",
    "PreflightProblem",
    "TemplateError",
    "UnsafePathError",
    "WorkflowImportError",
]

BACKEND_NAME = "comfyui"


class ComfyError(BackendError):
    """Root of the ComfyUI errors.

    Attributes:
        server: Base URL of the server involved ("" when none).
        prompt_id: The job involved, when there is one.
    """

    def __init__(
        self,
        message: str,
        *,
        server: str = "",
        prompt_id: str | None = None,
        transient: bool = False,
    ) -> None:
        self.server = server
        self.prompt_id = prompt_id
        super().__init__(message, backend=BACKEND_NAME, transient=transient)


class ComfyConnectionError(ComfyError):
    """The server could not be reached or dropped the connection, after retries.

    ``refused`` is true when the server's port refused connections (the process is
    gone, so it holds no job of ours); false when it stopped answering (paused, hung or
    overloaded: it may still hold the job and finish it later).
    """

    def __init__(self, message: str, *, server: str, prompt_id: str | None = None,
                 refused: bool = False) -> None:
        self.refused = refused
        super().__init__(message, server=server, prompt_id=prompt_id, transient=True)


class ComfyTimeoutError(ComfyConnectionError):
    """A phase (``connect``, ``read``, ``queue_wait``, ``ws_idle``, ``total``) ran out."""

    def __init__(
        self, message: str, *, server: str, phase: str, prompt_id: str | None = None
    ) -> None:
        self.phase = phase
        super().__init__(message, server=server, prompt_id=prompt_id)


class ComfyJobLostError(ComfyConnectionError):
    """A submitted job is neither queued, running nor in history (server restarted)."""


class ComfyProtocolError(ComfyError):
    """A response did not have the shape the captured API documents."""


@dataclass(frozen=True)
class NodeProblem:
    """One error ComfyUI reported for one node input."""

    node_id: str
    class_type: str
    type: str
    message: str
    details: str = ""
    input_name: str | None = None

    def __str__(self) -> str:
        where = f"node {self.node_id} ({self.class_type})"
        if self.input_name:
            where += f" input {self.input_name!r}"
        detail = f": {self.details}" if self.details else ""
        return f"{where}: {self.message} [{self.type}]{detail}"


class ComfyValidationError(ComfyError):
    """POST /prompt refused the graph (HTTP 400), or accepted it with ``node_errors``.

    Attributes:
        error_type: ComfyUI's ``error.type`` (``prompt_outputs_failed_validation``...).
        problems: One :class:`NodeProblem` per failing node input.
        skipped_outputs: Output nodes the server will not run (200 with ``node_errors``).
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        server: str,
        error_type: str,
        problems: Sequence[NodeProblem] = (),
        skipped_outputs: Sequence[str] = (),
        prompt_id: str | None = None,
    ) -> None:
        self.error_type = error_type
        self.problems = tuple(problems)
        self.skipped_outputs = tuple(skipped_outputs)
        lines = [message, *(f"  - {problem}" for problem in self.problems)]
        super().__init__("\n".join(lines), server=server, prompt_id=prompt_id)


class ComfyExecutionError(ComfyError):
    """A node raised while the job ran (the WebSocket ``execution_error`` message)."""

    def __init__(
        self,
        message: str,
        *,
        server: str,
        prompt_id: str,
        node_id: str | None,
        node_type: str | None,
        exception_type: str = "",
        exception_message: str = "",
    ) -> None:
        self.node_id = node_id
        self.node_type = node_type
        self.exception_type = exception_type
        self.exception_message = exception_message
        super().__init__(message, server=server, prompt_id=prompt_id)


class ComfyInterruptedError(ComfyError):
    """The job stopped on ``execution_interrupted`` (a cancel, or someone pressed stop)."""

    def __init__(
        self, message: str, *, server: str, prompt_id: str, node_id: str | None = None
    ) -> None:
        self.node_id = node_id
        super().__init__(message, server=server, prompt_id=prompt_id)


@dataclass(frozen=True)
class PreflightProblem:
    """One reason a graph would not run on a server.

    ``kind`` is one of ``unknown_node``, ``missing_input``, ``bad_link``, ``bad_type``,
    ``out_of_range``, ``not_in_list``, ``missing_model``, ``lora_family``.
    ``hint`` says what to do (the custom node pack to install, the model folder...).
    """

    kind: str
    node_id: str
    class_type: str
    message: str
    input_name: str | None = None
    hint: str = ""

    def __str__(self) -> str:
        where = f"node {self.node_id} ({self.class_type})"
        if self.input_name:
            where += f" input {self.input_name!r}"
        hint = f" -> {self.hint}" if self.hint else ""
        return f"{where}: {self.message}{hint}"


class PreflightError(ComfyError):
    """The graph does not fit the server; ``problems`` lists every problem found."""

    exit_code = 2

    def __init__(
        self, problems: Sequence[PreflightProblem], *, server: str = "", template: str = ""
    ) -> None:
        self.problems = tuple(problems)
        self.template = template
        subject = f"template {template!r}" if template else "the graph"
        on = f" on {server}" if server else ""
        head = f"{subject} cannot run{on}: {len(self.problems)} problem(s)"
        super().__init__("\n".join([head, *(f"  - {p}" for p in self.problems)]), server=server)


class TemplateError(ComfyError):
    """A template is unknown, or its manifest does not match its graph."""

    exit_code = 2


class WorkflowImportError(ComfyError):
    """A workflow file cannot be converted (unknown node types are listed, never guessed)."""

    exit_code = 2

    def __init__(self, message: str, *, unknown_types: Sequence[str] = (),
                 problems: Sequence[PreflightProblem] = ()) -> None:
        self.unknown_types = tuple(unknown_types)
        self.problems = tuple(problems)
        super().__init__(message)


class UnsafePathError(ComfyError, ValueError):
    """A file name or subfolder (usually server-supplied) would land outside its root."""

    exit_code = 2

    def __init__(self, message: str, *, value: str, server: str = "") -> None:
        self.value = value
        super().__init__(message, server=server)
