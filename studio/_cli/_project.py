"""Project commands: init, import, export, status, db upgrade."""

from __future__ import annotations

from pathlib import Path

import click

from studio._cli._common import StudioGroup, emit_json, open_studio, registered_in, state, wants_json

COMMANDS: list[click.Command] = []


command = registered_in(COMMANDS)


@command
@click.command("init")
@click.argument("folder", metavar="[HOME]", required=False, type=click.Path(file_okay=False))
def init_command(folder: str | None) -> None:
    """Create a studio home (default ./studio-home) with an up-to-date database."""
    if folder:
        state().home = folder
    with open_studio() as studio:
        schema = studio.database.schema_state()
        if wants_json():
            emit_json(
                {"home": studio.home, "database": studio.database.display_url, "schema": schema.current}
            )
        else:
            click.echo(f"studio home: {studio.home}")
            click.echo(f"database:    {studio.database.display_url} (schema {schema.current})")


@command
@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
def import_command(file: str) -> None:
    """Import a screenplay (YAML or JSON). Re-importing updates only what changed."""
    with open_studio() as studio:
        summary = studio.import_file(file)
    if wants_json():
        emit_json(summary.as_dict())
    else:
        click.echo(summary.describe())


@command
@click.command("export")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--project", help="Project title (needed when the database holds several).")
def export_command(file: str | None, project: str | None) -> None:
    """Write the project as a screenplay that re-imports to the same database."""
    with open_studio() as studio:
        screenplay = studio.export(project=project)
        text = studio.export_text(project=project)
    if wants_json():
        emit_json(screenplay.model_dump(mode="json", exclude_defaults=True))
    elif file:
        Path(file).write_text(text, encoding="utf-8")
        click.echo(f"wrote {file}", err=True)
    else:
        click.echo(text, nl=False)


@command
@click.command("status")
@click.option("--project", help="Show only this project.")
def status_command(project: str | None) -> None:
    """Show every project, episode, scene and segment with its state."""
    with open_studio() as studio:
        if wants_json():
            emit_json({"home": studio.home, "projects": studio.status(project=project)})
        else:
            click.echo(studio.status_text(project=project))


@command
@click.group("db", cls=StudioGroup)
def db_group() -> None:
    """Database maintenance."""


@db_group.command("upgrade")
def db_upgrade_command() -> None:
    """Apply every pending migration to the configured database."""
    from studio.storage._database import Database

    settings = state().settings
    if settings.is_embedded_database:
        settings.home.mkdir(parents=True, exist_ok=True)
    database = Database(settings.database_url)
    try:
        before = database.schema_state().current
        after = database.upgrade()
    finally:
        database.dispose()
    if wants_json():
        emit_json({"database": database.display_url, "from": before, "to": after})
    elif before == after:
        click.echo(f"{database.display_url} is up to date ({after})")
    else:
        click.echo(f"upgraded {database.display_url} from {before or 'empty'} to {after}")
