"""Storage: the ORM models, the database handle, migrations, queries and states.

Everything that speaks SQL lives here; where SQLite and PostgreSQL differ, the
difference is in :mod:`studio.storage._dialects`.
"""

from studio._lazy import present_as as _present_as
from studio.storage._database import Database, open_database
from studio.storage._dialects import database_now, session_now
from studio.storage._migrations import SchemaState, downgrade, head_revision, schema_state, upgrade
from studio.storage._models import (
    AssistantConversationModel,
    AssistantMessageModel,
    Base,
    CharacterModel,
    CharacterSceneMemoryModel,
    EpisodeModel,
    JobModel,
    ProjectModel,
    QualityFeedbackModel,
    SceneModel,
    SegmentModel,
    StoryStateMemoryModel,
    TakeModel,
    VisualStyleMemoryModel,
    WorkflowConfigModel,
    utcnow,
)
from studio.storage._queries import (
    find_episode,
    find_or_raise_episode,
    find_or_raise_project,
    find_or_raise_scene,
    find_scene,
)
from studio.storage._states import (
    ChosenBy,
    EpisodeState,
    ProjectState,
    RenderPass,
    SceneState,
    SegmentState,
    TakeState,
)
from studio.storage._takes import (
    choose_take_without_commit,
    find_chosen_take,
    find_or_raise_take,
    mark_for_retake_without_commit,
    next_take_number,
    where_takes_of_segment,
)

__all__ = [
    "ChosenBy",
    "RenderPass",
    "TakeModel",
    "TakeState",
    "choose_take_without_commit",
    "find_chosen_take",
    "find_or_raise_take",
    "mark_for_retake_without_commit",
    "next_take_number",
    "where_takes_of_segment",
    "AssistantConversationModel",
    "AssistantMessageModel",
    "Base",
    "CharacterModel",
    "CharacterSceneMemoryModel",
    "Database",
    "EpisodeModel",
    "EpisodeState",
    "JobModel",
    "ProjectModel",
    "ProjectState",
    "QualityFeedbackModel",
    "SceneModel",
    "SceneState",
    "SchemaState",
    "SegmentModel",
    "SegmentState",
    "StoryStateMemoryModel",
    "VisualStyleMemoryModel",
    "WorkflowConfigModel",
    "database_now",
    "downgrade",
    "find_episode",
    "find_or_raise_episode",
    "find_or_raise_project",
    "find_or_raise_scene",
    "find_scene",
    "head_revision",
    "open_database",
    "schema_state",
    "session_now",
    "upgrade",
    "utcnow",
]

for _name in __all__:
    _present_as(globals()[_name], "studio.storage")
