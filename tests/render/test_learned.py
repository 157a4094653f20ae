"""Learned elements are each character's own look, never the scene's or another character's."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from studio._config import Settings
from studio._studio import Studio
from studio.render._memory import learned_elements
from studio.render._pipeline import render_episode
from studio.storage._models import CharacterModel, QualityFeedbackModel, SegmentModel

SCREENPLAY = """\
title: Pier
defaults: {fps: 24, width: 256, height: 144}
characters:
  - {name: Ann, prompt: freckles, outfit: grey coat, hair: short black, accessories: [red scarf]}
  - {name: Bo, prompt: tall, outfit: yellow raincoat}
episodes:
  - number: 1
    scenes:
      - number: 1
        description: Ann and Bo meet on the pier.
        location: pier
        lighting: lantern
        style: [ink wash]
        camera: {angle: medium, movement: pan}
        duration: 3
        actions: [the ferry arrives]
        characters:
          - {name: Ann, expression: calm, pose: standing, position: left, action: waves to Bo}
          - {name: Bo, expression: tired, pose: walking, position: right}
"""


def test_each_character_learns_only_their_own_look_and_action(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "pier.yaml"
    path.write_text(SCREENPLAY)
    with Studio.open(settings=settings, upgrade=True) as studio:
        studio.import_file(path)
        render_episode(studio, episode=1)
        with studio.database.session() as session:
            prompt = session.scalars(select(SegmentModel.motion_prompt)).one()
            # The character's own action is in the prompt, after where they stand.
            assert "Ann, freckles, wearing grey coat, short black hair, with red scarf, calm expression, " \
                "standing, on the left, waves to Bo, Bo," in prompt
            ids = {c.character_name: c.id for c in session.scalars(select(CharacterModel))}
            rows = session.scalars(select(QualityFeedbackModel).order_by(QualityFeedbackModel.character_id)).all()
            assert {r.character_id for r in rows} == set(ids.values())
            by_name = {n: [r for r in rows if r.character_id == i] for n, i in ids.items()}
            ann = by_name["Ann"][0]
            bo = by_name["Bo"][0]
            assert ann.overall_score >= 0.7, "the animatic's clean segment counts as a success"
            # Her look, as the prompt said it; not her expression, pose or action (this scene's
            # performance, which a later scene must not inherit).
            assert ann.successful_elements == ["freckles", "wearing grey coat", "short black hair", "with red scarf"]
            assert bo.successful_elements == ["tall", "wearing yellow raincoat"]
            learned, _ = learned_elements(session, ids.values())
        scene_words = {
            "pier", "lantern lighting", "ink wash", "medium shot", "the ferry arrives", "anime style",
            "waves to Bo", "calm expression", "standing", "walking",
        }
        for name in ("Ann", "Bo"):
            assert not scene_words & set(learned[ids[name]])
        assert not {"freckles", "short black hair"} & set(learned[ids["Bo"]])
