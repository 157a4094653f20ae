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

    A change inside a segment is judged twice: against an absolute floor, and
    against the shot's own motion around it (``change_spike_ratio``), so that
    neither a still shot nor a busy one raises false alarms. See
    ``studio/quality/_events.py`` for what each detector measures.

    Raises:
        ValueError: A value has the wrong type or is out of bounds (on construction).
    """

    cut_min_change: Annotated[float, Gt(0)] = 6.0
    """A cut changes the picture's colour layout (tile means of Y', Cb and Cr, once
    a colour gain and offset are taken out) by at least this."""
    change_spike_ratio: Annotated[float, Gt(1)] = 3.0
    """A cut or colour shift is at least this many times any step of the shot
    within 4 frames of it (the shot's own motion)."""
    color_shift_min_delta: Annotated[float, Gt(0)] = 4.0
    """A sudden colour shift moves the tile means of Y', Cb and Cr by at least this."""
    flicker_min_change: Annotated[float, Gt(0)] = 6.0
    """Flicker: the picture jumps at least this far (tile means of Y', Cb and Cr)
    and comes back within 4 frames."""
    freeze_max_mad: Annotated[float, Ge(0)] = 0.5
    """Frames closer than this (whole-frame mean difference) are the same picture:
    a segment whose frame 0 repeats the previous last frame has its seam at frame 1."""
    freeze_max_tile_change: Annotated[float, Ge(0)] = 2.0
    """A frame is still held while no tile of it differs from the hold's first frame
    by more than this (mean absolute luma difference of the tile)."""
    freeze_min_frames: Annotated[int, Ge(2)] = 12
    """A held picture is a freeze from this many frames (0.5 s at 24 fps)."""
    constant_max_std: Annotated[float, Ge(0)] = 3.0
    """A frame whose luma std is at most this is constant (no picture)."""
    black_max_luma: Annotated[float, Ge(0)] = 24.0
    """A constant frame this dark or darker is a black frame."""
    seam_max_jump_ratio: Annotated[float, Gt(1)] = 3.0
    """The step across the seam over the shot's own large steps (90th percentile)."""
    seam_min_mad: Annotated[float, Ge(0)] = 4.0
    """A seam jump also changes some tile's mean absolute luma by at least this."""
    color_max_delta_e: Annotated[float, Gt(0)] = 8.0
    """Largest L*a*b* mean distance to the anchor frame."""
    color_max_std_ratio: Annotated[float, Gt(1)] = 1.35
    """Largest ratio (either way) of L*a*b* std to the anchor's."""
    color_min_palette_coverage: Annotated[float, Ge(0), Le(1)] = 0.75
    """Colour drift also needs fewer than this share of a sample's pixels in the
    anchor's palette: the same colours framed differently (a close-up) are no drift."""
    sharpness_min_ratio: Annotated[float, Gt(0), Le(1)] = 0.5
    """Sharpness below this fraction of segment 0's is decay."""
    min_overall: Annotated[float, Ge(0), Le(1)] = 0.5
    """An overall score below this fails even without events."""
    retry_extra_steps: Annotated[int, Ge(0)] = 5
    """Sampler steps added per retry from the second retry on."""
    color_sample_every: Annotated[int, Ge(1)] = 6
    """Measure L*a*b* statistics and sharpness on every Nth frame."""

    # Thresholds of the whole-frame detectors these replaced: no longer read by any
    # detector, kept so that screenplays which set them still load.
    outlier_z: Annotated[float, Gt(0)] = 8.0
    """Unused (was: the robust z-score of an outlier pair)."""
    min_pairs_for_z: Annotated[int, Ge(2)] = 8
    """Unused (was: pairs needed before the z-score applied)."""
    cut_min_mad: Annotated[float, Gt(0)] = 8.0
    """Unused (was: a cut's whole-frame difference); see ``cut_min_change``."""
    cut_min_ssim_drop: Annotated[float, Gt(0)] = 0.08
    """Unused (was: a cut's SSIM drop); see ``cut_min_change``."""
    flicker_min_luma_step: Annotated[float, Gt(0)] = 3.0
    """Unused (was: brightness flicker's step); see ``flicker_min_change``."""
    flicker_min_mad: Annotated[float, Gt(0)] = 6.0
    """Unused (was: content flicker's difference); see ``flicker_min_change``."""

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
