"""The storyboard's scene form: every field a screenplay scene holds, its cast and its lines.

Fields sit in a grid that wraps (``auto-fit`` columns of at least 290 px), so no field is
ever covered or squeezed, from 1024 px wide up. A validation error is shown under the
field it names (``duration``, ``camera.angle``, ``dialogue[1].speaker``...); an error that
names no field of the form goes to the panel's status line.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from studio import ScreenplayError
from studio.project import CharacterInScene, SceneSpec

__all__ = ["CastForm", "FieldErrors", "SceneForm", "parse_dialogue"]

CAMERA_MOVEMENTS = ("static", "pan", "tilt", "zoom", "dolly")
TRANSITIONS = ("cut", "fade", "dissolve", "wipe")
PACINGS = ("slow", "medium", "fast", "frantic")
FACINGS = ("camera", "left", "right", "away")
LABEL_WIDTH = "104px"  # wide enough for "Camera angle" and "Time of day"
_DIALOGUE_LINE = re.compile(r"^\s*([^:]+?)\s*:\s*(.*)$")


def field_layout() -> w.Layout:
    return w.Layout(width="100%", min_width="0")


def grid(children: list[w.Widget], *, column: str = "290px") -> w.GridBox:
    """Cells of at least ``column`` wide, as many per row as fit (they wrap, never overlap)."""
    return w.GridBox(
        children,
        layout=w.Layout(
            grid_template_columns=f"repeat(auto-fit, minmax({column}, 1fr))",
            grid_gap="4px 12px",
            width="100%",
        ),
    )


class FieldErrors:
    """One small red line under each field, keyed by the field's screenplay name."""

    def __init__(self) -> None:
        self._lines: dict[str, w.HTML] = {}

    def cell(self, key: str, field: w.Widget, css: str | None = None) -> w.VBox:
        """``field`` with its error line under it (``css`` classes the cell for tests)."""
        field.layout = field_layout()
        if hasattr(field, "style") and hasattr(field.style, "description_width"):
            field.style.description_width = LABEL_WIDTH
        line = w.HTML(layout=w.Layout(display="none"))
        line.add_class("studio-field-error")
        self._lines[key] = line
        box = w.VBox([field, line], layout=w.Layout(width="100%", min_width="0"))
        if css:
            box.add_class(css)
        return box

    def clear(self) -> None:
        for line in self._lines.values():
            line.value = ""
            line.layout.display = "none"

    def show(self, error: ScreenplayError) -> list[str]:
        """Put each issue under its field; returns the messages no field took."""
        self.clear()
        unplaced: list[str] = []
        shown: dict[str, list[str]] = {}
        for issue in error.issues:
            key, text = self._key_for(issue.location), issue.message
            if key is None:
                unplaced.append(f"{issue.location}: {text}" if issue.location else text)
                continue
            index = re.match(r"^\w+\[(\d+)\]", issue.location)
            if key in ("dialogue", "actions") and index:
                text = f"line {int(index.group(1)) + 1}: {text}"
            shown.setdefault(key, []).append(text)
        for key, texts in shown.items():
            line = self._lines[key]
            text = html.escape("; ".join(texts), quote=False)
            line.value = f'<span style="color:#b00020;font-size:0.85em">{text}</span>'
            line.layout.display = None
        return unplaced

    def _key_for(self, location: str) -> str | None:
        for key in (location, location.split("[")[0], location.split(".")[0].split("[")[0]):
            if key in self._lines:
                return key
        return None


def parse_dialogue(text: str) -> list[dict[str, str]]:
    """``Luna: Then we run.`` lines to screenplay dialogue.

    Raises:
        ScreenplayError: a line has no ``Name:`` (located ``dialogue[i]``).
    """
    from studio import ScreenplayIssue

    lines, issues = [], []
    for i, raw in enumerate(line for line in text.splitlines() if line.strip()):
        match = _DIALOGUE_LINE.match(raw)
        if match is None:
            issues.append(
                ScreenplayIssue("dialogue", None, f"dialogue[{i}]", "write it as Name: what they say")
            )
            continue
        lines.append({"speaker": match.group(1), "line": match.group(2)})
    if issues:
        raise ScreenplayError(issues)
    return lines


class SceneForm:
    """The scene's own fields, its actions and its dialogue."""

    def __init__(self, on_save: Callable[[], None]) -> None:
        self.errors = FieldErrors()
        cell = self.errors.cell
        self.title = w.Text(description="Title")
        self.description = w.Textarea(description="Description", rows=2)
        self.location = w.Text(description="Location")
        self.time_of_day = w.Text(description="Time of day")
        self.weather = w.Text(description="Weather")
        self.mood = w.Text(description="Mood")
        self.duration = w.FloatText(description="Duration (s)", step=0.5)
        self.camera_angle = w.Text(description="Camera angle", placeholder="medium, close-up, wide…")
        self.camera_movement = w.Dropdown(description="Movement", options=CAMERA_MOVEMENTS)
        self.lighting = w.Text(description="Lighting")
        self.style = w.Text(description="Style", placeholder="comma separated")
        self.transition = w.Dropdown(description="Transition", options=TRANSITIONS)
        self.tension = w.FloatSlider(description="Tension", min=0.0, max=1.0, step=0.05)
        self.pacing = w.Dropdown(description="Pacing", options=PACINGS)
        self.story_beat = w.Text(description="Story beat")
        self.actions = w.Textarea(description="Actions", placeholder="one per segment, one per line", rows=3)
        self.dialogue = w.Textarea(description="Dialogue", placeholder="Luna: Then we run.", rows=3)
        self.save = w.Button(description="Save scene", icon="check", button_style="primary")
        self.save.add_class("studio-scene-save")
        self.save.on_click(lambda _: on_save())
        self.widget = w.VBox(
            [
                grid(
                    [
                        cell("title", self.title, "studio-scene-title"),
                        cell("location", self.location),
                        cell("time_of_day", self.time_of_day),
                        cell("weather", self.weather),
                        cell("mood", self.mood),
                        cell("duration", self.duration, "studio-scene-duration"),
                        cell("transition", self.transition, "studio-scene-transition"),
                        cell("camera.angle", self.camera_angle),
                        cell("camera.movement", self.camera_movement),
                        cell("lighting", self.lighting),
                        cell("pacing", self.pacing),
                        cell("tension", self.tension),
                        cell("story_beat", self.story_beat),
                        cell("style", self.style),
                    ]
                ),
                cell("description", self.description),
                cell("actions", self.actions, "studio-scene-actions"),
                cell("dialogue", self.dialogue, "studio-scene-dialogue"),
                self.save,
            ],
            layout=w.Layout(width="100%", min_width="0"),
        )

    def fill(self, spec: SceneSpec) -> None:
        self.errors.clear()
        self.title.value = spec.title
        self.description.value = spec.description
        self.location.value = spec.location
        self.time_of_day.value = spec.time_of_day
        self.weather.value = spec.weather
        self.mood.value = spec.mood
        self.duration.value = spec.duration
        self.camera_angle.value = spec.camera.angle
        self.camera_movement.value = spec.camera.movement
        self.lighting.value = spec.lighting
        self.style.value = ", ".join(spec.style)
        self.actions.value = "\n".join(spec.actions)
        self.dialogue.value = "\n".join(f"{d.speaker}: {d.line}" for d in spec.dialogue)
        self.transition.value = spec.transition
        self.tension.value = spec.tension
        self.pacing.value = spec.pacing
        self.story_beat.value = spec.story_beat

    def changes(self) -> dict[str, Any]:
        """The form as screenplay fields (raises ScreenplayError for unreadable dialogue)."""
        return {
            "title": self.title.value,
            "description": self.description.value,
            "location": self.location.value,
            "time_of_day": self.time_of_day.value,
            "weather": self.weather.value,
            "mood": self.mood.value,
            "duration": self.duration.value,
            "camera": {"angle": self.camera_angle.value or "medium", "movement": self.camera_movement.value},
            "lighting": self.lighting.value,
            "style": [s.strip() for s in self.style.value.split(",") if s.strip()],
            "actions": [a.strip() for a in self.actions.value.splitlines() if a.strip()],
            "dialogue": parse_dialogue(self.dialogue.value),
            "transition": self.transition.value,
            "tension": round(float(self.tension.value), 3),
            "pacing": self.pacing.value,
            "story_beat": self.story_beat.value,
        }


class CastForm:
    """Who is in the scene, and what the scene says about each of them."""

    def __init__(
        self,
        *,
        on_add: Callable[[], None],
        on_save: Callable[[], None],
        on_remove: Callable[[], None],
        on_pick: Callable[[], None],
    ) -> None:
        self.errors = FieldErrors()
        self._cast: dict[str, CharacterInScene] = {}
        cell = self.errors.cell
        self.members = w.Select(description="In scene", options=[], rows=4)
        self.candidates = w.Dropdown(description="Character", options=[])
        auto = w.Layout(width="auto")  # the default 148 px cuts "Remove from scene"
        self.add = w.Button(description="Add to scene", icon="user-plus", layout=auto)
        self.add.add_class("studio-cast-add")
        self.remove = w.Button(
            description="Remove from scene", icon="user-times", layout=w.Layout(width="auto")
        )
        self.remove.add_class("studio-cast-remove")
        self.outfit = w.Text(description="Outfit", placeholder="as on the character sheet")
        self.hair = w.Text(description="Hair")
        self.accessories = w.Text(description="Accessories", placeholder="comma separated")
        self.expression = w.Text(description="Expression")
        self.pose = w.Text(description="Pose")
        self.position = w.Text(description="Position")
        self.facing = w.Dropdown(description="Facing", options=FACINGS)
        self.action = w.Text(description="Action")
        self.exits = w.Checkbox(description="Leaves during the scene", indent=False)
        self.save = w.Button(
            description="Save character in scene", icon="check", layout=w.Layout(width="auto")
        )
        self.save.add_class("studio-cast-save")
        self.add.on_click(lambda _: on_add())
        self.save.on_click(lambda _: on_save())
        self.remove.on_click(lambda _: on_remove())
        self.members.observe(lambda _: on_pick(), names="value")
        self.widget = w.VBox(
            [
                w.HTML("<b>Characters in this scene</b>"),
                grid(
                    [
                        cell("members", self.members, "studio-cast-members"),
                        w.VBox(
                            [
                                cell("name", self.candidates, "studio-cast-candidates"),
                                w.HBox([self.add, self.remove]),
                            ]
                        ),
                    ]
                ),
                grid(
                    [
                        cell("outfit", self.outfit),
                        cell("hair", self.hair),
                        cell("accessories", self.accessories),
                        cell("expression", self.expression, "studio-cast-expression"),
                        cell("pose", self.pose),
                        cell("position", self.position),
                        cell("facing", self.facing),
                        cell("action", self.action),
                        cell("exits", self.exits),
                    ]
                ),
                self.save,
            ],
            layout=w.Layout(width="100%", min_width="0"),
        )

    def fill(self, cast: list[CharacterInScene], everyone: list[str], keep: str | None = None) -> None:
        self.errors.clear()
        self._cast = {c.name: c for c in cast}
        names = list(self._cast)
        self.members.options = names
        self.candidates.options = [n for n in everyone if n not in self._cast]
        self.add.disabled = not self.candidates.options
        if names:
            self.members.value = keep if keep in names else names[0]
        self.pick()

    def pick(self) -> None:
        present = self._cast.get(self.members.value) if self.members.value else None
        for field in (self.outfit, self.hair, self.accessories, self.expression, self.pose, self.position):
            field.disabled = present is None
        self.facing.disabled = self.action.disabled = self.exits.disabled = present is None
        self.save.disabled = self.remove.disabled = present is None
        spec = present or CharacterInScene(name="-")
        self.outfit.value, self.hair.value = spec.outfit, spec.hair
        self.accessories.value = ", ".join(spec.accessories)
        self.expression.value, self.pose.value, self.position.value = (
            spec.expression,
            spec.pose,
            spec.position,
        )
        self.facing.value, self.action.value, self.exits.value = spec.facing, spec.action, spec.exits

    def details(self) -> dict[str, Any]:
        return {
            "outfit": self.outfit.value,
            "hair": self.hair.value,
            "accessories": [a.strip() for a in self.accessories.value.split(",") if a.strip()],
            "expression": self.expression.value,
            "pose": self.pose.value,
            "position": self.position.value or "center",
            "facing": self.facing.value,
            "action": self.action.value,
            "exits": bool(self.exits.value),
        }
