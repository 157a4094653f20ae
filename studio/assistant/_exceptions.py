"""Every error the assistant raises on purpose.

The subtree under :class:`studio.StudioError`::

    StudioError
    └── AssistantError                  anything Echo Brain could not do
        ├── AssistantOfflineError       no model server configured, or it is not reachable
        ├── AssistantTimeoutError       the server took too long (``phase`` says where)
        ├── ModelNotConfiguredError     no model name for a task (exit code 2)
        ├── ModelNotFoundError          the server has no model by that name (lists its models)
        ├── ContextTooLargeError        the conversation does not fit the context budget
        ├── MalformedOutputError        the reply did not match the schema, even after a repair
        ├── AssistantServerError        any other refusal (HTTP status, broken response)
        ├── EmbeddingsUnavailableError  neither the server nor a local model can embed
        ├── StaleProposalError          the screenplay changed after a proposal was made
        └── SegmentLockedError          a prompt for a segment already rendered (exit code 2)

httpx errors are translated at the boundary (:mod:`studio.assistant._client`) and
chained with ``from``. No message ever contains the API key.
"""

from __future__ import annotations

from collections.abc import Sequence

from studio._exceptions import StudioError

__all__ = [
    "AssistantError",
    "AssistantOfflineError",
    "AssistantServerError",
    "AssistantTimeoutError",
    "ContextTooLargeError",
    "EmbeddingsUnavailableError",
    "MalformedOutputError",
    "ModelNotConfiguredError",
    "ModelNotFoundError",
    "SegmentLockedError",
    "StaleProposalError",
    "truncate_for_display",
]

#: What every "the assistant cannot help" message ends with: nothing else is blocked.
OFFLINE_HINT = (
    "The render pipeline and the deterministic prompt composer work without it."
)


class AssistantError(StudioError):
    """Echo Brain could not complete a request."""


class AssistantOfflineError(AssistantError):
    """No model server is configured, or the configured one cannot be reached.

    Attributes:
        url: The server's base URL, or ``None`` when none is configured.
    """

    def __init__(self, message: str, *, url: str | None = None) -> None:
        self.url = url
        super().__init__(message)

    @classmethod
    def not_configured(cls) -> AssistantOfflineError:
        """The error for a studio with no ``STUDIO_LLM_URL``."""
        return cls(
            "Echo Brain is offline: no model server configured: set STUDIO_LLM_URL to an "
            "OpenAI-compatible base URL (e.g. http://localhost:11434/v1 for Ollama) and "
            f"STUDIO_LLM_MODEL to a model name. {OFFLINE_HINT}"
        )

    @classmethod
    def unreachable(cls, url: str, reason: str) -> AssistantOfflineError:
        """The error for a configured server that does not answer."""
        return cls(
            f"Echo Brain is offline: the model server at {url} is not reachable ({reason}). "
            f"Start it, or check STUDIO_LLM_URL. {OFFLINE_HINT}",
            url=url,
        )


class AssistantTimeoutError(AssistantError):
    """The model server did not answer in time.

    Attributes:
        phase: ``"read"``, ``"write"``, ``"pool"`` or ``"total"``.
        seconds: The limit that ran out, when known.
        url: The server's base URL.
    """

    def __init__(
        self, message: str, *, phase: str, seconds: float | None = None, url: str = ""
    ) -> None:
        self.phase = phase
        self.seconds = seconds
        self.url = url
        super().__init__(message)


class ModelNotConfiguredError(AssistantError):
    """No model name is configured for a task, nor a default.

    Attributes:
        task: The task that needed a model.
    """

    exit_code = 2

    def __init__(self, task: str) -> None:
        self.task = task
        super().__init__(
            f"no model configured for the {task!r} task: set STUDIO_LLM_MODEL=NAME to use one "
            f"model for everything, or STUDIO_LLM_MODELS={task}=NAME,default=NAME"
        )


class ModelNotFoundError(AssistantError):
    """The server does not serve the requested model.

    Attributes:
        model: The name that was asked for.
        available: The models the server lists at ``/v1/models`` (may be empty when that
            listing failed too).
        url: The server's base URL.
    """

    exit_code = 2

    def __init__(self, model: str, available: Sequence[str], *, url: str = "") -> None:
        self.model = model
        self.available = tuple(available)
        self.url = url
        known = ", ".join(self.available) if self.available else "none listed"
        super().__init__(
            f"the model server at {url} has no model {model!r}; it serves: {known}. "
            "Fix STUDIO_LLM_MODEL / STUDIO_LLM_MODELS (or pull the model on the server)."
        )


class ContextTooLargeError(AssistantError):
    """The request does not fit the model's context, even after trimming.

    Attributes:
        tokens: The estimated (or server-reported) size of the request, when known.
        budget: The budget it had to fit, when known.
    """

    def __init__(
        self, message: str, *, tokens: int | None = None, budget: int | None = None
    ) -> None:
        self.tokens = tokens
        self.budget = budget
        super().__init__(message)


class MalformedOutputError(AssistantError):
    """The model's reply did not match the requested schema, even after one repair.

    Attributes:
        schema_name: The pydantic model the reply had to match.
        output: The last offending reply, in full.
        problems: What was wrong with it (JSON or validation errors), one per line.
        first_output: The reply before the repair request.
    """

    def __init__(
        self,
        *,
        schema_name: str,
        output: str,
        problems: Sequence[str],
        first_output: str = "",
        model: str = "",
    ) -> None:
        self.schema_name = schema_name
        self.output = output
        self.problems = tuple(problems)
        self.first_output = first_output
        self.model = model
        listed = "\n".join(f"  - {p}" for p in self.problems[:10])
        if len(self.problems) > 10:
            listed += f"\n  - ... and {len(self.problems) - 10} more"
        super().__init__(
            f"the model {model!r} did not return a valid {schema_name}, even after one "
            f"repair request. Problems:\n{listed}\nIts reply was:\n"
            f"{truncate_for_display(output)}\n"
            "Nothing was changed. Try again, or route this task to a larger model."
        )


class AssistantServerError(AssistantError):
    """The server answered with an error this module has no better type for.

    Attributes:
        status_code: The HTTP status, or ``None`` for a broken connection or body.
        url: The server's base URL.
    """

    def __init__(self, message: str, *, status_code: int | None = None, url: str = "") -> None:
        self.status_code = status_code
        self.url = url
        super().__init__(message)


class EmbeddingsUnavailableError(AssistantError):
    """No embedding model can be used: neither the server's nor a local one."""

    exit_code = 2


class StaleProposalError(AssistantError):
    """A proposal was made against a screenplay that has changed since; ask again."""

    exit_code = 2


class SegmentLockedError(AssistantError):
    """A suggested prompt for a segment that is rendered, or being rendered, is refused.

    Rendering keeps finished segments, so their stored prompt is never used again:
    writing a new one there would look applied and change nothing.

    Attributes:
        segment_id: The segment's id.
        segment: Its number within the scene.
        scene: The scene's number.
        status: The segment's status (``completed``, ``review`` or ``processing``).
    """

    exit_code = 2

    def __init__(self, *, segment_id: int, segment: int, scene: int, status: str) -> None:
        self.segment_id = segment_id
        self.segment = segment
        self.scene = scene
        self.status = status
        where = f"segment {segment} of scene {scene} (id {segment_id})"
        if status == "processing":
            advice = "it is being rendered now; ask again when the render has finished"
        else:
            advice = (
                f"it is already rendered (status {status}) and rendering keeps finished "
                "segments, so a new prompt would never be used. To render it again, change "
                "the scene in the screenplay and import it: the scene becomes stale, is "
                "planned again, and its new segments can take a suggestion"
            )
        super().__init__(f"the prompt of {where} was not changed: {advice}")


def truncate_for_display(text: str, *, limit: int = 2000) -> str:
    """Shorten ``text`` for an error message, keeping its start and its end.

    Args:
        text: The text to show.
        limit: The most characters to keep (the head gets three quarters).

    Returns:
        ``text`` itself when short enough, else head + a marker naming how many
        characters were left out + tail.
    """
    if len(text) <= limit:
        return text
    head = limit * 3 // 4
    tail = limit - head
    omitted = len(text) - head - tail
    return f"{text[:head]}\n[... {omitted} characters omitted ...]\n{text[-tail:]}"
