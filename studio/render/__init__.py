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
        character_parts,
        compose_negative,
        compose_prompt,
        contradicts,
        look_attribute,
        placement,
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
        contact_sheet_and_waveform_html,
        figure_png,
        report_paths,
        run_render_report,
        scores_figure,
        scores_table_html,
        sound_report_html,
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
    "CharacterState": "_compose",
    "PlannedSegment": "_plan",
    "PromptInputs": "_compose",
    "RenderCancelled": "_pipeline",
    "RenderProgress": "_pipeline",
    "RenderSummary": "_pipeline",
    "RetakeSelection": "_retake",
    "SceneBrief": "_memory",
    "SceneClip": "_stitch",
    "SegmentCheck": "_check",
    "StitchError": "_stitch",
    "TRANSITIONS": "_stitch",
    "base_seed": "_prepare",
    "character_parts": "_compose",
    "check_segment": "_check",
    "compose_negative": "_compose",
    "compose_prompt": "_compose",
    "contact_sheet": "_report",
    "contact_sheet_and_waveform_html": "_report",
    "contradicts": "_compose",
    "episode_dir": "_prepare",
    "figure_png": "_report",
    "has_queued_retakes": "_retake",
    "learned_elements": "_memory",
    "load_scene_brief": "_memory",
    "look_attribute": "_compose",
    "parse_timecode": "_retake",
    "placement": "_compose",
    "plan_segments": "_plan",
    "prepare_episode": "_pipeline",
    "propagate_memory": "_memory",
    "queue_retake": "_retake",
    "render_episode": "_pipeline",
    "render_retakes": "_retake",
    "report_paths": "_report",
    "retake": "_retake",
    "run_render_report": "_report",
    "scores_figure": "_report",
    "scores_table_html": "_report",
    "select_segments": "_retake",
    "slug": "_pipeline",
    "sound_report_html": "_report",
    "stitch_episode": "_stitch",
    "stitch_scene": "_stitch",
    "summary_from_database": "_report",
    "takes_table_html": "_report",
    "thresholds_for": "_check",
    "video_html": "_report",
}

__all__ = [
    "CharacterState",
    "PlannedSegment",
    "PromptInputs",
    "RenderCancelled",
    "RenderProgress",
    "RenderSummary",
    "RetakeSelection",
    "SceneBrief",
    "SceneClip",
    "SegmentCheck",
    "StitchError",
    "TRANSITIONS",
    "base_seed",
    "character_parts",
    "check_segment",
    "compose_negative",
    "compose_prompt",
    "contact_sheet",
    "contact_sheet_and_waveform_html",
    "contradicts",
    "episode_dir",
    "figure_png",
    "has_queued_retakes",
    "learned_elements",
    "load_scene_brief",
    "look_attribute",
    "parse_timecode",
    "placement",
    "plan_segments",
    "prepare_episode",
    "propagate_memory",
    "queue_retake",
    "render_episode",
    "render_retakes",
    "report_paths",
    "retake",
    "run_render_report",
    "scores_figure",
    "scores_table_html",
    "select_segments",
    "slug",
    "sound_report_html",
    "stitch_episode",
    "stitch_scene",
    "summary_from_database",
    "takes_table_html",
    "thresholds_for",
    "video_html",
]

__getattr__, __dir__ = _lazy_names(globals(), _LAZY)
