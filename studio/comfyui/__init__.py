"""ComfyUI backend: client, templates, preflight, workflow import, server pool."""

from studio.comfyui._client import (
    AsyncComfyClient,
    ClientState,
    QueueState,
    RunProgress,
    RunResult,
    UploadedImage,
)
from studio.comfyui._exceptions import (
    ComfyConnectionError,
    ComfyError,
    ComfyExecutionError,
    ComfyInterruptedError,
    ComfyJobLostError,
    ComfyProtocolError,
    ComfyTimeoutError,
    ComfyValidationError,
    NodeProblem,
    PreflightError,
    PreflightProblem,
    TemplateError,
    UnsafePathError,
    WorkflowImportError,
)
from studio.comfyui._files import safe_join
from studio.comfyui._messages import OutputFile
from studio.comfyui._timeouts import DEFAULT_RETRY_POLICY, DEFAULT_TIMEOUTS, RetryPolicy, Timeouts

__all__ = [
    "DEFAULT_RETRY_POLICY",
    "DEFAULT_TIMEOUTS",
    "AsyncComfyClient",
    "ClientState",
    "ComfyConnectionError",
    "ComfyError",
    "ComfyExecutionError",
    "ComfyInterruptedError",
    "ComfyJobLostError",
    "ComfyProtocolError",
    "ComfyTimeoutError",
    "ComfyValidationError",
    "NodeProblem",
    "OutputFile",
    "PreflightError",
    "PreflightProblem",
    "QueueState",
    "RetryPolicy",
    "RunProgress",
    "RunResult",
    "TemplateError",
    "Timeouts",
    "UnsafePathError",
    "UploadedImage",
    "WorkflowImportError",
    "safe_join",
]
