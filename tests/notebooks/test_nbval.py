"""The notebooks run under nbval (each in a fresh kernel) and their checked cells match.

nbval runs in a child pytest so that the main run keeps ``testpaths = ["tests"]`` and
its own options: ``--nbval-lax`` checks that every cell runs and compares only cells
marked ``NBVAL_CHECK_OUTPUT``; volatile text is normalised by notebooks/nbval_sanitize.cfg.
Each notebook gets a throw-away studio home through ``STUDIO_HOME``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["studio.ipynb", "tour.ipynb"])
def test_notebook_runs_under_nbval(name: str, tmp_path: Path) -> None:
    environment = {**os.environ, "STUDIO_HOME": str(tmp_path / "home"), "TMPDIR": str(tmp_path)}
    environment.pop("STUDIO_DATABASE_URL", None)
    users_database = tmp_path / "users-own.db"
    if name == "tour.ipynb":
        # As `studio lab` starts it: the user's own home and database in the environment.
        # The tour must leave both alone (it opens a throw-away studio of its own).
        environment["STUDIO_DATABASE_URL"] = f"sqlite:///{users_database}"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--nbval-lax",
            "--nbval-current-env",
            "--nbval-sanitize-with",
            str(NOTEBOOKS / "nbval_sanitize.cfg"),
            # The kernel's own deprecation noise is not ours to fix; the main run keeps "error".
            "-W",
            "ignore::DeprecationWarning",
            str(NOTEBOOKS / name),
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    if name == "tour.ipynb":
        assert not users_database.exists() and not (tmp_path / "home").exists()
