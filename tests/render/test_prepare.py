"""Planning, prompt composition and memory, before any pixel is rendered."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from studio import NotFoundError, RenderError
from studio._config import Settings
from studio._studio import DEMO_SCREENPLAY, Studio
from studio.render._compose import CharacterState, PromptInputs, compose_negative, compose_prompt
from studio.render._memory import learned_elements
from studio.render._pipeline import prepare_episode
from studio.render._plan import plan_segments
from studio.storage._models import CharacterSceneMemoryModel, QualityFeedbackModel, SceneModel, SegmentModel


@pytest.fixture
def studio(settings: Settings) -> Studio:
    with Studio.open(settings=settings, upgrade=True) as opened:
        opened.import_demo()
        yield opened


@pytest.mark.parametrize(
    ("duration", "limit", "fps", "frames"),
    [
        (6, 4, 24, [72, 72]),
        (5, 4, 24, [60, 60]),
        (7, 4, 24, [84, 84]),
        (4, 4, 24, [96]),
        (10, 4, 24, [80, 80, 80]),
        (0.1, 4, 24, [2]),
        (30, 5.0, 16, [80] * 6),
        (5.05, 4, 24, [61, 60]),
        (8.5, 4, 24, [68, 68, 68]),
        (8.55, 4, 24, [69, 68, 68]),
    ],
)
def test_plan_sizes(duration: float, limit: float, fps: int, frames: list[int]) -> None:
    plan = plan_segments(duration, max_segment_seconds=limit, fps=fps)
    assert sum(p.frames for p in plan) == round(duration * fps)
    assert [p.frames for p in plan] == frames
    assert [p.start_frame for p in plan] == [sum(frames[:i]) for i in range(len(frames))]
    assert [p.number for p in plan] == list(range(len(frames)))
    assert all(p.duration_seconds <= limit + 1e-9 for p in plan)
    assert max(p.frames for p in plan) - min(p.frames for p in plan) <= 1
    assert [p.start_frame for p in plan] == [sum(q.frames for q in plan[:i]) for i in range(len(plan))]


def test_plan_rejects_a_non_positive_duration() -> None:
    with pytest.raises(ValueError, match="positive duration"):
        plan_segments(0, max_segment_seconds=4, fps=24)


def test_prompt_follows_the_seed_order() -> None:
    inputs = PromptInputs(
        location="pier",
        time_of_day="dawn",
        weather="fog",
        mood="eerie",
        characters=(
            CharacterState(
                name="Mei", outfit="red coat", expression="wary", pose="crouching", position="left"
            ),
        ),
        lighting="lantern",
        camera_angle="low",
        camera_movement="pan",
        style_keywords=("ink wash",),
        tension=0.9,
        learned={"Mei": ("sharp eyes",)},
    )
    assert compose_prompt(inputs, action="she looks up") == (
        "pier, dawn lighting, fog, eerie atmosphere, Mei, wearing red coat, wary expression, crouching, "
        "on the left, lantern lighting, low shot, pan camera, ink wash, she looks up, intense, sharp eyes"
    )
    assert compose_prompt(PromptInputs(weather="clear", tension=0.1)) == "calm"
    assert compose_negative(PromptInputs(negative_style_keywords=("text",))) == (
        "low quality, blurry, distorted, deformed, text"
    )


GOLDEN = {
    (1, 0): (
        "rooftop garden, dusk lighting, hopeful atmosphere, Luna, silver bob haircut, amber eyes, slim build, "
        "wearing teal rain jacket, silver bob hair, with brass compass, determined expression, standing, on the left, "
        "turns the letter over in her hands, Kai, spiky red hair, freckles, athletic, wearing orange hoodie, with headphones, "
        "grinning expression, leaning on the railing, on the right, golden hour lighting, medium shot, pan camera, "
        "cel shading, soft bloom, anime style, Kai hands Luna the letter"
    ),
    (2, 0): (
        "harbour rooftops, night lighting, rain, urgent atmosphere, Luna, silver bob haircut, amber eyes, slim build, "
        "wearing teal rain jacket, silver bob hair, with brass compass, focused expression, running, on the left, "
        "Kai, spiky red hair, freckles, athletic, wearing orange hoodie, with headphones, "
        "laughing expression, jumping, center, neon signs lighting, wide shot, dolly camera, cel shading, "
        "speed lines, anime style, they leap a gap between buildings, intense"
    ),
    (3, 1): (
        "harbour rooftops, night lighting, storm, relieved atmosphere, Luna, silver bob haircut, amber eyes, "
        "slim build, wearing teal rain jacket, silver bob hair, with brass compass, relieved expression, "
        "holding out the letter, center, Kai, spiky red hair, freckles, athletic, wearing orange hoodie, "
        "with headphones, tired expression, hands on knees, on the right, lightning flashes lighting, "
        "close-up shot, zoom camera, cel shading, rain streaks, anime style"
    ),
}


def test_golden_prompts_for_the_demo(studio: Studio) -> None:
    prepare_episode(studio, episode=1)
    with studio.database.session() as session:
        rows = session.execute(
            select(
                SceneModel.scene_number,
                SegmentModel.segment_number,
                SegmentModel.motion_prompt,
                SegmentModel.negative_prompt,
            ).join(SceneModel, SegmentModel.scene_id == SceneModel.id)
        ).all()
    prompts = {(scene, segment): prompt for scene, segment, prompt, _ in rows}
    assert sorted(prompts) == [(1, 0), (1, 1), (2, 0), (2, 1), (3, 0), (3, 1)]
    for key, expected in GOLDEN.items():
        assert prompts[key] == expected, key
    # The last action repeats; scene 2 has one action for both segments.
    assert prompts[(1, 1)].endswith("Luna tucks it into her jacket")
    assert prompts[(2, 1)] == prompts[(2, 0)]
    negatives = {n for *_, n in rows}
    assert negatives == {"low quality, blurry, distorted, deformed, extra limbs, heavy makeup"}


def test_prepare_is_idempotent(studio: Studio) -> None:
    first = prepare_episode(studio, episode=1)
    with studio.database.session() as session:
        before = session.execute(select(SegmentModel.id, SegmentModel.motion_prompt, SegmentModel.seed)).all()
    prepare_episode(studio, episode=1)
    with studio.database.session() as session:
        after = session.execute(select(SegmentModel.id, SegmentModel.motion_prompt, SegmentModel.seed)).all()
    assert sorted(before) == sorted(after)
    assert [b.number for b in first] == [1, 2, 3]


def test_memory_carries_outfits_for_characters_who_have_not_exited(studio: Studio, tmp_path: Path) -> None:
    text = DEMO_SCREENPLAY.read_text()
    # Scene 1 changes Kai's outfit; scene 2 says nothing about it; Luna exits in scene 2.
    text = (
        text.replace(
            "{name: Kai, expression: grinning,", "{name: Kai, outfit: yellow raincoat, expression: grinning,"
        )
        .replace(
            "{name: Luna, expression: focused, pose: running,",
            "{name: Luna, expression: focused, exits: true, pose: running,",
        )
        .replace("{name: Luna, expression: relieved,", "{name: Luna, outfit: '', expression: relieved,")
    )
    path = tmp_path / "show.yaml"
    path.write_text(text)
    studio.import_file(path)
    briefs = prepare_episode(studio, episode=1)
    outfits = {b.number: {c.name: c.outfit for c in b.inputs.characters} for b in briefs}
    assert outfits[1] == {"Luna": "teal rain jacket", "Kai": "yellow raincoat"}
    assert outfits[2]["Kai"] == "yellow raincoat"  # carried from scene 1
    with studio.database.session() as session:
        carried = session.scalars(
            select(CharacterSceneMemoryModel.carried_from_scene)
            .join(SceneModel, CharacterSceneMemoryModel.scene_id == SceneModel.id)
            .where(SceneModel.scene_number == 2)
        ).all()
    assert 1 in carried
    # Prior context: the previous scene's plot summary.
    from studio.storage._models import StoryStateMemoryModel

    with studio.database.session() as session:
        story = session.scalars(
            select(StoryStateMemoryModel)
            .join(SceneModel, StoryStateMemoryModel.scene_id == SceneModel.id)
            .where(SceneModel.scene_number == 2)
        ).one()
        assert story.prior_context == "Luna receives the sealed letter on a rooftop garden at dusk."
        assert story.transition_from_previous == "fade"


def test_learned_elements_are_per_character(studio: Studio) -> None:
    prepare_episode(studio, episode=1)
    with studio.database.session() as session:
        segment = session.scalars(select(SegmentModel)).first()
        assert segment is not None
        luna, kai = session.scalars(
            select(CharacterSceneMemoryModel.character_id).where(
                CharacterSceneMemoryModel.scene_id == segment.scene_id
            )
        ).all()

        def feedback(character: int, score: float, good: list[str], bad: list[str]) -> None:
            session.add(
                QualityFeedbackModel(
                    segment_id=segment.id,
                    character_id=character,
                    overall_score=score,
                    successful_elements=good,
                    failed_elements=bad,
                    feedback_type="automatic",
                )
            )

        for _ in range(2):
            feedback(luna, 0.9, ["soft rim light", "amber eyes"], [])
        feedback(kai, 0.9, ["motion blur"], [])
        for _ in range(3):
            feedback(luna, 0.2, [], ["soft rim light", "neon haze"])
        feedback(kai, 0.2, [], ["neon haze"])
    with studio.database.session() as session:
        learned, failed = learned_elements(session, [luna, kai])
    assert learned[luna] == ["amber eyes"]  # "soft rim light" failed 3 times for Luna
    assert learned[kai] == ["motion blur"]
    assert failed == set()  # "neon haze" failed 3 times for Luna only, not for Kai


def test_an_unknown_episode_is_a_clear_error(studio: Studio) -> None:
    with pytest.raises(NotFoundError, match=r"episode 7 does not exist in 'Neon Tide'; episodes: 1"):
        prepare_episode(studio, episode=7)


def test_an_episode_without_scenes_is_a_clear_error(studio: Studio, tmp_path: Path) -> None:
    path = tmp_path / "show.yaml"
    path.write_text(DEMO_SCREENPLAY.read_text() + "  - number: 2\n    title: Empty\n")
    studio.import_file(path)
    with pytest.raises(RenderError, match="episode 2 of 'Neon Tide' has no scenes"):
        prepare_episode(studio, episode=2)


def test_an_accepted_assistant_prompt_survives_preparation(studio: Studio) -> None:
    prepare_episode(studio, episode=1)
    with studio.database.session() as session:
        row = session.scalars(select(SegmentModel).order_by(SegmentModel.id)).first()
        assert row is not None
        row.meta = {"assistant_prompt": {"prompt": "a better prompt", "negative_prompt": "worse things"}}
        row.motion_prompt = "a better prompt"
        segment_id = row.id
    prepare_episode(studio, episode=1)
    with studio.database.session() as session:
        row = session.get(SegmentModel, segment_id)
        assert row is not None
        assert (row.motion_prompt, row.negative_prompt) == ("a better prompt", "worse things")


def test_the_backends_own_segment_limit_reaches_planning(settings: Settings, tmp_path: Path) -> None:
    from studio.backends.comfyui import ComfyBackend

    screenplay = tmp_path / "long.yaml"
    screenplay.write_text(
        "title: Long Take\n"
        "characters: [{name: Ann}]\n"
        "episodes:\n"
        "  - number: 1\n"
        "    scenes:\n"
        "      - {number: 1, description: Ann walks along the pier., location: pier, duration: 20,"
        " characters: [Ann]}\n"
    )
    # ltxv_i2v declares 10-second segments; the animatic's limit is 4 seconds.
    backend = ComfyBackend(["http://127.0.0.1:9"], home=settings.home, template="ltxv_i2v")
    assert backend.segment_limit({}) == 10.0
    with Studio.open(settings=settings, upgrade=True) as studio:
        studio.import_file(screenplay)
        prepare_episode(studio, episode=1, backend=backend)
        with studio.database.session() as session:
            assert session.scalar(select(SceneModel.total_segments)) == 2
            assert len(session.scalars(select(SegmentModel)).all()) == 2
        prepare_episode(studio, episode=1)  # the animatic plans the same scene in 4-second pieces
        with studio.database.session() as session:
            assert session.scalar(select(SceneModel.total_segments)) == 5
    # A template named for one render overrides the backend's default.
    assert backend.segment_limit({"template": "wan22_i2v"}) == 5.0


def test_learned_look_never_contradicts_a_hair_change(studio: Studio, tmp_path: Path) -> None:
    # Scene 2 gives Luna a long braid; she has not exited, so scene 3 keeps it.
    text = DEMO_SCREENPLAY.read_text().replace(
        "{name: Luna, expression: focused, pose: running,",
        "{name: Luna, hair: long braid, expression: focused, pose: running,",
    )
    path = tmp_path / "braid.yaml"
    path.write_text(text)
    studio.import_file(path)
    prepare_episode(studio, episode=1)
    with studio.database.session() as session:
        segment = session.scalars(select(SegmentModel).order_by(SegmentModel.id)).first()
        assert segment is not None
        luna = session.scalars(
            select(CharacterSceneMemoryModel.character_id).where(
                CharacterSceneMemoryModel.scene_id == segment.scene_id
            )
        ).first()
        # What scene 1 taught about Luna's look: her bob, her jacket, her compass.
        for _ in range(3):
            session.add(
                QualityFeedbackModel(
                    segment_id=segment.id,
                    character_id=luna,
                    overall_score=0.9,
                    successful_elements=["silver bob hair", "wearing teal rain jacket", "with brass compass"],
                    failed_elements=[],
                    feedback_type="automatic",
                )
            )
    briefs = prepare_episode(studio, episode=1)
    assert briefs[1].inputs.learned["Luna"][0] == "silver bob hair"  # learned, yet...
    prompts = scene_prompts(studio)
    for scene in (2, 3):
        prompt = prompts[(scene, 0)]
        assert "long braid hair" in prompt
        assert "silver bob" not in prompt  # neither the learned element nor the sheet's token
        assert "wearing teal rain jacket" in prompt and "with brass compass" in prompt  # still hers
    assert "silver bob haircut" in prompts[(1, 0)] and "silver bob hair," in prompts[(1, 0)]
    assert "long braid" not in prompts[(1, 0)]


def test_the_composer_keeps_learned_elements_that_agree_and_drops_those_that_do_not() -> None:
    from studio.render._compose import contradicts, look_attribute

    mei = CharacterState(name="Mei", outfit="red coat", hair="short black", accessories=("scarf",), expression="wary")
    assert [look_attribute(e) for e in ("wearing red coat", "with scarf", "long braid hair", "wary expression", "sharp eyes")] == [
        "outfit", "accessories", "hair", "expression", None,
    ]
    assert not contradicts("wearing red coat", mei) and contradicts("wearing blue dress", mei)
    assert not contradicts("short black haircut", mei) and contradicts("silver bob hair", mei)
    assert not contradicts("with scarf", mei) and contradicts("with brass compass", mei)
    assert contradicts("smiling expression", mei) and not contradicts("sharp eyes", mei)
    # Nothing set, nothing contradicted.
    assert not contradicts("silver bob hair", CharacterState(name="Mei"))
    inputs = PromptInputs(
        characters=(mei,), learned={"Mei": ("sharp eyes", "silver bob hair", "wearing red coat")}
    )
    assert compose_prompt(inputs) == (
        "Mei, wearing red coat, short black hair, with scarf, wary expression, sharp eyes"
    )


def scene_prompts(studio: Studio) -> dict[tuple[int, int], str]:
    with studio.database.session() as session:
        rows = session.execute(
            select(SceneModel.scene_number, SegmentModel.segment_number, SegmentModel.motion_prompt).join(
                SceneModel, SegmentModel.scene_id == SceneModel.id
            )
        ).all()
    return {(scene, segment): prompt for scene, segment, prompt in rows}
