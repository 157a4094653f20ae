"""Echo Brain on a real studio (SQLite and PostgreSQL): proposals are diffs; only accepted
ones are written; every failure leaves the database as it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from studio import ScreenplayError, load_settings
from studio._config import Settings
from studio._studio import Studio
from studio.assistant import (
    AssistantOfflineError,
    AssistantTimeoutError,
    ContextTooLargeError,
    EchoBrain,
    MalformedOutputError,
    ModelNotFoundError,
    StaleProposalError,
)
from studio.assistant._client import DEFAULT_MAX_RETRIES
from tests.assistant.conftest import TEST_TIMEOUTS, llm_settings, run_cli
from tests.assistant.fake_openai import FakeOpenAI
from tests.assistant.test_errors import SHORT

BREAKDOWN = {
    "episode_title": "Low Tide",
    "scenes": [
        {
            "title": "Morning after",
            "description": "Luna and Kai wake on a stranded ferry as the water recedes.",
            "location": "stranded ferry",
            "time_of_day": "dawn",
            "mood": "quiet",
            "characters": ["Luna", "Kai"],
            "dialogue": [{"speaker": "Kai", "line": "We made it. Mostly."}],
            "duration": 8,
            "camera_angle": "wide",
            "camera_movement": "pan",
            "lighting": "pale dawn",
        },
        {
            "title": "The reply",
            "description": "Luna opens the answer to the letter.",
            "characters": ["Luna"],
            "duration": 5,
        },
    ],
}
EXPANSION = {
    "characters": [
        {"name": "Luna", "action": "clutches the letter", "expression": "anxious",
         "pose": "crouching", "position": "left", "facing": "right"},
    ],
    "camera_angle": "low angle",
    "camera_movement": "dolly",
    "lighting": "harsh backlight",
}
SHEET = {
    "name": "Mira",
    "description": "A harbour pilot who knows every current.",
    "prompt_tokens": ["short black hair", "navy pilot coat", "scar on chin"],
    "palette": ["#1D3557", "#E63946", "#F1FAEE"],
    "outfit": "navy pilot coat",
    "personality": "dry humour",
}


def test_breakdown_applied_then_exported_and_reimported(
    studio: Studio, brain: EchoBrain, fake_server: FakeOpenAI, tmp_path: Path
) -> None:
    fake_server.reply(json.dumps(BREAKDOWN))
    before = studio.export_text()
    proposal = brain.breakdown(episode=2, synopsis="The morning after the flood.")
    assert fake_server.chat_requests()[0]["model"] == "fake-large"  # routed to the story tier
    assert proposal.valid and proposal.changed
    assert "+  title: Low Tide" in proposal.diff
    assert "+  - number: 4" in proposal.diff  # numbering continues after episode 1
    assert studio.export_text() == before  # a proposal writes nothing

    summary = brain.accept(proposal)
    assert summary.created == {"characters": 0, "episodes": 1, "scenes": 2}
    exported = studio.export()
    episode = next(e for e in exported.episodes if e.number == 2)
    assert [s.title for s in episode.scenes] == ["Morning after", "The reply"]
    assert episode.scenes[0].camera.movement == "pan"
    assert episode.scenes[0].dialogue[0].line == "We made it. Mostly."

    path = tmp_path / "exported.yaml"
    path.write_text(studio.export_text(), encoding="utf-8")
    again = studio.import_file(path)
    assert not again.changed  # the round trip is exact
    assert studio.export_text() == path.read_text(encoding="utf-8")


def test_malformed_then_repaired_proposal(brain: EchoBrain, fake_server: FakeOpenAI) -> None:
    fake_server.reply('{"scenes": [{"title": "Morning', json.dumps(BREAKDOWN))
    proposal = brain.breakdown(episode=2, synopsis="The morning after.")
    assert proposal.valid
    assert len(fake_server.chat_requests()) == 2


def test_malformed_twice_changes_nothing(
    studio: Studio, brain: EchoBrain, fake_server: FakeOpenAI
) -> None:
    before = studio.export_text()
    fake_server.reply("Scene one: the ferry. Scene two: the letter.", '{"scenes": "ferry"}')
    with pytest.raises(MalformedOutputError, match="did not return a valid SceneBreakdown"):
        brain.breakdown(episode=2, synopsis="The morning after.")
    assert studio.export_text() == before
    assert not (studio.home / "assistant").exists()


def test_an_invalid_scene_is_rejected_with_the_validator_message(
    studio: Studio, brain: EchoBrain, fake_server: FakeOpenAI
) -> None:
    invalid = json.loads(json.dumps(BREAKDOWN))
    invalid["scenes"][1]["characters"] = ["Lunna"]
    fake_server.reply(json.dumps(invalid))
    before = studio.export_text()
    proposal = brain.breakdown(episode=2, synopsis="The morning after.")
    assert not proposal.valid
    assert any("unknown character 'Lunna' (did you mean 'Luna'?)" in i for i in proposal.issues)
    message = r"unknown character 'Lunna' \(did you mean 'Luna'\?\)"
    with pytest.raises(ScreenplayError, match=message):
        brain.accept(proposal)
    assert studio.export_text() == before


def test_expand_updates_one_scene(
    studio: Studio, brain: EchoBrain, fake_server: FakeOpenAI
) -> None:
    fake_server.reply(json.dumps(EXPANSION))
    proposal = brain.expand(scene=1)
    assert "expression: anxious" in proposal.diff
    assert "-    - name: Kai" not in proposal.diff  # Kai keeps his direction
    brain.accept(proposal)
    scene = next(s for _, s in studio.export().scenes() if s.number == 1)
    luna = next(c for c in scene.characters if c.name == "Luna")
    assert (luna.expression, luna.pose) == ("anxious", "crouching")
    assert luna.action == "clutches the letter"
    assert scene.camera.angle == "low angle" and scene.camera.movement == "dolly"
    assert scene.lighting == "harsh backlight"
    assert next(c for c in scene.characters if c.name == "Kai").expression == "grinning"


def test_character_sheet(studio: Studio, brain: EchoBrain, fake_server: FakeOpenAI) -> None:
    fake_server.reply(json.dumps(SHEET))
    proposal = brain.character(name="Mira", brief="A harbour pilot.")
    assert proposal.title == "new character Mira"
    brain.accept(proposal)
    mira = studio.export().character("Mira")
    assert mira.prompt == "short black hair, navy pilot coat, scar on chin"
    assert mira.palette == ["#1d3557", "#e63946", "#f1faee"]
    assert mira.description.endswith("Personality: dry humour")


def test_a_stale_proposal_is_refused(
    studio: Studio, brain: EchoBrain, fake_server: FakeOpenAI
) -> None:
    fake_server.reply(json.dumps(EXPANSION), json.dumps(SHEET))
    older = brain.expand(scene=1)
    brain.accept(brain.character(name="Mira", brief="A harbour pilot."))
    with pytest.raises(StaleProposalError, match="ask the assistant again"):
        brain.accept(older)


def test_no_model_server_configured(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home", environ={})
    with Studio.open(settings=settings, upgrade=True) as studio:
        studio.import_demo()
        with pytest.raises(AssistantOfflineError, match="set STUDIO_LLM_URL"):
            EchoBrain.from_studio(studio)
        assert studio.status()  # the rest of the studio works


def test_server_down_changes_nothing(settings: Settings, dead_url: str) -> None:
    with Studio.open(settings=llm_settings(settings, dead_url), upgrade=True) as studio:
        studio.import_demo()
        before = studio.export_text()
        brain = EchoBrain.from_studio(studio, timeouts=TEST_TIMEOUTS)
        with brain, pytest.raises(AssistantOfflineError, match="is not reachable"):
            brain.breakdown(episode=2, synopsis="x")
        assert studio.export_text() == before


def test_a_timeout_changes_nothing(studio: Studio, fake_server: FakeOpenAI) -> None:
    before = studio.export_text()
    fake_server.stall(1 + DEFAULT_MAX_RETRIES)
    brain = EchoBrain.from_studio(studio, timeouts=SHORT)
    with brain, pytest.raises(AssistantTimeoutError, match="read timeout") as info:
        brain.breakdown(episode=2, synopsis="The morning after.")
    assert info.value.phase == "read"
    assert studio.export_text() == before


def test_a_wrong_model_name_lists_the_servers_models(
    settings: Settings, fake_server: FakeOpenAI
) -> None:
    routed = llm_settings(settings, fake_server.base_url, STUDIO_LLM_MODELS="story=qwen9:70b")
    with Studio.open(settings=routed, upgrade=True) as studio:
        studio.import_demo()
        before = studio.export_text()
        brain = EchoBrain.from_studio(studio, timeouts=TEST_TIMEOUTS)
        with brain, pytest.raises(ModelNotFoundError, match="has no model 'qwen9:70b'") as info:
            brain.breakdown(episode=2, synopsis="x")
        assert info.value.available == ("fake-embed", "fake-large", "fake-small")
        assert studio.export_text() == before


def test_an_oversized_synopsis_is_refused_before_sending(
    studio: Studio, fake_server: FakeOpenAI
) -> None:
    before = studio.export_text()
    brain = EchoBrain.from_studio(studio, timeouts=TEST_TIMEOUTS, context_tokens=2048)
    with brain, pytest.raises(ContextTooLargeError, match="shorten the text"):
        brain.breakdown(episode=2, synopsis="The flood rises. " * 2000)
    assert fake_server.chat_requests() == []
    assert studio.export_text() == before


# ----------------------------------------------------------------------------- CLI


def test_cli_breakdown_shows_the_diff_and_applies_only_when_asked(
    studio: Studio, fake_server: FakeOpenAI, cli_env: dict[str, str], tmp_path: Path
) -> None:
    fake_server.reply(json.dumps(BREAKDOWN), json.dumps(BREAKDOWN))
    saved = tmp_path / "proposal.yaml"
    shown = run_cli(
        ["breakdown", "--episode", "2", "--synopsis", "After the flood.", "--save", str(saved)],
        cli_env,
    )
    assert shown.exit_code == 0, shown.output
    assert "+  title: Low Tide" in shown.output
    assert "not applied: re-run with --apply" in shown.output
    assert len(studio.export().episodes) == 1
    assert "Low Tide" in saved.read_text(encoding="utf-8")

    applied = run_cli(
        ["breakdown", "--episode", "2", "--synopsis", "After the flood.", "--apply", "--json"],
        cli_env,
    )
    assert applied.exit_code == 0, applied.output
    document = json.loads(applied.stdout)
    assert document["applied"] is True
    assert document["summary"]["created"]["scenes"] == 2
    assert len(studio.export().episodes) == 2


def test_cli_invalid_proposal_exits_2_with_the_validator_message(
    studio: Studio, fake_server: FakeOpenAI, cli_env: dict[str, str]
) -> None:
    invalid = json.loads(json.dumps(BREAKDOWN))
    invalid["scenes"][0]["characters"] = ["Kay"]
    fake_server.reply(json.dumps(invalid))
    result = run_cli(["breakdown", "--episode", "2", "--synopsis", "x", "--apply"], cli_env)
    assert result.exit_code == 2
    assert "unknown character 'Kay' (did you mean 'Kai'?)" in result.stderr
    assert len(studio.export().episodes) == 1


def test_cli_offline(studio: Studio, cli_env: dict[str, str]) -> None:
    env = {**cli_env, "STUDIO_LLM_URL": ""}
    result = run_cli(["expand", "--scene", "1"], env)
    assert result.exit_code == 1
    assert "no model server configured: set STUDIO_LLM_URL" in result.stderr
