"""App commands: ``studio dashboard`` (Voila) and ``studio lab`` (JupyterLab).

Both serve on 127.0.0.1 only, behind a token (generated unless given), and pass the
studio's home and database to their kernels through the environment, so the notebooks
open the same studio as the command line (the tour ignores them: it makes its own
throw-away studio). The servers run as child processes; Ctrl-C stops them (and their
kernels), never a render, which runs in its own process.

Kernels: a dashboard page has one kernel. Voila shuts it down when the page closes
(its ``beforeunload`` request); a kernel whose page vanished without saying so (a
crashed browser, a closed laptop) is culled once it has had no connection and no
activity for :data:`KERNEL_IDLE_SECONDS`. JupyterLab culls the same way.

Offline: the dashboard uses the ``studio`` Voila template (notebooks/jupyter), which is
Voila's lab template without its links to a public CDN, so a page makes no request to
any host but 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import webbrowser
from pathlib import Path

import click

from studio._cli._common import state
from studio._exceptions import ConfigurationError, StudioError

__all__ = [
    "COMMANDS",
    "build_dashboard_command",
    "build_lab_command",
    "notebooks_dir",
    "server_environment",
]

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
# Voila templates of the studio (found through JUPYTER_PATH).
JUPYTER_DATA = NOTEBOOKS / "jupyter"
KERNEL_IDLE_SECONDS = 600  # a kernel with no page and no activity for this long is shut down
CULL_INTERVAL_SECONDS = 60
DEFAULT_DASHBOARD_PORT = 8866
DEFAULT_LAB_PORT = 8888
STARTUP_TIMEOUT = 90.0  # seconds for the server to listen (Voila needs 3-5 s, more on a busy box)


def notebooks_dir() -> Path:
    """The folder holding studio.ipynb and tour.ipynb (next to the package in a checkout).

    Raises:
        ConfigurationError: the notebooks are not there (an installed wheel without them).
    """
    if not (NOTEBOOKS / "studio.ipynb").is_file():
        raise ConfigurationError(
            f"the studio notebooks are not in {NOTEBOOKS}; run the command from a checkout of the project"
        )
    return NOTEBOOKS


PREHEAT_REFILL_SECONDS = 20
"""Seconds before Voila starts the next preheated kernel after a visit took one."""


def build_dashboard_command(notebook: Path, *, port: int, token: str, preheat: bool) -> list[str]:
    """The Voila command line: localhost only, a token, no silent port fallback."""
    command = [
        sys.executable,
        "-m",
        "voila",
        str(notebook),
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        # Without this, a busy port silently becomes the next one and the printed URL lies.
        "--Voila.port_retries=0",
        f"--token={token}",
        "--show_tracebacks=False",
        "--template=studio",
        *_culling("MappingKernelManager"),
    ]
    if preheat:
        # A kernel has run the notebook before anyone visits: the page shows in ~1 s.
        command += ["--preheat_kernel=True", "--pool_size=1"]
        # Voila refills the pool 1 s after a visit takes its kernel: on 2 cores, running the
        # whole app again in a new kernel then competes with the page being shown, which
        # made a preheated first page slower than a cold one. Refill once the page is up.
        command += [f"--VoilaKernelManager.fill_delay={PREHEAT_REFILL_SECONDS}"]
    return command


def build_lab_command(folder: Path, *, port: int, token: str) -> list[str]:
    """The JupyterLab command line: localhost only, a token, the notebooks folder."""
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        f"--ServerApp.port={port}",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={folder}",
        f"--IdentityProvider.token={token}",
        *_culling("MappingKernelManager"),
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # Jupyter refuses root otherwise (containers run as root)
    return command


def _culling(manager: str) -> list[str]:
    """Shut down kernels that lost their page: no connection and idle for a while."""
    return [
        f"--{manager}.cull_idle_timeout={KERNEL_IDLE_SECONDS}",
        f"--{manager}.cull_interval={CULL_INTERVAL_SECONDS}",
        f"--{manager}.cull_connected=False",
    ]


def server_environment(home: Path, database_url: str) -> dict[str, str]:
    """The server's environment: the studio's settings, and the studio's Voila template."""
    paths = [str(JUPYTER_DATA), *filter(None, os.environ.get("JUPYTER_PATH", "").split(os.pathsep))]
    # Voila's own templates, where voila is installed: a venv layered over another
    # (its site-packages on a .pth) does not see that prefix's share/jupyter otherwise.
    spec = importlib.util.find_spec("voila")
    if spec is not None and spec.origin is not None:
        data = Path(spec.origin).resolve().parents[4] / "share" / "jupyter"
        if (data / "voila" / "templates" / "lab").is_dir():
            paths.append(str(data))
    return {
        **os.environ,
        "STUDIO_HOME": str(home),
        "STUDIO_DATABASE_URL": database_url,
        "JUPYTER_PATH": os.pathsep.join(paths),
    }


def _serve(command: list[str], *, port: int, url: str, open_browser: bool, what: str) -> None:
    settings = state().settings
    environment = server_environment(settings.home, settings.database_url)
    if _port_in_use(port):
        raise ConfigurationError(f"port {port} is in use; choose another with --port")
    process = subprocess.Popen(command, env=environment)
    # A plain SIGTERM would end this process without stopping the server (and its
    # kernels); turn it into an exit that runs the clean-up below.
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        if not _wait_for_port(process, port):
            raise StudioError(f"{what} did not start (exit code {process.poll()}); see the messages above")
        click.echo(f"{what} is running at: {url}")
        click.echo("Press Ctrl-C to stop it (renders already started keep running).")
        if open_browser:
            webbrowser.open(url)
        code = process.wait()
        if code not in (0, -signal.SIGINT, -signal.SIGTERM):
            raise StudioError(f"{what} stopped with exit code {code}")
    except KeyboardInterrupt:
        click.echo(f"stopping {what}…", err=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait_for_port(process: subprocess.Popen[bytes], port: int) -> bool:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        if _port_in_use(port):
            return True
        # Waiting for another process to open a socket has no event to wait on; poll gently.
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=0.2)
    return False


@click.command("dashboard")
@click.option("--port", type=click.IntRange(1, 65535), default=DEFAULT_DASHBOARD_PORT, show_default=True)
@click.option("--token", help="Access token (default: a new random token each run).")
@click.option("--no-browser", is_flag=True, help="Do not open a web browser.")
@click.option(
    "--preheat/--no-preheat", default=True, show_default=True, help="Run the app before the first visit."
)
def dashboard_command(port: int, token: str | None, no_browser: bool, preheat: bool) -> None:
    """Serve the studio as a web app (Voila) on 127.0.0.1, protected by a token."""
    notebook = notebooks_dir() / "studio.ipynb"
    token = token or secrets.token_urlsafe(24)
    url = f"http://127.0.0.1:{port}/?token={token}"
    command = build_dashboard_command(notebook, port=port, token=token, preheat=preheat)
    _serve(command, port=port, url=url, open_browser=not no_browser, what="The studio dashboard")


@click.command("lab")
@click.option("--port", type=click.IntRange(1, 65535), default=DEFAULT_LAB_PORT, show_default=True)
@click.option("--token", help="Access token (default: a new random token each run).")
@click.option("--no-browser", is_flag=True, help="Do not open a web browser.")
def lab_command(port: int, token: str | None, no_browser: bool) -> None:
    """Open JupyterLab on the studio notebooks (127.0.0.1, protected by a token)."""
    folder = notebooks_dir()
    token = token or secrets.token_urlsafe(24)
    url = f"http://127.0.0.1:{port}/lab/tree/studio.ipynb?token={token}"
    command = build_lab_command(folder, port=port, token=token)
    _serve(command, port=port, url=url, open_browser=not no_browser, what="JupyterLab")


COMMANDS: list[click.Command] = [dashboard_command, lab_command]
