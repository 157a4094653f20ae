"""What every command shares: global options, JSON output, error-to-exit-code mapping."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from studio._config import Settings, load_settings
from studio._exceptions import StudioError

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class CliState:
    """Global options, resolved lazily so ``--help`` never touches the environment."""

    home: str | None = None
    database_url: str | None = None
    json: bool = False
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


class StudioCommand(click.Command):
    """A command that also takes the global options and maps studio errors to exit codes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        global_options(self)  # type: ignore[arg-type]

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StudioError as error:
            click.echo(f"error: {error}", err=True)
            ctx.exit(error.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)


class StudioGroup(click.Group):
    command_class = StudioCommand
    group_class = type  # subgroups are StudioGroups too

    def invoke(self, ctx: click.Context) -> Any:
        ctx.ensure_object(CliState)
        return super().invoke(ctx)


def state() -> CliState:
    return click.get_current_context().ensure_object(CliState)


def wants_json() -> bool:
    return state().json


def emit_json(document: Any) -> None:
    """Write one JSON document to stdout (paths become strings)."""
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
