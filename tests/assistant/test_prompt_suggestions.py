"""`studio assist prompt`: suggestions from scene memory and learned elements; applied only
to segments not yet rendered. On SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from studio import NotFoundError
from studio._studio import Studio
from studio.assistant import (
    EchoBrain,
    MalformedOutputError,
    SegmentLockedError,
    StaleProposalError,
)
from studio.assistant._prompting import find_segment_id
from studio.render._pipeline import prepare_episode
from studio.storage._models import CharacterModel, QualityFeedbackModel, SegmentModel
from tests.assistant.conftest import run_cli
from tests.assistant.fake_openai import FakeOpenAI

LEARNED = "rim light on silver hair"
SUGGESTION = {
    "prompt": (
        "rooftop garden at dusk, golden hour, Luna in her teal rain jacket with brass compass, "
        f"{LEARNED}, Kai in orange hoodie hands her the letter, slow pan"
    ),
    "negative_prompt": "low quality, blurry, extra limbs, heavy makeup",
    "reasons": [
        "named the hand-over so the motion is concrete",
        f"kept '{LEARNED}', which scored well for Luna",
    ],
    "used_elements": ["Luna: teal rain jacket (memory)", f"Luna: {LEARNED} (learned)"],
}


@pytest.fixture
def segment_id(studio: Studio) -> int:
    """Episode 1 planned; Luna has two good attempts that used the learned element."""
    prepare_episode(studio, episode=1)
    segment = find_segment_id(studio.database, scene=1, number=0)
    with studio.database.session() as session:
        luna = session.scalars(select(CharacterModel).where(CharacterModel.character_name == "Luna")).one()
        for attempt in (1, 2):
            session.add(
                QualityFeedbackModel(
                    segment_id=segment,
                    character_id=luna.id,
                    attempt=attempt,
                    overall_score=0.9,
                    successful_elements=[LEARNED],
                    user_notes="the rim light sells the dusk" if attempt == 2 else None,
                )
            )
    return segment


def stored_segment(studio: Studio, segment_id: int) -> SegmentModel:
    with studio.database.session() as session:
        row = session.get(SegmentModel, segment_id)
        assert row is not None
        return row


def test_a_suggestion_uses_memory_and_learned_elements(
    studio: Studio, brain: EchoBrain, fake_server: FakeOpenAI, segment_id: int
) -> None:
    before = stored_segment(studio, segment_id).motion_prompt
    fake_server.reply(json.dumps(SUGGESTION))
    proposal = brain.suggest_prompt(segment=segment_id)

    request = fake_server.chat_requests()[0]
    assert request["model"] == "fake-small"  # routed to the fast tier
    asked = request["messages"][-1]["content"]
    assert "teal rain jacket" in asked  # scene memory: the outfit carried from the sheet
    assert LEARNED in asked and '"learned_elements"' in asked
    assert "the rim light sells the dusk" in asked  # feedback on earlier attempts
    assert before in asked

    assert proposal.valid and proposal.changed and not proposal.locked
    assert f"+{LEARNED}" in proposal.diff and "-dusk lighting" in proposal.diff
    assert proposal.context.learned["Luna"] == [LEARNED]
    assert stored_segment(studio, segment_id).motion_prompt == before  # nothing applied

    stored = brain.conversations.find_or_raise(proposal.conversation_id or 0)
    assert stored.info.task == "prompt" and stored.info.title == "prompt for segment 0 of scene 1"
    answer = stored.messages[1]
    assert (answer.position, answer.status) == (proposal.position, "proposed")
    assert answer.proposal is not None and answer.proposal["after"]["prompt"] == SUGGESTION["prompt"]


def test_accepting_stores_the_prompt_and_its_provenance(
    studio: Studio, brain: EchoBrain, fake_server: FakeOpenAI, segment_id: int
) -> None:
    before = stored_segment(studio, segment_id).motion_prompt
    fake_server.reply(json.dumps(SUGGESTION))
    proposal = brain.suggest_prompt(segment=segment_id)
    brain.accept_prompt(proposal)
    row = stored_segment(studio, segment_id)
    assert row.motion_prompt == SUGGESTION["prompt"]
    assert row.negative_prompt == SUGGESTION["negative_prompt"]
    record = row.meta["assistant_prompt"]
    assert record["replaced"]["prompt"] == before
    assert record["model"] == "fake-small" and record["conversation_id"] == proposal.conversation_id
    messages = brain.conversations.find_or_raise(proposal.conversation_id or 0).messages
    assert messages[1].status == "accepted"
    # Accepting the same suggestion twice is stale: the prompt it improved is gone.
    with pytest.raises(StaleProposalError, match="ask the assistant again"):
        brain.accept_prompt(proposal)


@pytest.mark.parametrize("status", ["completed", "review", "processing"])
def test_a_rendered_segment_is_refused(
    studio: Studio, brain: EchoBrain, fake_server: FakeOpenAI, segment_id: int, status: str
) -> None:
    with studio.database.session() as session:
        row = session.get(SegmentModel, segment_id)
        assert row is not None
        row.status = status
        before = row.motion_prompt
    fake_server.reply(json.dumps(SUGGESTION))
    proposal = brain.suggest_prompt(segment=segment_id)  # a suggestion is still shown...
    assert proposal.locked
    with pytest.raises(SegmentLockedError, match="segment 0 of scene 1") as info:
        brain.accept_prompt(proposal)  # ...but never written
    assert (info.value.segment_id, info.value.scene, info.value.status) == (segment_id, 1, status)
    assert ("being rendered now" if status == "processing" else "change the scene in the screenplay") in str(
        info.value
    )
    assert stored_segment(studio, segment_id).motion_prompt == before
    assert brain.conversations.find_or_raise(proposal.conversation_id or 0).messages[1].status == "proposed"


def test_a_suggestion_that_drops_a_character_is_not_applied(
    studio: Studio, brain: EchoBrain, fake_server: FakeOpenAI, segment_id: int
) -> None:
    without_kai = {**SUGGESTION, "prompt": "rooftop garden at dusk, Luna in her teal rain jacket"}
    fake_server.reply(json.dumps(without_kai))
    proposal = brain.suggest_prompt(segment=segment_id)
    assert proposal.issues == ("the prompt leaves out Kai, who is on screen in scene 1",)
    with pytest.raises(ValueError, match="leaves out Kai"):
        brain.accept_prompt(proposal)
    assert "Kai" in stored_segment(studio, segment_id).motion_prompt


def test_malformed_twice_stores_nothing(
    studio: Studio, brain: EchoBrain, fake_server: FakeOpenAI, segment_id: int
) -> None:
    fake_server.reply("Make it more cinematic!", '{"prompt": "x"}')
    with pytest.raises(MalformedOutputError, match="did not return a valid PromptSuggestion"):
        brain.suggest_prompt(segment=segment_id)
    assert brain.conversations.where_project() == []


def test_segments_are_found_by_scene_and_number(studio: Studio, segment_id: int) -> None:
    assert find_segment_id(studio.database, scene=1) == segment_id
    with pytest.raises(NotFoundError, match="scene 1 has no segment 7; it has segments 0 to 1"):
        find_segment_id(studio.database, scene=1, number=7)
    with pytest.raises(NotFoundError, match="no scene number 9"):
        find_segment_id(studio.database, scene=9)


def test_cli_prompt_shows_then_applies(
    studio: Studio, fake_server: FakeOpenAI, cli_env: dict[str, str], segment_id: int
) -> None:
    fake_server.reply(json.dumps(SUGGESTION), json.dumps(SUGGESTION))
    shown = run_cli(["prompt", "--scene", "1"], cli_env)
    assert shown.exit_code == 0, shown.output
    assert f"segment 0 of scene 1 (id {segment_id}, pending)" in shown.stdout
    assert f"+{LEARNED}" in shown.stdout
    assert "reason: named the hand-over" in shown.stdout
    assert "not applied: re-run with --apply" in shown.stdout

    applied = run_cli(["prompt", "--segment", str(segment_id), "--apply", "--json"], cli_env)
    assert applied.exit_code == 0, applied.output
    document = json.loads(applied.stdout)
    assert document["applied"] is True and document["segment_id"] == segment_id
    assert stored_segment(studio, segment_id).motion_prompt == SUGGESTION["prompt"]


def test_cli_prompt_refuses_a_completed_segment(
    studio: Studio, fake_server: FakeOpenAI, cli_env: dict[str, str], segment_id: int
) -> None:
    with studio.database.session() as session:
        row = session.get(SegmentModel, segment_id)
        assert row is not None
        row.status = "completed"
    fake_server.reply(json.dumps(SUGGESTION))
    result = run_cli(["prompt", "--segment", str(segment_id), "--apply"], cli_env)
    assert result.exit_code == 2
    assert "already rendered (status completed)" in result.stderr
    assert stored_segment(studio, segment_id).motion_prompt != SUGGESTION["prompt"]


def test_cli_prompt_needs_one_way_to_name_the_segment(cli_env: dict[str, str]) -> None:
    result = run_cli(["prompt"], cli_env)
    assert result.exit_code == 2
    assert "--segment ID, or with --scene N" in result.output
