"""``studio doctor --fix``: install what a server lacks, through ComfyUI-Manager.

ComfyUI-Manager (ltdrdata) serves, next to ComfyUI's own routes:

- ``GET /customnode/getmappings?mode=cache``: ``{pack: [[node classes], {title_aux...}]}``
  where ``pack`` is the registry id (``comfyui-kjnodes``) or the git URL of a pack;
- ``POST /manager/queue/install``: queue a pack (``{"id", "version", "selected_version",
  "channel", "mode", "ui_id"}``; an unregistered pack has ``"version": "unknown"`` and its
  git URL in ``"files"``);
- ``GET /externalmodel/getlist?mode=cache``: ``{"models": [{name, type, filename, url,
  save_path, installed}]}``, and ``POST /manager/queue/install_model`` with one of them;
- ``GET /manager/queue/start`` runs the queue, ``GET /manager/queue/status`` reports
  ``{total_count, done_count, in_progress_count, is_processing}``;
- ``GET /manager/reboot`` restarts ComfyUI: it replaces the process while the request
  is open (``os.execv``; under comfy-cli it exits and comfy-cli starts it again), so
  the request gets no answer; 403 when the Manager's ``security_level`` forbids it.

New node packs load only after ComfyUI restarts (:func:`restart_server`); models are
usable at once. Without the Manager, :func:`plan_fixes` gives the exact commands to run
on the server's machine.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from studio.backends.comfyui._client import AsyncComfyClient
from studio.backends.comfyui._doctor import ServerReport
from studio.backends.comfyui._exceptions import (
    ComfyConnectionError,
    ComfyError,
    ComfyProtocolError,
    ComfyTimeoutError,
)
from studio.backends.comfyui._preflight import NODE_PACKS

__all__ = ["FixPlan", "FixProgress", "FixStep", "apply_plan", "has_manager", "plan_fixes",
           "restart_server"]

MANAGER_MODE = "cache"
QUEUE_POLL = 0.5
DEFAULT_INSTALL_TIMEOUT = 1800.0
DEFAULT_RESTART_TIMEOUT = 300.0  # a server with many packs takes minutes to import them
_GOING_DOWN_SECONDS = 15.0  # after an answered reboot request: how long the old process may linger
_URL = re.compile(r"https://github\.com/[\w.-]+/[\w.-]+")


@dataclass(frozen=True)
class FixStep:
    """One thing to install on one server.

    ``kind`` is ``node_pack`` or ``model``; ``via`` is ``manager`` (``payload`` is what
    gets queued) or ``manual`` (``commands`` say what to run on the server's machine).
    """

    kind: str
    name: str
    needed_by: tuple[str, ...]
    via: str
    payload: dict[str, Any] | None = None
    commands: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "needed_by": list(self.needed_by),
                "via": self.via, "commands": list(self.commands)}


@dataclass
class FixPlan:
    """What ``doctor --fix`` would do on one server."""

    server: str
    manager: bool
    steps: list[FixStep] = field(default_factory=list)

    @property
    def automatic(self) -> list[FixStep]:
        return [s for s in self.steps if s.via == "manager"]

    @property
    def restart_needed(self) -> bool:
        return any(s.kind == "node_pack" for s in self.automatic)

    def as_dict(self) -> dict[str, Any]:
        return {"server": self.server, "manager": self.manager,
                "restart_needed": self.restart_needed,
                "steps": [s.as_dict() for s in self.steps]}


async def _manager_get(client: AsyncComfyClient, path: str, **params: str) -> Any:
    response = await client._request("GET", path, params=params or None)
    if response.status_code == 404:
        return None
    return client._json(response, f"GET {path}")


async def has_manager(client: AsyncComfyClient) -> bool:
    """Whether ComfyUI-Manager answers on this server (``GET /manager/version``)."""
    try:
        response = await client._request("GET", "/manager/version")
    except ComfyError:
        return False
    return response.status_code == 200


def _manual_pack(pack: str, nodes: Sequence[str]) -> FixStep:
    url = _URL.search(pack)
    if url is None:
        return FixStep("node_pack", pack, tuple(nodes), "manual", commands=(
            f"# find the custom node pack that provides {', '.join(nodes)} "
            "(https://registry.comfy.org), clone it into ComfyUI/custom_nodes/ and restart",))
    repo = url.group(0)
    folder = repo.rsplit("/", 1)[1]
    return FixStep("node_pack", folder, tuple(nodes), "manual", commands=(
        f"cd ComfyUI/custom_nodes && git clone {repo}",
        f"cd ComfyUI/custom_nodes/{folder} && (test ! -f requirements.txt || "
        "python -m pip install -r requirements.txt)",
        "# then restart ComfyUI"))


def _manual_model(file: str, folder: str, needed_by: Sequence[str],
                  url: str | None = None) -> FixStep:
    target = f"ComfyUI/{folder.rstrip('/')}/{file}"
    command = (f"curl -L --fail -o '{target}' '{url}'" if url
               else f"# download {file} and put it in ComfyUI/{folder.rstrip('/')}/")
    return FixStep("model", file, tuple(needed_by), "manual", commands=(command,))


async def plan_fixes(client: AsyncComfyClient, report: ServerReport) -> FixPlan:
    """The steps that would make every template of ``report`` ready on its server."""
    packs: dict[str, list[str]] = {}   # pack hint -> node classes
    needed: dict[str, set[str]] = {}   # class or file -> templates
    models: dict[str, str] = {}        # file -> models/<folder>/
    for template in report.templates:
        for class_type, pack in template.missing_nodes:
            packs.setdefault(pack, [])
            if class_type not in packs[pack]:
                packs[pack].append(class_type)
            needed.setdefault(class_type, set()).add(template.name)
        for file, folder in template.missing_models:
            models[file] = folder
            needed.setdefault(file, set()).add(template.name)
    plan = FixPlan(report.url, await has_manager(client))
    classes = sorted({c for nodes in packs.values() for c in nodes})
    if plan.manager:
        mappings = await _manager_get(client, "/customnode/getmappings", mode=MANAGER_MODE) or {}
        owner = {c: key for key, entry in mappings.items() for c in (entry or [[]])[0]}
        by_pack: dict[str, list[str]] = {}
        for class_type in classes:
            if class_type in owner:
                by_pack.setdefault(owner[class_type], []).append(class_type)
        for key, nodes in sorted(by_pack.items()):
            users = tuple(sorted({t for c in nodes for t in needed[c]}))
            plan.steps.append(FixStep("node_pack", key, users, "manager",
                                      payload=_install_payload(key)))
        unresolved = [c for c in classes if c not in owner]
    else:
        unresolved = classes
    for pack, nodes in sorted(packs.items()):
        left = [c for c in nodes if c in unresolved]
        if left:
            step = _manual_pack(pack if pack != "unknown custom node pack" else
                                NODE_PACKS.get(left[0], pack), left)
            plan.steps.append(FixStep(step.kind, step.name, tuple(sorted(
                {t for c in left for t in needed[c]})), step.via, commands=step.commands))
    catalog: list[dict[str, Any]] = []
    if plan.manager and models:
        listing = await _manager_get(client, "/externalmodel/getlist", mode=MANAGER_MODE) or {}
        catalog = list(listing.get("models") or [])
    for file, folder in sorted(models.items()):
        users = tuple(sorted(needed[file]))
        entry = next((m for m in catalog if m.get("filename") == file), None)
        if entry is not None:
            plan.steps.append(FixStep("model", file, users, "manager",
                                      payload={**entry, "ui_id": file}))
        else:
            plan.steps.append(_manual_model(file, folder, users))
    return plan


def _install_payload(key: str) -> dict[str, Any]:
    if key.startswith(("http://", "https://")):  # a pack the registry does not know
        return {"id": key, "version": "unknown", "files": [key], "channel": "default",
                "mode": MANAGER_MODE, "ui_id": key}
    return {"id": key, "version": "latest", "selected_version": "latest",
            "channel": "default", "mode": MANAGER_MODE, "ui_id": key}


@dataclass(frozen=True)
class FixProgress:
    server: str
    done: int
    total: int
    message: str


async def apply_plan(
    client: AsyncComfyClient,
    plan: FixPlan,
    *,
    on_progress: Callable[[FixProgress], None] | None = None,
    timeout: float = DEFAULT_INSTALL_TIMEOUT,
) -> dict[str, Any]:
    """Queue every automatic step on the Manager, run the queue, follow it to the end.

    Raises:
        ComfyProtocolError: the Manager refused a step (it names which), or the queue did
            not finish within ``timeout``.
    """
    steps = plan.automatic
    if not steps:
        return {"server": plan.server, "installed": [], "restart_needed": False}

    def report(done: int, total: int, message: str) -> None:
        if on_progress is not None:
            on_progress(FixProgress(plan.server, done, total, message))

    for step in steps:
        path = "/manager/queue/install" if step.kind == "node_pack" else \
            "/manager/queue/install_model"
        response = await client._request("POST", path, json=step.payload)
        if response.status_code != 200:
            raise ComfyProtocolError(
                f"ComfyUI-Manager on {plan.server} refused to install {step.kind} "
                f"{step.name!r} (HTTP {response.status_code}: {response.text[:200]}); its "
                "security_level may forbid it: see ComfyUI-Manager's config.ini",
                server=plan.server)
        report(0, len(steps), f"queued {step.kind} {step.name}")
    start = await client._request("GET", "/manager/queue/start")
    if start.status_code not in (200, 201):
        raise ComfyProtocolError(f"ComfyUI-Manager on {plan.server} did not start its queue "
                                 f"(HTTP {start.status_code})", server=plan.server)
    deadline = time.monotonic() + timeout
    last = (-1, -1)
    while True:
        status = await _manager_get(client, "/manager/queue/status") or {}
        done, total = int(status.get("done_count", 0)), int(status.get("total_count", 0))
        if (done, total) != last:
            last = (done, total)
            report(done, total, f"installing: {done}/{total} done")
        if not status.get("is_processing") and done >= total:
            break
        if time.monotonic() > deadline:
            raise ComfyProtocolError(f"ComfyUI-Manager on {plan.server} had not finished "
                                     f"after {timeout:.0f} s ({done}/{total})",
                                     server=plan.server)
        await asyncio.sleep(QUEUE_POLL)
    return {"server": plan.server, "installed": [s.name for s in steps],
            "restart_needed": plan.restart_needed}


async def restart_server(
    client: AsyncComfyClient,
    *,
    on_progress: Callable[[FixProgress], None] | None = None,
    timeout: float = DEFAULT_RESTART_TIMEOUT,
) -> None:
    """Restart ComfyUI through ComfyUI-Manager, so new node packs load; wait until it is back.

    Raises:
        ComfyProtocolError: the Manager refused (its ``security_level``) or has no reboot
            route, or the server did not answer again within ``timeout``.
    """
    server = client.base_url

    def report(message: str) -> None:
        if on_progress is not None:
            on_progress(FixProgress(server, 0, 1, message))

    try:
        # Not idempotent: a retry that reached the restarted server would restart it again.
        response = await client._request("GET", "/manager/reboot", idempotent=False)
    except (ComfyConnectionError, ComfyTimeoutError):
        response = None  # the process was replaced while the request was open: the usual end
    if response is not None and response.status_code in (403, 404):
        why = ("its security_level forbids restarting (see ComfyUI-Manager's config.ini)"
               if response.status_code == 403 else "it has no /manager/reboot route")
        raise ComfyProtocolError(f"ComfyUI-Manager on {server} did not restart ComfyUI: {why}; "
                                 "restart ComfyUI by hand, then run `studio doctor --fix` again",
                                 server=server)
    report("restarting ComfyUI to load the new node packs")
    loop = asyncio.get_running_loop()
    if response is not None:  # answered: wait for the old process to go before waiting for the new
        gone_by = loop.time() + _GOING_DOWN_SECONDS
        while loop.time() < gone_by and await client.ping(timeout=QUEUE_POLL):
            await asyncio.sleep(QUEUE_POLL)
    deadline = loop.time() + timeout
    while not await client.ping(timeout=QUEUE_POLL * 4):
        if loop.time() > deadline:
            raise ComfyProtocolError(f"ComfyUI on {server} did not answer within {timeout:.0f} s "
                                     "of its restart; look at its console for an import error "
                                     "in the new node packs", server=server)
        await asyncio.sleep(QUEUE_POLL)
    report("ComfyUI is back")
