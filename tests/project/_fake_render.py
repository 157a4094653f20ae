"""A rendered episode without rendering: segment rows, frames and videos as the pipeline writes them.

Tests of panels and read models need rendered data but not the 15 s it takes to render;
the shapes (relative paths, the ``scores`` JSON with ``scores``/``seam``/``events``) follow
``studio.render._pipeline`` and ``studio.render._check``.
"""

from __future__ import annotations

import cv2
import numpy as np
from sqlalchemy import select

from studio._studio import Studio
from studio.storage._models import EpisodeModel, SceneModel, SegmentModel

FAKE_VIDEO = b"\x00\x00\x00\x18ftypmp42fake video bytes"


def png(colour: tuple[int, int, int] = (40, 120, 200)) -> bytes:
    image = np.zeros((18, 32, 3), np.uint8)
    image[:] = colour
    ok, data = cv2.imencode(".png", image)
    assert ok
    return bytes(data)


def fake_render(
    studio: Studio, *, episode: int = 1, segments_per_scene: int = 2, complete: bool = True
) -> None:
    """Mark every scene of ``episode`` rendered with ``segments_per_scene`` segments."""
    home = studio.home
    folder = home / "renders" / "fake" / f"episode_{episode:02d}"
    folder.mkdir(parents=True, exist_ok=True)
    with studio.database.session() as session:
        episode_row = session.scalars(
            select(EpisodeModel).where(EpisodeModel.episode_number == episode)
        ).one()
        scenes = session.scalars(select(SceneModel).where(SceneModel.episode_id == episode_row.id)).all()
        for scene in scenes:
            for number in range(segments_per_scene):
                stem = folder / f"scene_{scene.scene_number:03d}_segment_{number:03d}"
                (stem.with_suffix(".first.png")).write_bytes(png())
                (stem.with_suffix(".last.png")).write_bytes(png((200, 80, 40)))
                (stem.with_suffix(".mp4")).write_bytes(FAKE_VIDEO)
                relative = stem.relative_to(home)
                seam = {"ssim": [0.9], "mad": [1.0], "seam_frame": 1, "difference": 1.0, "jump_ratio": 1.2}
                session.add(
                    SegmentModel(
                        scene_id=scene.id,
                        segment_number=number,
                        motion_prompt=f"scene {scene.scene_number} segment {number}, masterpiece",
                        negative_prompt="blurry",
                        status="completed" if complete or number == 0 else "pending",
                        first_frame_path=f"{relative}.first.png",
                        last_frame_path=f"{relative}.last.png",
                        output_video_path=f"{relative}.mp4",
                        overall_quality_score=0.8,
                        attempts=1,
                        scores={
                            "scores": {
                                "overall": 0.8,
                                "frame_consistency": 0.9,
                                "motion_smoothness": 0.7,
                                "seam_continuity": 0.85 if number else None,
                                "color_stability": 0.95,
                            },
                            "seam": seam if number else None,
                            "events": [
                                {
                                    "kind": "freeze",
                                    "frame": 0,
                                    "end_frame": 5,
                                    "value": 6.0,
                                    "message": "the picture is frozen for 6 frames (0-5)",
                                }
                            ]
                            if number == 0
                            else [],
                            "decision": {"action": "pass", "reasons": []},
                        },
                    )
                )
            scene.total_segments = segments_per_scene
            if complete:
                scene.status = "completed"
                video = folder / f"scene_{scene.scene_number:03d}.mp4"
                video.write_bytes(FAKE_VIDEO)
                scene.final_video_path = str(video.relative_to(home))
                scene.entry_keyframe_path = (
                    f"{(folder / f'scene_{scene.scene_number:03d}_segment_000').relative_to(home)}.first.png"
                )
        if complete:
            video = folder.parent / f"episode_{episode:02d}.mp4"
            video.write_bytes(FAKE_VIDEO)
            episode_row.final_video_path = str(video.relative_to(home))
            episode_row.status = "completed"
