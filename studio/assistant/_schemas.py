"""What the assistant proposes, as pydantic models (their JSON schemas are sent to the
model server). Field names follow the screenplay and :class:`studio.backends.SceneContext`
so a proposal maps onto a scene without renaming.

These schemas check *shape* only (types, required fields, colour syntax). Whether a
proposal makes a valid scene is the screenplay validator's decision, when a proposal
is accepted: the assistant never writes anything by itself.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

__all__ = [
    "CharacterDirection",
    "CharacterSheet",
    "DialogueProposal",
    "PromptSuggestion",
    "SceneBreakdown",
    "SceneExpansion",
    "ScenePlan",
]

CameraMovement = Literal["static", "pan", "tilt", "zoom", "dolly"]
Facing = Literal["left", "right", "camera", "away"]
HexColour = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True)]
RequiredText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class _Proposal(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class DialogueProposal(_Proposal):
    """One line of dialogue."""

    speaker: RequiredText = Field(description="The character's name, as in the project.")
    line: RequiredText = Field(description="What they say.")


class ScenePlan(_Proposal):
    """One scene of a proposed episode breakdown."""

    title: RequiredText = Field(description="A short scene title.")
    description: RequiredText = Field(description="What happens, in two to four sentences.")
    location: Text = Field(default="", description="Where it takes place.")
    time_of_day: Text = Field(default="", description="e.g. dawn, noon, dusk, night.")
    weather: Text = Field(default="")
    mood: Text = Field(default="", description="The emotional tone, in a few words.")
    characters: list[RequiredText] = Field(
        default_factory=list, description="Names of the characters on screen."
    )
    dialogue: list[DialogueProposal] = Field(default_factory=list)
    duration: float = Field(default=10.0, description="Target length in seconds.")
    camera_angle: Text = Field(default="")
    camera_movement: CameraMovement = "static"
    lighting: Text = Field(default="")


class SceneBreakdown(_Proposal):
    """A synopsis turned into an ordered list of scenes."""

    episode_title: Text = Field(default="", description="A title for the episode.")
    scenes: list[ScenePlan] = Field(min_length=1, description="The scenes, in story order.")
    notes: Text = Field(default="", description="Anything the director should know.")


class CharacterDirection(_Proposal):
    """How one character acts in a scene."""

    name: RequiredText = Field(description="The character's name, as in the scene.")
    action: Text = Field(default="", description="What they do.")
    expression: Text = Field(default="", description="Facial expression.")
    pose: Text = Field(default="", description="Body pose.")
    position: Text = Field(default="center", description="left, center or right.")
    facing: Facing = "camera"


class SceneExpansion(_Proposal):
    """Direction for one existing scene: every character, the camera and the light."""

    characters: list[CharacterDirection] = Field(min_length=1)
    camera_angle: Text = Field(default="", description="e.g. low angle, close-up, wide.")
    camera_movement: CameraMovement = "static"
    lighting: Text = Field(default="", description="Key light, colour and contrast.")
    mood: Text = Field(default="")
    notes: Text = Field(default="")


class PromptSuggestion(_Proposal):
    """A better generation prompt for a segment, with the reasons for each change."""

    prompt: RequiredText = Field(description="The full positive prompt.")
    negative_prompt: Text = Field(default="", description="The full negative prompt.")
    reasons: list[RequiredText] = Field(
        min_length=1, description="Why each change was made, one reason per item."
    )
    used_elements: list[RequiredText] = Field(
        default_factory=list,
        description="Memory items and learned prompt elements the suggestion relies on.",
    )


class CharacterSheet(_Proposal):
    """A proposed character: what they look like and how to prompt for them."""

    name: RequiredText
    description: RequiredText = Field(description="Appearance and personality, briefly.")
    prompt_tokens: list[RequiredText] = Field(
        min_length=1, description="Prompt tokens that draw this character."
    )
    negative_tokens: list[RequiredText] = Field(default_factory=list)
    palette: list[HexColour] = Field(
        default_factory=list, description="Main colours as #rrggbb, most prominent first."
    )
    outfit: Text = Field(default="")
    hair: Text = Field(default="")
    accessories: list[RequiredText] = Field(default_factory=list)
    personality: Text = Field(default="", description="Folded into the description.")
