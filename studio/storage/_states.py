"""The states a project, episode, scene and segment can be in.

String enums, so a member compares equal to the text stored in the database and the
CHECK constraints in :mod:`studio.storage._models` list exactly these values.
(The job queue's states are :class:`studio.jobs.JobStatus`.)
"""

from __future__ import annotations

import enum

__all__ = ["EpisodeState", "ProjectState", "SceneState", "SegmentState"]


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
