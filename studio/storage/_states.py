"""The states a project, episode, scene and segment can be in.

String enums, so a member compares equal to the text stored in the database and the
CHECK constraints in :mod:`studio.storage._models` list exactly these values.
(The job queue's states are :class:`studio.jobs.JobStatus`.)
"""

from __future__ import annotations

import enum

__all__ = [
    "ChosenBy",
    "EpisodeState",
    "ProjectState",
    "RenderPass",
    "SceneState",
    "SegmentState",
    "TakeState",
]


class ProjectState(enum.StrEnum):
    PLANNING = "planning"
    IN_PRODUCTION = "in_production"
    COMPLETED = "completed"
    ARCHIVED = "archived"


class EpisodeState(enum.StrEnum):
    PENDING = "pending"
    GENERATING = "generating"
    COMPLETED = "completed"
    FAILED = "failed"
    REVIEW = "review"
    STALE = "stale"


class SceneState(enum.StrEnum):
    PENDING = "pending"
    GENERATING = "generating"
    COMPLETED = "completed"
    FAILED = "failed"
    REVIEW = "review"
    STALE = "stale"


class SegmentState(enum.StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    REVIEW = "review"
    APPROVED = "approved"  # a person approved its chosen take


class TakeState(enum.StrEnum):
    """One generation of a segment (``generation_takes``)."""

    GENERATING = "generating"  # being generated; a killed run regenerates this same take
    PASSED = "passed"  # passed every check (possibly after a colour correction)
    REVIEW = "review"  # kept, but a person should look at it
    RETRIED = "retried"  # failed a check; the next attempt is another take
    FAILED = "failed"  # the backend failed; no file
    REJECTED = "rejected"  # a person rejected it (a retake was queued)


class RenderPass(enum.StrEnum):
    """Which pass a take belongs to: the animatic's previs, or the final (GPU) render.

    Ordered: a segment whose chosen take is of a pass at least as high as the one
    being rendered is finished for that pass.
    """

    PREVIS = "previs"
    FINAL = "final"

    @property
    def rank(self) -> int:
        return 0 if self is RenderPass.PREVIS else 1

    @classmethod
    def default_for(cls, backend: str) -> RenderPass:
        """The animatic makes previs; every other backend makes the final pass."""
        return cls.PREVIS if backend == "animatic" else cls.FINAL


class ChosenBy(enum.StrEnum):
    AUTO = "auto"  # the render kept it
    USER = "user"  # a person chose it
