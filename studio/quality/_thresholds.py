"""Per-project quality thresholds, with documented defaults.

A project stores its own :class:`QualityThresholds` (as JSON); anything it does
not set keeps the default below. Luma differences are in 8-bit levels (0-255) of
full-range luma; colour distances are CIE L*a*b* units (Delta E 1976).

A frozen dataclass, not a pydantic model: every ``studio analyze`` run imports it,
and pydantic's import and model build cost about 60 ms there, a fifth of the
whole analysis of a 300-frame clip. Each field's bounds are ``annotated_types``
constraints, checked on construction.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from functools import cache
from typing import Annotated, Any, cast, get_args, get_type_hints

from annotated_types import Ge, Gt, Le

__all__ = ["QualityThresholds"]


@dataclass(frozen=True)
class QualityThresholds:
    """When a segment is flagged, and what a failing segment turns into.

    Outliers inside a segment are judged twice: against the segment itself (a
    robust z-score, ``(value - median) / (1.4826 * MAD)``, once a segment has at
    least ``min_pairs_for_z`` frame pairs) and against an absolute floor, so that
    neither a perfectly regular clip (MAD near zero) nor a noisy one raises false
    alarms.

    Raises:
        ValueError: A value has the wrong type or is out of bounds (on construction).
    """

    outlier_z: Annotated[float, Gt(0)] = 8.0
    """Robust z-score beyond which a frame pair is an outlier."""
    min_pairs_for_z: Annotated[int, Ge(2)] = 8
    """Below this many pairs only the absolute floors apply."""
    cut_min_mad: Annotated[float, Gt(0)] = 8.0
    """A cut changes luma by at least this much more than the median pair."""
    cut_min_ssim_drop: Annotated[float, Gt(0)] = 0.08
    """A cut's SSIM is at least this far below the median pair's."""
    color_shift_min_delta: Annotated[float, Gt(0)] = 4.0
    """A sudden colour shift moves the mean Y'CbCr by at least this much."""
    flicker_min_luma_step: Annotated[float, Gt(0)] = 3.0
    """Brightness flicker: mean luma jumps up and back by at least this."""
    flicker_min_mad: Annotated[float, Gt(0)] = 6.0
    """Content flicker: a frame differs from both neighbours by this."""
    freeze_max_mad: Annotated[float, Ge(0)] = 0.5
    """Consecutive frames closer than this are the same picture."""
    freeze_min_frames: Annotated[int, Ge(2)] = 12
    """A held picture is a freeze from this many frames (0.5 s at 24 fps)."""
    constant_max_std: Annotated[float, Ge(0)] = 3.0
    """A frame whose luma std is at most this is constant (no picture)."""
    black_max_luma: Annotated[float, Ge(0)] = 24.0
    """A constant frame this dark or darker is a black frame."""
    seam_max_jump_ratio: Annotated[float, Gt(1)] = 3.0
    """Seam difference over the segment's median frame difference."""
    seam_min_mad: Annotated[float, Ge(0)] = 4.0
    """A seam jump also needs at least this much luma difference."""
    color_max_delta_e: Annotated[float, Gt(0)] = 8.0
    """Largest L*a*b* mean distance to the anchor frame."""
    color_max_std_ratio: Annotated[float, Gt(1)] = 1.35
    """Largest ratio (either way) of L*a*b* std to the anchor's."""
    sharpness_min_ratio: Annotated[float, Gt(0), Le(1)] = 0.5
    """Sharpness below this fraction of segment 0's is decay."""
    min_overall: Annotated[float, Ge(0), Le(1)] = 0.5
    """An overall score below this fails even without events."""
    retry_extra_steps: Annotated[int, Ge(0)] = 5
    """Sampler steps added per retry from the second retry on."""
    color_sample_every: Annotated[int, Ge(1)] = 6
    """Measure L*a*b* statistics and sharpness on every Nth frame."""

    def __post_init__(self) -> None:
        for name, (kind, bounds) in _fields().items():
            value = _checked_number(name, getattr(self, name), kind)
            object.__setattr__(self, name, value)
            for bound in bounds:
                if not _within(value, bound):
                    raise ValueError(f"quality.{name} must be {_describe(bound)}, got {value!r}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> QualityThresholds:
        """Thresholds from a project's settings: any subset of the fields, defaults for the rest.

        Raises:
            ValueError: An unknown name (naming the closest known one), or a bad value.
        """
        data = dict(data or {})
        known = _fields()
        for name in sorted(set(data) - set(known)):
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f"; known: {', '.join(known)}"
            raise ValueError(f"unknown quality threshold {name!r}{hint}")
        return cls(**data)

    def to_dict(self) -> dict[str, float | int]:
        """Every threshold, JSON-ready."""
        return asdict(self)


Bound = Gt | Ge | Le


@cache
def _fields() -> dict[str, tuple[type, tuple[Bound, ...]]]:
    """Each field's base type and bounds, read once from the annotations."""
    # This module's globals: the package renames the class's __module__ to studio.quality.
    hints = get_type_hints(QualityThresholds, globalns=globals(), include_extras=True)
    result: dict[str, tuple[type, tuple[Bound, ...]]] = {}
    for field in fields(QualityThresholds):
        kind, *bounds = get_args(hints[field.name])
        result[field.name] = (kind, tuple(bounds))
    return result


def _checked_number(name: str, value: object, kind: type) -> float | int:
    """``value`` as ``kind``; 24.0 (as JSON may store it) is the whole number 24."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if kind is float:
            return float(value)
        if isinstance(value, int) or value.is_integer():
            return int(value)
    wanted = "a whole number" if kind is int else "a number"
    raise ValueError(f"quality.{name} must be {wanted}, got {value!r}")


def _within(value: float, bound: Bound) -> bool:
    if isinstance(bound, Gt):
        return value > cast(float, bound.gt)
    if isinstance(bound, Ge):
        return value >= cast(float, bound.ge)
    return value <= cast(float, bound.le)


def _describe(bound: Bound) -> str:
    if isinstance(bound, Gt):
        return f"greater than {bound.gt}"
    if isinstance(bound, Ge):
        return f"at least {bound.ge}"
    return f"at most {bound.le}"
