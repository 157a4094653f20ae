"""ComfyUI backend: client, templates, preflight, workflow import, server pool.

The ``comfyui`` backend is registered with :mod:`studio.backends` (created lazily there,
so importing the backends does not import httpx or websockets).
"""

from studio.backends.comfyui._backend import TEMPLATE_ENV, ComfyBackend, create_comfy_backend
from studio.backends.comfyui._client import (
    AsyncComfyClient,
    ClientState,
    Preview,
    QueueState,
    RunProgress,
    RunResult,
    UploadedImage,
)
from studio.backends.comfyui._doctor import ServerReport, TemplateReport, diagnose, import_workflow
from studio.backends.comfyui._exceptions import (
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
from studio.backends.comfyui._files import safe_join
from studio.backends.comfyui._messages import OutputFile
from studio.backends.comfyui._pool import ComfyPool, PoolServer
from studio.backends.comfyui._preflight import check_graph, preflight
from studio.backends.comfyui._templates import (
    DEFAULT_TEMPLATE,
    FramePlan,
    Template,
    apply_bindings,
    list_templates,
    load_template,
    plan_frames,
    save_template,
)
from studio.backends.comfyui._timeouts import DEFAULT_RETRY_POLICY, DEFAULT_TIMEOUTS, RetryPolicy, Timeouts
from studio.backends.comfyui._uiformat import ImportResult, convert_workflow, propose_template

__all__ = [
    "DEFAULT_RETRY_POLICY",
    "DEFAULT_TEMPLATE",
    "DEFAULT_TIMEOUTS",
    "TEMPLATE_ENV",
    "AsyncComfyClient",
    "ClientState",
    "ComfyBackend",
    "ComfyConnectionError",
    "ComfyError",
    "ComfyExecutionError",
    "ComfyInterruptedError",
    "ComfyJobLostError",
    "ComfyPool",
    "ComfyProtocolError",
    "ComfyTimeoutError",
    "ComfyValidationError",
    "FramePlan",
    "ImportResult",
    "NodeProblem",
    "OutputFile",
    "PoolServer",
    "PreflightError",
    "PreflightProblem",
    "QueueState",
    "RetryPolicy",
    "Preview",
    "RunProgress",
    "RunResult",
    "ServerReport",
    "Template",
    "TemplateError",
    "TemplateReport",
    "Timeouts",
    "UnsafePathError",
    "UploadedImage",
    "WorkflowImportError",
    "apply_bindings",
    "check_graph",
    "convert_workflow",
    "create_comfy_backend",
    "diagnose",
    "import_workflow",
    "list_templates",
    "load_template",
    "plan_frames",
    "preflight",
    "propose_template",
    "safe_join",
    "save_template",
]

for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type):
        _obj.__module__ = "studio.backends.comfyui"
del _name, _obj
