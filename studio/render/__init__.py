"""Rendering an episode: plan, compose, generate, check, retry, stitch, report."""

import typing as _typing

from studio._lazy import lazy_names as _lazy_names

if _typing.TYPE_CHECKING:  # what the lazy names resolve to, for type checkers
    from studio.render._check import (
        SegmentCheck,
        check_segment,
        thresholds_for,
    )
    from studio.render._compose import (
        CharacterState,
        PromptInputs,
        compose_negative,
        compose_prompt,
    )
    from studio.render._memory import (
        SceneBrief,
        learned_elements,
        load_scene_brief,
        propagate_memory,
    )
    from studio.render._pipeline import (
        RenderCancelled,
        RenderProgress,
        RenderSummary,
        prepare_episode,
        render_episode,
        slug,
    )
    from studio.render._plan import (
        PlannedSegment,
        plan_segments,
    )
    from studio.render._prepare import (
        base_seed,
        episode_dir,
    )
    from studio.render._report import (
        contact_sheet,
        figure_png,
        report_paths,
        run_render_report,
        scores_figure,
        scores_table_html,
        summary_from_database,
        takes_table_html,
        video_html,
    )
    from studio.render._retake import (
        RetakeSelection,
        has_queued_retakes,
        parse_timecode,
        queue_retake,
        render_retakes,
        retake,
        select_segments,
    )
    from studio.render._stitch import (
        TRANSITIONS,
        SceneClip,
        StitchError,
        stitch_episode,
        stitch_scene,
    )

# Loaded on first use (PEP 562): importing the package stays cheap, and its modules
# may import each other's packages without a cycle at import time.
_LAZY = {
    "RetakeSelection": "_retake",
    "has_queued_retakes": "_retake",
    "parse_timecode": "_retake",
    "queue_retake": "_retake",
    "render_retakes": "_retake",
    "retake": "_retake",
    "select_segments": "_retake",
    "CharacterState": "_compose",
    "PlannedSegment": "_plan",
    "PromptInputs": "_compose",
    "RenderCancelled": "_pipeline",
    "RenderProgress": "_pipeline",
    "RenderSummary": "_pipeline",
    "SceneBrief": "_memory",
    "SceneClip": "_stitch",
    "SegmentCheck": "_check",
    "StitchError": "_stitch",
    "TRANSITIONS": "_stitch",
    "base_seed": "_prepare",
    "check_segment": "_check",
    "compose_negative": "_compose",
    "compose_prompt": "_compose",
    "contact_sheet": "_report",
    "episode_dir": "_prepare",
    "figure_png": "_report",
    "learned_elements": "_memory",
    "load_scene_brief": "_memory",
    "plan_segments": "_plan",
    "prepare_episode": "_pipeline",
    "propagate_memory": "_memory",
    "render_episode": "_pipeline",
    "report_paths": "_report",
    "run_render_report": "_report",
    "scores_figure": "_report",
    "scores_table_html": "_report",
    "slug": "_pipeline",
    "stitch_episode": "_stitch",
    "stitch_scene": "_stitch",
    "summary_from_database": "_report",
    "takes_table_html": "_report",
    "thresholds_for": "_check",
    "video_html": "_report",
}

__all__ = [
    "RetakeSelection",
    "has_queued_retakes",
    "parse_timecode",
    "queue_retake",
    "render_retakes",
    "retake",
    "select_segments",
    "CharacterState",
    "PlannedSegment",
    "PromptInputs",
    "RenderCancelled",
    "RenderProgress",
    "RenderSummary",
    "SceneBrief",
    "SceneClip",
    "SegmentCheck",
    "StitchError",
    "TRANSITIONS",
    "base_seed",
    "check_segment",
    "compose_negative",
    "compose_prompt",
    "contact_sheet",
    "episode_dir",
    "figure_png",
    "learned_elements",
    "load_scene_brief",
    "plan_segments",
    "prepare_episode",
    "propagate_memory",
    "render_episode",
    "report_paths",
    "run_render_report",
    "scores_figure",
    "scores_table_html",
    "slug",
    "stitch_episode",
    "stitch_scene",
    "summary_from_database",
    "takes_table_html",
    "thresholds_for",
    "video_html",
]

__getattr__, __dir__ = _lazy_names(globals(), _LAZY)
