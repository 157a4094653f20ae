"""`make demo` wall time: `studio demo` in a fresh studio home (import + render + report).

Prints the wall time of the whole command, the render's own time as the command reports
it, and the ratio of the episode's duration to the wall time. Target: under 2 minutes on 2 cores.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="studio-bench-demo-") as folder:
        home = Path(folder) / "home"
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "studio._cli", "--home", str(home), "demo", "--json"],
            capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        wall = time.perf_counter() - started
        if result.returncode != 0:
            sys.exit(f"studio demo failed:\n{result.stderr}")
        summary = json.loads(result.stdout)
        import av

        with av.open(summary["video"]) as container:
            stream = container.streams.video[0]
            seconds = float(stream.frames / stream.average_rate)
    print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}; cpus: {os.cpu_count()}")
    print(f"`studio demo` wall time (import, render, report, HTML): {wall:.1f} s (target < 120 s)")
    print(f"time reported by `studio demo --json` (in-process): {summary['seconds']:.1f} s")
    print(f"episode length {seconds:.1f} s -> {seconds / wall:.2f} s of video per second of wall time")


if __name__ == "__main__":
    main()
