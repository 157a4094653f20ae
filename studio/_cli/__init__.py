"""The ``studio`` command line: parse, call one library function, report.

Each command group lives in its own module; :data:`COMMAND_MODULES` says which
module defines which command. A module is imported only when one of its
commands runs (or for ``studio --help``), so ``studio analyze`` does not load
the database layer and ``studio status`` does not load OpenCV.
Exit codes: 0 success, 1 a failure while working, 2 bad input (a screenplay, an
argument, an unknown episode), 130 interrupted.
"""

from __future__ import annotations

import importlib

import click

from studio._cli._common import StudioGroup, adopt, global_options

__all__ = ["COMMAND_MODULES", "main"]

# Each module defines ``COMMANDS``: the click commands it registers.
COMMAND_MODULES = {
    "studio._cli._project": ("init", "import", "export", "status", "db"),
    "studio._cli._render": ("render", "prompts", "demo"),
    "studio._cli._takes": ("retake", "takes", "review"),
    "studio._cli._analyze": ("analyze",),
    "studio._cli._jobs": ("enqueue", "worker", "jobs", "batch"),
    "studio._cli._assist": ("assist",),
    "studio._cli._apps": ("dashboard", "lab"),
    "studio._cli._comfy": ("doctor", "workflows"),
    "studio._cli._timeline": ("export-timeline",),
}
_MODULE_OF = {name: module for module, names in COMMAND_MODULES.items() for name in names}


class StudioCommands(StudioGroup):
    """The top-level group, loading each command's module on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_MODULE_OF)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in _MODULE_OF:
            for command in importlib.import_module(_MODULE_OF[cmd_name]).COMMANDS:
                self.add_command(adopt(command))
        return super().get_command(ctx, cmd_name)


@click.group(cls=StudioCommands, context_settings={"help_option_names": ["-h", "--help"]})
@global_options
def main() -> None:
    """Anime Studio: write a story, define characters once, render long-form episodes."""
