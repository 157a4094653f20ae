"""What every command shares: global options, JSON output, error-to-exit-code mapping."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from studio._config import Settings, load_settings
from studio._exceptions import StudioError

if TYPE_CHECKING:
    from studio._studio import Studio

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class CliState:
    """Global options, resolved lazily so ``--help`` never touches the environment."""

    home: str | None = None
    database_url: str | None = None
    json: bool = False
    emitted: bool = False  # a JSON document was written (at most one per command)
    _settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(home=self.home, database_url=self.database_url)
        return self._settings


def _store_global(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    state = ctx.ensure_object(CliState)
    if value not in (None, False):
        setattr(state, param.name or "", value)
    return value


def global_options(func: F) -> F:
    """``--home``, ``--database-url`` and ``--json``, accepted before or after the command."""
    func = click.option(
        "--json",
        "json_",
        is_flag=True,
        expose_value=False,
        callback=_store_json,
        help="Print one JSON document on stdout.",
    )(func)
    func = click.option(
        "--database-url",
        expose_value=False,
        callback=_store_global,
        metavar="URL",
        help="Database URL (overrides STUDIO_DATABASE_URL).",
    )(func)
    func = click.option(
        "--home",
        expose_value=False,
        callback=_store_global,
        metavar="DIR",
        help="Studio home folder (overrides STUDIO_HOME).",
    )(func)
    return func


def _store_json(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value:
        ctx.ensure_object(CliState).json = True
    return value


class StudioGroup(click.Group):
    """The top-level group maps studio errors to exit codes for every subcommand."""

    def invoke(self, ctx: click.Context) -> Any:
        ctx.ensure_object(CliState)
        if ctx.parent is not None:
            return super().invoke(ctx)
        try:
            return super().invoke(ctx)
        except StudioError as error:
            click.echo(f"error: {error}", err=True)
            _emit_failure(ctx, type(error).__name__, str(error), error.exit_code)
            ctx.exit(error.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            _emit_failure(ctx, "KeyboardInterrupt", "interrupted", 130)
            ctx.exit(130)


def error_document(kind: str, message: str, exit_code: int) -> dict[str, Any]:
    """The ``error`` member of a failed command's JSON document."""
    return {"type": kind, "message": message, "exit_code": exit_code}


def _emit_failure(ctx: click.Context, kind: str, message: str, exit_code: int) -> None:
    """Under ``--json`` a failure is still one JSON document on stdout (unless the command
    already wrote its own, with what it kept)."""
    cli = ctx.ensure_object(CliState)
    if cli.json and not cli.emitted:
        emit_json({"error": error_document(kind, message, exit_code)}, cli)


def adopt(command: click.Command) -> click.Command:
    """Give a command (and a group's subcommands) the global options."""
    # By option string, not name: `studio init [HOME]` has an argument called "home".
    taken = {opt for param in command.params for opt in param.opts if opt.startswith("--")}
    holder = global_options(lambda: None)
    for option in getattr(holder, "__click_params__", []):
        if not taken & set(option.opts):
            command.params.append(option)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            adopt(sub)
    return command


C = TypeVar("C", bound=click.Command)


def registered_in(commands: list[click.Command]) -> Callable[[C], C]:
    """A decorator that appends a command to a module's ``COMMANDS`` and returns it unchanged."""

    def register(command: C) -> C:
        commands.append(command)
        return command

    return register


def state() -> CliState:
    return click.get_current_context().ensure_object(CliState)


def wants_json() -> bool:
    return state().json


def emit_json(document: Any, cli: CliState | None = None) -> None:
    """Write one JSON document to stdout (paths become strings)."""
    (cli or state()).emitted = True
    json.dump(document, sys.stdout, indent=2, default=_json_default, sort_keys=False)
    sys.stdout.write("\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    raise TypeError(f"cannot serialise {type(value).__name__} to JSON")


def open_studio() -> Studio:
    """Open the studio named by the global options (a context manager that closes it)."""
    from studio._studio import Studio

    return Studio.open(settings=state().settings)
