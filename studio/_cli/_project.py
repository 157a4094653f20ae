"""Project commands: init, import, export, status, db upgrade, demo."""

from __future__ import annotations

import click

from studio._cli._common import state

COMMANDS: list[click.Command] = []


@click.command("init")
@click.argument("home", required=False)
def init_command(home: str | None) -> None:
    """Create a studio home (default ./studio-home) with an up-to-date database."""
    if home:
        state().home = home
    click.echo(f"studio home: {state().settings.home}")


COMMANDS.append(init_command)
