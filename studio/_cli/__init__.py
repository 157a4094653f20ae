"""The ``studio`` command line: parse, call one library function, report.

Each command group lives in its own module; :data:`COMMAND_MODULES` lists them.
Exit codes: 0 success, 1 a failure while working, 2 bad input (a screenplay, an
argument, an unknown episode), 130 interrupted.
"""

from __future__ import annotations

import importlib

import click

from studio._cli._common import StudioGroup, adopt, global_options

__all__ = ["main"]

# Each module defines ``COMMANDS``: a list of click commands to register.
COMMAND_MODULES = (
    "studio._cli._project",
    "studio._cli._render",
    "studio._cli._analyze",
    "studio._cli._jobs",
    "studio._cli._assist",
    "studio._cli._apps",
    "studio._cli._comfy",
)


@click.group(cls=StudioGroup, context_settings={"help_option_names": ["-h", "--help"]})
@global_options
def main() -> None:
    """Anime Studio: write a story, define characters once, render long-form episodes."""


for _name in COMMAND_MODULES:
    for _command in importlib.import_module(_name).COMMANDS:
        main.add_command(adopt(_command))
