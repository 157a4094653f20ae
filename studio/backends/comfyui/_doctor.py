"""``studio doctor`` and ``studio workflows import``: the library side of the commands."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.backends.comfyui._client import AsyncComfyClient
from studio.backends.comfyui._exceptions import ComfyError, WorkflowImportError
from studio.backends.comfyui._preflight import MODEL_INPUTS, NODE_PACKS, preflight
from studio.backends.comfyui._templates import Template, apply_bindings, list_templates, save_template
from studio.backends.comfyui._timeouts import RetryPolicy, Timeouts
from studio.backends.comfyui._uiformat import ImportResult, convert_workflow, propose_template

__all__ = [
    "DOCTOR_TIMEOUTS",
    "ServerReport",
    "TemplateReport",
    "check_template",
    "diagnose",
    "import_workflow",
]

DOCTOR_TIMEOUTS = Timeouts(connect=3.0, read=30.0)


@dataclass(frozen=True)
class TemplateReport:
    """Whether one template can run on one server, and what is missing if not."""

    name: str
    ready: bool
    missing_nodes: tuple[tuple[str, str], ...] = ()  # (class_type, pack to install)
    missing_models: tuple[tuple[str, str], ...] = ()  # (file, models/<folder>)
    problems: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ready": self.ready,
                "missing_nodes": [{"class_type": c, "pack": p} for c, p in self.missing_nodes],
                "missing_models": [{"file": f, "folder": d} for f, d in self.missing_models],
                "problems": list(self.problems)}


@dataclass(frozen=True)
class ServerReport:
    url: str
    reachable: bool
    version: str = ""
    device: str = ""
    error: str = ""
    templates: tuple[TemplateReport, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        return {"url": self.url, "reachable": self.reachable, "version": self.version,
                "device": self.device, "error": self.error,
                "templates": [t.as_dict() for t in self.templates]}


def check_template(template: Template, object_info: dict[str, Any]) -> TemplateReport:
    """Preflight a template as shipped (no LoRA, images uploaded later) on one server."""
    graph = apply_bindings(template, {})
    skip = frozenset((t.node, t.input) for key in ("start_image", "end_image")
                     for t in template.bindings.get(key, ()))
    problems = preflight(graph, object_info, skip_inputs=skip)
    nodes = sorted({(p.class_type, NODE_PACKS.get(p.class_type, "unknown custom node pack"))
                    for p in problems if p.kind == "unknown_node"})
    models = sorted({(str(graph[p.node_id]["inputs"][p.input_name or ""]),
                      f"models/{MODEL_INPUTS.get((p.class_type, p.input_name or ''), '?')}/")
                     for p in problems if p.kind == "missing_model"})
    other = tuple(str(p) for p in problems if p.kind not in ("unknown_node", "missing_model"))
    return TemplateReport(template.name, not problems, tuple(nodes), tuple(models), other)


async def _diagnose_one(url: str, templates: Sequence[Template], timeouts: Timeouts
                        ) -> ServerReport:
    async with AsyncComfyClient(url, timeouts=timeouts, retry=RetryPolicy(attempts=2)) as client:
        try:
            stats = await client.system_stats()
            info = await client.object_info()
        except ComfyError as error:
            return ServerReport(url, False, error=str(error))
    system = stats.get("system") or {}
    devices = stats.get("devices") or [{}]
    device = f"{devices[0].get('name', '?')} ({devices[0].get('vram_total', 0) / 2**30:.0f} GiB)"
    return ServerReport(url, True, str(system.get("comfyui_version", "?")), device,
                        templates=tuple(check_template(t, info) for t in templates))


async def diagnose(urls: Sequence[str], *, home: Path | None = None,
                   timeouts: Timeouts = DOCTOR_TIMEOUTS) -> list[ServerReport]:
    """For each server and each template: missing node types, missing models, readiness."""
    templates = list_templates(home)
    return list(await asyncio.gather(*(_diagnose_one(u, templates, timeouts) for u in urls)))


def import_workflow(
    path: Path,
    name: str,
    *,
    home: Path,
    server: str | None = None,
    object_info_path: Path | None = None,
    overwrite: bool = False,
    timeouts: Timeouts = DOCTOR_TIMEOUTS,
) -> tuple[ImportResult, Path]:
    """Convert a UI- or API-format workflow file, propose bindings, store the template.

    The node schemas come from a live server (``server``) or a saved ``/object_info``
    dump (``object_info_path``).

    Raises:
        WorkflowImportError: unreadable file, unknown node types, no image output.
        ComfyConnectionError: the server cannot be reached.
        TemplateError: a template of that name exists and ``overwrite`` is false.
    """
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise WorkflowImportError(f"cannot read workflow {path}: {error}") from error
    if object_info_path is not None:
        try:
            info = json.loads(object_info_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise WorkflowImportError(f"cannot read {object_info_path}: {error}") from error
    elif server is not None:
        info = asyncio.run(_fetch_info(server, timeouts))
    else:
        raise WorkflowImportError("give --server URL or --object-info FILE: converting a "
                                  "UI workflow needs the server's node definitions")
    graph = convert_workflow(doc, info)
    result = propose_template(graph, name, description=f"Imported from {path.name}")
    return result, save_template(result.template, home, overwrite=overwrite)


async def _fetch_info(url: str, timeouts: Timeouts) -> dict[str, Any]:
    async with AsyncComfyClient(url, timeouts=timeouts) as client:
        return await client.object_info()
