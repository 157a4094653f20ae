"""Live, monotonic progress of one ComfyUI job, from everything the server says about it.

The server reports progress four ways (comfyui-api.md §5, traces in comfyui-real):

- the queue: while the job waits, ``GET /queue`` says how many jobs run or wait ahead;
- ``executing`` names the node that starts, and ``execution_cached`` the nodes skipped;
- ``progress_state`` maps every node seen so far to ``running``/``finished`` with a
  ``value`` of ``max`` (about 20 of them for a small graph);
- ``progress`` gives the steps of the node that reports them, which is every sampler
  (a two-sampler graph such as Wan 2.2's high/low-noise pair reports both).

:class:`ProgressTracker` folds them into one fraction: each node weighs 1, except the
sampling nodes, which weigh :data:`SAMPLER_WEIGHT` (they take nearly all the time), and
the fraction never goes back, whatever order the messages come in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["SAMPLER_CLASSES", "SAMPLER_WEIGHT", "ProgressTracker", "RunProgress"]

SAMPLER_CLASSES = frozenset({
    "KSampler", "KSamplerAdvanced", "SamplerCustom", "SamplerCustomAdvanced",
    "FramePackSampler", "FramePackSingleFrameSampler", "WanVideoSampler",
})
SAMPLER_WEIGHT = 40.0
STARTED_SHARE = 0.05
"""The part of a node counted as soon as it starts (so a node starting moves the bar)."""


@dataclass(frozen=True)
class RunProgress:
    """One progress report for one job.

    ``node``/``value``/``max`` are the last sampler step (``progress``; 0/0 for other
    events). ``fraction`` is the job's whole progress (0..1, never decreasing), ``phase``
    ``queued``/``running``/``done``, and ``queue_position`` the jobs ahead while queued.
    """

    prompt_id: str
    node: str | None
    value: int
    max: int
    fraction: float = 0.0
    phase: str = "running"
    message: str = ""
    queue_position: int | None = None


class ProgressTracker:
    """Folds one job's messages into a monotonic :class:`RunProgress`.

    Args:
        prompt_id: The job.
        graph: Its API graph (node ids and class types; ``None`` when unknown, e.g. a
            job resumed after a restart of ours: then the nodes come from the messages).
        heavy_nodes: Node ids to weigh as samplers besides those of
            :data:`SAMPLER_CLASSES` (a template's ``progress_nodes``).
    """

    def __init__(self, prompt_id: str, graph: Mapping[str, Any] | None = None,
                 heavy_nodes: Iterable[str] = ()) -> None:
        self.prompt_id = prompt_id
        self._classes = {str(k): str((v or {}).get("class_type", "")) for k, v in
                         (graph or {}).items()}
        self._heavy = set(map(str, heavy_nodes)) | {
            k for k, c in self._classes.items() if c in SAMPLER_CLASSES}
        self._done: dict[str, float] = {}
        self._finished: set[str] = set()
        self._last = 0.0
        self._last_message = ""

    @property
    def fraction(self) -> float:
        return self._last

    def _weight(self, node: str) -> float:
        return SAMPLER_WEIGHT if node in self._heavy else 1.0

    def _compute(self) -> float:
        nodes = set(self._classes) | set(self._done)
        total = sum(self._weight(n) for n in nodes)
        if total <= 0:
            return 0.0
        return sum(self._weight(n) * min(1.0, f) for n, f in self._done.items()) / total

    def _report(self, message: str, *, phase: str = "running", node: str | None = None,
                value: int = 0, most: int = 0, position: int | None = None,
                fraction: float | None = None) -> RunProgress:
        computed = self._compute() if fraction is None else fraction
        self._last = max(self._last, min(1.0, computed))
        self._last_message = message
        return RunProgress(self.prompt_id, node, value, most, self._last, phase, message,
                           position)

    def _label(self, node: str) -> str:
        kind = self._classes.get(node)
        return f"node {node} ({kind})" if kind else f"node {node}"

    def queued(self, position: int) -> RunProgress:
        """The job waits with ``position`` jobs running or queued ahead of it."""
        ahead = "next in line" if position == 0 else f"{position} job(s) ahead"
        return self._report(f"queued, {ahead}", phase="queued", position=position)

    def started(self) -> RunProgress:
        return self._report("started")

    def cached(self, nodes: Iterable[str]) -> RunProgress | None:
        nodes = list(nodes)
        for node in nodes:
            self._done[node] = 1.0
        return self._report(f"{len(nodes)} node(s) cached") if nodes else None

    def executing(self, node: str) -> RunProgress:
        self._done[node] = max(self._done.get(node, 0.0), STARTED_SHARE)
        return self._report(f"{self._label(node)} running")

    def node_states(self, nodes: Mapping[str, Mapping[str, Any]]) -> RunProgress:
        """A ``progress_state`` map: every node seen so far, ``running`` or ``finished``."""
        running: str | None = None
        finished: str | None = None
        for node, state in nodes.items():
            if state.get("state") == "finished":
                if node not in self._finished:
                    finished = node
                    self._finished.add(node)
                self._done[node] = 1.0
                continue
            running = node
            most = float(state.get("max") or 0.0)
            part = float(state.get("value") or 0.0) / most if most > 0 else 0.0
            self._done[node] = max(self._done.get(node, 0.0), STARTED_SHARE, part)
        if running is not None:
            return self._report(f"{self._label(running)} running")
        if finished is not None:
            return self._report(f"{self._label(finished)} finished")
        return self._report(self._last_message or "running")

    def step(self, node: str | None, value: int, most: int) -> RunProgress:
        """A sampler ``progress`` message: step ``value`` of ``most``."""
        if node is not None and most > 0:
            self._heavy.add(node)
            self._done[node] = max(self._done.get(node, 0.0), value / most)
        where = self._label(node) if node is not None else "sampler"
        return self._report(f"{where} step {value}/{most}", node=node, value=value, most=most)

    def finished(self) -> RunProgress:
        return self._report("done", phase="done", fraction=1.0)
