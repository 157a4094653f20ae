"""ComfyUI commands: ``doctor`` and ``workflows import|list|show``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from studio._cli._common import StudioGroup, emit_json, state, wants_json
from studio._exceptions import ConfigurationError

if TYPE_CHECKING:
    from studio.backends.comfyui._doctor import ServerReport
    from studio.backends.comfyui._fix import FixPlan, FixProgress


@click.command("doctor")
@click.option("--fix", is_flag=True,
              help="Install missing node packs and models through ComfyUI-Manager (or print "
                   "the commands to run where the server has none).")
@click.option("--yes", is_flag=True, help="With --fix: install without asking.")
def doctor_command(fix: bool, yes: bool) -> None:
    """Check every ComfyUI server (COMFYUI_URLS) against every template."""
    from studio.backends.comfyui._doctor import diagnose

    settings = state().settings
    if not settings.comfyui_urls:
        raise ConfigurationError("no ComfyUI servers configured; set COMFYUI_URLS, e.g. "
                                 "COMFYUI_URLS=http://gpu1:8188,http://gpu2:8188")
    reports = asyncio.run(diagnose(settings.comfyui_urls, home=settings.home))
    if fix:
        _fix(reports, yes)
        return
    if wants_json():
        emit_json({"servers": [r.as_dict() for r in reports]})
        return
    for report in reports:
        if not report.reachable:
            click.echo(f"{report.url}  UNREACHABLE: {report.error}")
            continue
        click.echo(f"{report.url}  ComfyUI {report.version}, {report.device}")
        for t in report.templates:
            click.echo(f"  {t.name:<16} {'ready' if t.ready else 'NOT READY'}")
            for class_type, pack in t.missing_nodes:
                click.echo(f"      missing node {class_type}: install {pack}")
            for file, folder in t.missing_models:
                click.echo(f"      missing model {file}: put it in {folder}")
            for problem in t.problems:
                click.echo(f"      {problem}")


def _fix(reports: list[ServerReport], yes: bool) -> None:
    """Install what is missing; restart ComfyUI for new node packs; install what they need."""
    from studio.backends.comfyui._doctor import diagnose

    quiet = wants_json()
    document = _fix_round(reports, yes)
    restart = [r["server"] for r in document["installed"] if r["restart_needed"]]
    asked = f"Restart ComfyUI on {', '.join(restart)} now to load the new node packs?"
    if restart and not quiet and not yes and not click.confirm(asked, default=False, err=True):
        click.echo("  restart ComfyUI to load the new node packs, then run `studio doctor "
                   "--fix` again: the models the new nodes need can only be checked once "
                   "they are loaded")
        restart = []
    if restart:
        asyncio.run(_restart(restart))
        document["restarted"] = restart
        # Only now can the new nodes' model inputs be checked: a second round installs those.
        again = asyncio.run(diagnose(restart, home=state().settings.home))
        document["after_restart"] = _fix_round(again, yes)
    if quiet:
        emit_json(document)


async def _restart(servers: list[str]) -> None:
    from studio.backends.comfyui._client import AsyncComfyClient
    from studio.backends.comfyui._doctor import DOCTOR_TIMEOUTS
    from studio.backends.comfyui._fix import restart_server

    for server in servers:
        async with AsyncComfyClient(server, timeouts=DOCTOR_TIMEOUTS) as client:
            await restart_server(client, on_progress=_show_progress)


def _show_progress(event: FixProgress) -> None:
    click.echo(f"{event.server}: {event.message}", err=True)


def _fix_round(reports: list[ServerReport], yes: bool) -> dict[str, Any]:
    """Show the plan for every reachable server, ask (or --yes), install; what it did."""
    from studio.backends.comfyui._client import AsyncComfyClient
    from studio.backends.comfyui._doctor import DOCTOR_TIMEOUTS
    from studio.backends.comfyui._fix import apply_plan, plan_fixes

    async def plans() -> list[FixPlan]:
        found = []
        for report in reports:
            if not report.reachable:
                continue
            async with AsyncComfyClient(report.url, timeouts=DOCTOR_TIMEOUTS) as client:
                found.append(await plan_fixes(client, report))
        return found

    fixes = asyncio.run(plans())
    quiet = wants_json()
    for plan in fixes:
        if quiet:
            break
        if not plan.steps:
            click.echo(f"{plan.server}: nothing to install")
            continue
        via = "through ComfyUI-Manager" if plan.manager else "(no ComfyUI-Manager: run these)"
        click.echo(f"{plan.server}: {len(plan.steps)} thing(s) to install {via}")
        for step in plan.steps:
            click.echo(f"  {step.kind} {step.name}  (for {', '.join(step.needed_by)})"
                       + ("" if step.via == "manager" else "  by hand:"))
            for command in step.commands:
                click.echo(f"      {command}")
    automatic = [p for p in fixes if p.automatic]
    if automatic and not yes:
        if quiet:
            raise ConfigurationError("doctor --fix --json installs nothing without --yes "
                                     "(it cannot ask)")
        total = sum(len(p.automatic) for p in automatic)
        if not click.confirm(f"Install {total} item(s) now?", default=False, err=True):
            automatic = []

    async def install() -> list[dict[str, Any]]:
        done = []
        for plan in automatic:
            async with AsyncComfyClient(plan.server, timeouts=DOCTOR_TIMEOUTS) as client:
                done.append(await apply_plan(client, plan, on_progress=_show_progress))
        return done

    results = asyncio.run(install()) if automatic else []
    if not quiet:
        for result in results:
            click.echo(f"{result['server']}: installed {', '.join(map(str, result['installed']))}")
    return {"servers": [r.as_dict() for r in reports],
            "plans": [p.as_dict() for p in fixes], "installed": results}


@click.group("workflows", cls=StudioGroup)
def workflows_group() -> None:
    """ComfyUI templates: import, list, show."""


@workflows_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", required=True, help="Template name.")
@click.option("--server", metavar="URL", help="Read node definitions from this server.")
@click.option("--object-info", "object_info", metavar="FILE",
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Read node definitions from a saved /object_info JSON.")
@click.option("--force", is_flag=True, help="Replace a template of the same name.")
def import_command(file: Path, name: str, server: str | None, object_info: Path | None,
                   force: bool) -> None:
    """Convert a workflow (UI or API format) into a template with proposed bindings."""
    from studio.backends.comfyui._doctor import import_workflow

    settings = state().settings
    if server is None and object_info is None and settings.comfyui_urls:
        server = settings.comfyui_urls[0]
    result, path = import_workflow(file, name, home=settings.home, server=server,
                                   object_info_path=object_info, overwrite=force)
    if wants_json():
        emit_json({"path": path, "template": result.template.to_json(),
                   "notes": list(result.notes)})
        return
    click.echo(f"stored template {name!r} in {path}")
    for note in result.notes:
        click.echo(f"  {note}")


@workflows_group.command("list")
def list_command() -> None:
    """List the built-in and user templates."""
    from studio.backends.comfyui._templates import DEFAULT_TEMPLATE, list_templates

    templates = list_templates(state().settings.home)
    if wants_json():
        emit_json([{"name": t.name, "engine": t.engine, "model_family": t.model_family,
                    "source": t.source, "default": t.name == DEFAULT_TEMPLATE,
                    "bindings": sorted(t.bindings), "description": t.description}
                   for t in templates])
        return
    for t in templates:
        mark = " (default)" if t.name == DEFAULT_TEMPLATE else ""
        click.echo(f"{t.name:<16} {t.engine:<9} {t.model_family or '-':<14} "
                   f"{t.source}{mark}")
        click.echo(f"    {t.description}")


@workflows_group.command("show")
@click.argument("name")
def show_command(name: str) -> None:
    """Print a template: its bindings and its API-format graph."""
    from studio.backends.comfyui._templates import load_template

    template = load_template(name, home=state().settings.home)
    if wants_json():
        emit_json(template.to_json())
        return
    click.echo(f"{template.name}: {template.description}")
    click.echo(f"engine {template.engine}, model family {template.model_family}, "
               f"source {template.source}")
    click.echo("bindings:")
    for key, targets in template.bindings.items():
        click.echo(f"  {key:<18} " + ", ".join(f"{t.node}.{t.input}" for t in targets))
    for slot in template.loras:
        click.echo(f"  {'lora':<18} {slot.node}.{slot.name_input}")
    click.echo(f"outputs: video {template.outputs['video']}, "
               f"last frame {template.outputs['last_frame']}")
    click.echo("graph:")
    click.echo(json.dumps(template.graph, indent=2))


COMMANDS: list[click.Command] = [doctor_command, workflows_group]
