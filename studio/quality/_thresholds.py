"""Per-project quality thresholds, with documented defaults.

A project stores its own :class:`QualityThresholds` (as JSON); anything it does
not set keeps the default below. Luma differences are in 8-bit levels (0-255) of
full-range luma; colour distances are CIE L*a*b* units (Delta E 1976).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["QualityThresholds"]


class QualityThresholds(BaseModel):
    """When a segment is flagged, and what a failing segment turns into.

    Outliers inside a segment are judged twice: against the segment itself (a
    robust z-score, ``(value - median) / (1.4826 * MAD)``, once a segment has at
    least ``min_pairs_for_z`` frame pairs) and against an absolute floor, so that
    neither a perfectly regular clip (MAD near zero) nor a noisy one raises false
    alarms.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    outlier_z: float = Field(
        default=8.0, gt=0, description="Robust z-score beyond which a frame pair is an outlier."
    )
    min_pairs_for_z: int = Field(
        default=8, ge=2, description="Below this many pairs only the absolute floors apply."
    )
    cut_min_mad: float = Field(
        default=8.0, gt=0, description="A cut changes luma by at least this much more than the median pair."
    )
    cut_min_ssim_drop: float = Field(
        default=0.08, gt=0, description="A cut's SSIM is at least this far below the median pair's."
    )
    color_shift_min_delta: float = Field(
        default=4.0, gt=0, description="A sudden colour shift moves the mean Y'CbCr by at least this much."
    )
    flicker_min_luma_step: float = Field(
        default=3.0, gt=0, description="Brightness flicker: mean luma jumps up and back by at least this."
    )
    flicker_min_mad: float = Field(
        default=6.0, gt=0, description="Content flicker: a frame differs from both neighbours by this."
    )
    freeze_max_mad: float = Field(
        default=0.5, ge=0, description="Consecutive frames closer than this are the same picture."
    )
    freeze_min_frames: int = Field(
        default=12, ge=2, description="A held picture is a freeze from this many frames (0.5 s at 24 fps)."
    )
    constant_max_std: float = Field(
        default=3.0, ge=0, description="A frame whose luma std is at most this is constant (no picture)."
    )
    black_max_luma: float = Field(
        default=24.0, ge=0, description="A constant frame this dark or darker is a black frame."
    )
    seam_max_jump_ratio: float = Field(
        default=3.0, gt=1, description="Seam difference over the segment's median frame difference."
    )
    seam_min_mad: float = Field(
        default=4.0, ge=0, description="A seam jump also needs at least this much luma difference."
    )
    color_max_delta_e: float = Field(
        default=8.0, gt=0, description="Largest L*a*b* mean distance to the anchor frame."
    )
    color_max_std_ratio: float = Field(
        default=1.35, gt=1, description="Largest ratio (either way) of L*a*b* std to the anchor's."
    )
    sharpness_min_ratio: float = Field(
        default=0.5, gt=0, le=1, description="Sharpness below this fraction of segment 0's is decay."
    )
    min_overall: float = Field(
        default=0.5, ge=0, le=1, description="An overall score below this fails even without events."
    )
    retry_extra_steps: int = Field(
        default=5, ge=0, description="Sampler steps added per retry from the second retry on."
    )
    color_sample_every: int = Field(
        default=6, ge=1, description="Measure L*a*b* statistics and sharpness on every Nth frame."
    )
