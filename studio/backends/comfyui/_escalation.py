"""Escalation ladders: what each retry of a segment may change in a template's graph.

A manifest lists its rungs in order, each a small object of binding names::

    "escalation": [
      {},                                             # attempt 2: a new seed only
      {"steps": "+10", "use_teacache": false},        # attempt 3
      {"steps": "+20", "use_teacache": false, "guidance": 12.0}   # attempt 4 and later
    ]

Attempt 1 renders the base parameters. Attempt ``k >= 2`` uses rung ``k - 2`` (the last
rung repeats when ``max_attempts`` outruns the ladder), always with a new seed. Each rung
is complete on its own and applies to the *base* parameters, never to the previous
attempt's: ``"+10"`` means "the base steps plus 10" on every attempt that uses that rung,
so nothing accumulates from one retry to the next.

A value is either absolute (a number, a boolean, or a string such as a sampler name) or
relative: a string ``"+N"`` or ``"-N"`` added to the base value, which is the render's own
parameter, else the template's ``defaults``, else the value in the graph at the binding's
first input. Every key must be a binding of the template (so a rung always reaches the
graph), and none may be one the request fills itself (prompt, seed, size, length...).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from studio.backends.comfyui._templates import Target, Template

__all__ = ["REQUEST_FILLED", "parse_escalation", "retry_changes", "rung_values"]

REQUEST_FILLED = frozenset({
    "prompt", "negative_prompt", "seed", "seed_rgb", "fps", "frame_rate", "width", "height",
    "length", "planned_frames", "duration_seconds", "video_prefix", "last_frame_prefix",
    "start_image", "end_image",
})
"""Binding names the backend fills from the request; a rung may not set them."""

_RELATIVE = re.compile(r"^[+-]\d+(\.\d+)?$")

Rung = Mapping[str, Any]


def parse_escalation(
    raw: Any, bindings: Mapping[str, Sequence[Target]], graph: Mapping[str, Any],
    defaults: Mapping[str, Any],
) -> tuple[tuple[Rung, ...], list[str]]:
    """The manifest's ``escalation`` list, and every problem with it (for one message)."""
    if raw is None:
        return (), []
    if not isinstance(raw, list):
        return (), ["escalation must be a list of objects (one per retry), e.g. "
                    '[{}, {"steps": "+10"}]']
    problems: list[str] = []
    rungs: list[Rung] = []
    for index, rung in enumerate(raw):
        where = f"escalation[{index}]"
        if not isinstance(rung, dict):
            problems.append(f"{where} must be an object of binding names, got {rung!r}")
            continue
        for key, value in rung.items():
            if key in REQUEST_FILLED:
                problems.append(f"{where}.{key}: the render sets {key!r} itself; a retry may "
                                "change only template parameters (steps, cfg, shift...)")
            elif key not in bindings:
                problems.append(f"{where}.{key} is not a binding of this template; add a "
                                f"binding for {key!r} or remove it from the ladder")
            elif not isinstance(value, bool | int | float | str):
                problems.append(f"{where}.{key} must be a number, a boolean or a string, "
                                f"got {value!r}")
            elif isinstance(value, str) and _RELATIVE.match(value):
                base = _base_value(key, {}, bindings, graph, defaults)
                if not isinstance(base, int | float) or isinstance(base, bool):
                    problems.append(f"{where}.{key} is relative ({value}) but the base value "
                                    f"{base!r} is not a number")
        rungs.append(dict(rung))
    return tuple(rungs), problems


def rung_values(template: Template, parameters: Mapping[str, Any], attempt: int) -> dict[str, Any]:
    """The parameters attempt ``attempt`` changes, resolved against the base parameters.

    Attempt 1 changes nothing; later attempts walk the ladder (the last rung repeats).
    """
    if attempt < 2 or not template.escalation:
        return {}
    rung = template.escalation[min(attempt - 2, len(template.escalation) - 1)]
    resolved: dict[str, Any] = {}
    for key, value in rung.items():
        if isinstance(value, str) and _RELATIVE.match(value):
            base = _base_value(key, parameters, template.bindings, template.graph,
                               template.defaults)
            number = float(value)
            total = base + number
            value = int(total) if isinstance(base, int) and number.is_integer() else total
        resolved[key] = value
    return resolved


def retry_changes(template: Template, parameters: Mapping[str, Any], attempt: int
                  ) -> dict[str, Any] | None:
    """What attempt ``attempt`` changes, or ``None`` when it would send a graph an earlier
    attempt already sent (no seed binding and nothing new on the ladder): re-rendering
    it would give the same frames, so the segment should go to review instead.

    Only the changes that differ from the base are returned, so the report shows what
    really changed.
    """
    changes = {k: v for k, v in rung_values(template, parameters, attempt).items()
               if v != _base_value(k, parameters, template.bindings, template.graph,
                                   template.defaults)}
    if "seed" in template.bindings:
        return changes
    for earlier in range(1, attempt):
        before = {k: v for k, v in rung_values(template, parameters, earlier).items()
                  if v != _base_value(k, parameters, template.bindings, template.graph,
                                      template.defaults)}
        if before == changes:
            return None
    return changes


def _base_value(key: str, parameters: Mapping[str, Any], bindings: Mapping[str, Sequence[Target]],
                graph: Mapping[str, Any], defaults: Mapping[str, Any]) -> Any:
    if key in parameters:
        return parameters[key]
    if key in defaults:
        return defaults[key]
    targets = bindings.get(key, ())
    if not targets:
        return None
    node = graph.get(targets[0].node) or {}
    return (node.get("inputs") or {}).get(targets[0].input)
