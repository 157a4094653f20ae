"""StoryboardPanel: episodes, then scenes, then segments; scene editing; frames and playback.

Loading is lazy: opening the panel reads the episode list (three queries whatever the
project size); scenes are read when an episode is chosen, segments when a scene is.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import ipywidgets as w

from studio import Studio
from studio.project import (
    SceneDetail,
    SceneSpec,
    SegmentRow,
    list_episodes,
    list_scenes,
    list_segments,
    scene_detail,
    update_scene,
)
from widgets._feedback import Feedback, MediaCache, Panel, badge, read_bytes

__all__ = ["StoryboardPanel"]

MAX_VIDEO_BYTES = 200 * 1024 * 1024  # larger files are named, not sent through the websocket
CAMERA_MOVEMENTS = ("static", "pan", "tilt", "zoom", "dolly")
TRANSITIONS = ("cut", "fade", "dissolve", "wipe")
PACINGS = ("slow", "medium", "fast", "frantic")


def _counts(done: int, planned: int) -> str:
    return f"{done}/{planned} segments" if planned else "not planned"


def _episode_label(number: int, title: str, status: str, done: int, planned: int) -> str:
    return f"{number}. {title or 'untitled'} · {status} · {_counts(done, planned)}"


class StoryboardPanel(Panel):
    """Browse and edit one project's episodes and scenes; inspect and play segments.

    Args:
        studio: The open studio.
        project: Project title; ``None`` for the only project.
    """

    def __init__(self, studio: Studio, *, project: str | None = None) -> None:
        self.studio = studio
        self.project = project
        self.feedback = Feedback()
        self._media = MediaCache()
        self._detail: SceneDetail | None = None
        self._segments: list[SegmentRow] = []
        self._videos: dict[str, Path | None] = {}
        guard = self.feedback.guard

        self.episodes = w.Select(options=[], rows=8, description="Episode", layout=w.Layout(width="32%"))
        self.scenes = w.Select(options=[], rows=8, description="Scene", layout=w.Layout(width="34%"))
        self.segments = w.Select(options=[], rows=8, description="Segment", layout=w.Layout(width="32%"))
        self.episodes.add_class("studio-episodes")
        self.scenes.add_class("studio-scenes")
        self.segments.add_class("studio-segments")
        self.episodes.observe(guard("Opening the episode")(self._on_episode), names="value")
        self.scenes.observe(guard("Opening the scene")(self._on_scene), names="value")
        self.segments.observe(guard("Opening the segment")(self._on_segment), names="value")

        # Scene form: the screenplay's scene fields.
        self.scene_status = w.HTML()
        self.scene_title = w.Text(description="Title")
        self.scene_description = w.Textarea(description="Description", rows=2)
        self.location = w.Text(description="Location")
        self.time_of_day = w.Text(description="Time of day")
        self.weather = w.Text(description="Weather")
        self.mood = w.Text(description="Mood")
        self.duration = w.FloatText(description="Duration (s)", step=0.5)
        self.duration.add_class("studio-scene-duration")
        self.camera_angle = w.Text(description="Camera angle")
        self.camera_movement = w.Dropdown(description="Movement", options=CAMERA_MOVEMENTS)
        self.lighting = w.Text(description="Lighting")
        self.style = w.Text(description="Style", placeholder="comma separated")
        self.actions = w.Textarea(description="Actions", placeholder="one per segment, one per line", rows=3)
        self.transition = w.Dropdown(description="Transition", options=TRANSITIONS)
        self.tension = w.FloatSlider(description="Tension", min=0.0, max=1.0, step=0.05)
        self.pacing = w.Dropdown(description="Pacing", options=PACINGS)
        self.story_beat = w.Text(description="Story beat")
        self.cast = w.HTML()
        self.save_button = w.Button(description="Save scene", icon="check", button_style="primary")
        self.save_button.add_class("studio-scene-save")
        self.save_button.on_click(guard("Saving the scene")(lambda _: self.save_scene()))
        self.entry_frame = w.Image(format="png", width=192)
        self.exit_frame = w.Image(format="png", width=192)

        # Segment view.
        self.segment_info = w.HTML()
        self.segment_info.add_class("studio-segment-info")
        self.first_frame = w.Image(format="png", width=192)
        self.last_frame = w.Image(format="png", width=192)

        # Player shared by segment, scene and episode.
        self.play_segment = w.Button(description="Play segment", icon="play")
        self.play_scene = w.Button(description="Play scene", icon="play")
        self.play_episode = w.Button(description="Play episode", icon="play")
        self.play_segment.on_click(guard("Playing the segment")(lambda _: self.play("segment")))
        self.play_scene.on_click(guard("Playing the scene")(lambda _: self.play("scene")))
        self.play_episode.on_click(guard("Playing the episode")(lambda _: self.play("episode")))
        self.player = w.Video(format="mp4", autoplay=False, controls=True, loop=False, width=512)
        self.player.add_class("studio-player")
        self.player_label = w.HTML()
        self.refresh_button = w.Button(description="Refresh", icon="refresh")
        self.refresh_button.on_click(guard("Refreshing")(lambda _: self.refresh()))

        scene_form = w.VBox(
            [
                self.scene_status,
                self.scene_title,
                self.scene_description,
                w.HBox([self.location, self.time_of_day]),
                w.HBox([self.weather, self.mood]),
                w.HBox([self.duration, self.transition]),
                w.HBox([self.camera_angle, self.camera_movement]),
                w.HBox([self.lighting, self.pacing]),
                self.style,
                self.actions,
                w.HBox([self.tension, self.story_beat]),
                self.cast,
                self.save_button,
            ]
        )
        frames = w.VBox(
            [
                w.HTML("<b>Scene entry and exit</b>"),
                w.HBox([self.entry_frame, self.exit_frame]),
                w.HTML("<b>Segment first and last frame</b>"),
                w.HBox([self.first_frame, self.last_frame]),
                self.segment_info,
            ]
        )
        player = w.VBox(
            [w.HBox([self.play_segment, self.play_scene, self.play_episode]), self.player_label, self.player]
        )
        self.widget = w.VBox(
            [
                w.HBox([self.episodes, self.scenes, self.segments]),
                w.HBox([self.refresh_button]),
                w.HBox([scene_form, frames]),
                player,
                self.feedback.widget,
            ]
        )
        self.widget.add_class("studio-storyboard-panel")
        self.refresh()

    # ------------------------------------------------------------------ public

    def refresh(self) -> None:
        """Reload the episode list and whatever is selected."""
        chosen_episode, chosen_scene = self.episodes.value, self.scenes.value
        rows = list_episodes(self.studio, project=self.project)
        self._videos = {f"episode-{r.number}": r.video for r in rows}
        options = [
            (_episode_label(r.number, r.title, r.status, r.segments_done, r.segments_planned), r.number)
            for r in rows
        ]
        numbers = [n for _, n in options]
        self.episodes.options = options
        if not numbers:
            self.feedback.info("This project has no episodes yet.")
            return
        self.episodes.value = chosen_episode if chosen_episode in numbers else numbers[0]
        if self.episodes.value == chosen_episode:
            self._load_scenes(chosen_episode, keep=chosen_scene)

    def select(self, *, episode: int, scene: int | None = None, segment: int | None = None) -> None:
        """Show an episode (and optionally a scene and a segment)."""
        self.episodes.value = episode
        if scene is not None:
            self.scenes.value = scene
        if segment is not None:
            self.segments.value = segment

    def save_scene(self) -> None:
        """Validate and store the scene form (the scene turns stale if it was rendered)."""
        if self._detail is None:
            self.feedback.warning("Choose a scene first.")
            return
        number = self._detail.row.number
        summary = update_scene(self.studio, number, self.scene_changes(), project=self.project)
        if not summary.changed:
            self.feedback.info(f"Scene {number}: nothing changed.")
            return
        self._load_scenes(self._detail.episode, keep=number)
        note = " It will be re-rendered on the next render." if number in summary.stale_scenes else ""
        self.feedback.success(f"Saved scene {number}.{note}")

    def scene_changes(self) -> dict[str, Any]:
        """The scene form as screenplay fields."""
        return {
            "title": self.scene_title.value,
            "description": self.scene_description.value,
            "location": self.location.value,
            "time_of_day": self.time_of_day.value,
            "weather": self.weather.value,
            "mood": self.mood.value,
            "duration": self.duration.value,
            "camera": {"angle": self.camera_angle.value or "medium", "movement": self.camera_movement.value},
            "lighting": self.lighting.value,
            "style": [s.strip() for s in self.style.value.split(",") if s.strip()],
            "actions": [a.strip() for a in self.actions.value.splitlines() if a.strip()],
            "transition": self.transition.value,
            "tension": round(float(self.tension.value), 3),
            "pacing": self.pacing.value,
            "story_beat": self.story_beat.value,
        }

    def play(self, what: str) -> None:
        """Load the segment's, scene's or episode's video into the player."""
        key = {
            "segment": f"segment-{self.segments.value}",
            "scene": f"scene-{self.scenes.value}",
            "episode": f"episode-{self.episodes.value}",
        }[what]
        path = self._videos.get(key)
        if path is None:
            self.feedback.warning(f"This {what} has no video yet; render the episode first.")
            return
        data = read_bytes(path, limit=MAX_VIDEO_BYTES)
        if data is None:
            self.feedback.warning(f"The {what} video cannot be shown here: {path} (missing or too large).")
            return
        self.player.value = data
        self.player_label.value = f"Playing {what}: <code>{html.escape(path.name)}</code>"
        self.feedback.info(f"Loaded the {what} video ({len(data) / 1e6:.1f} MB).")

    # ---------------------------------------------------------------- handlers

    def _on_episode(self, change: dict[str, Any]) -> None:
        if change["new"] is not None:
            self._load_scenes(change["new"], keep=None)

    def _load_scenes(self, episode: int, *, keep: int | None) -> None:
        rows = list_scenes(self.studio, episode, project=self.project)
        for r in rows:
            self._videos[f"scene-{r.number}"] = r.video
        options = [
            (f"{r.number}. {r.title or 'untitled'} · {r.status} · {r.duration:g}s", r.number) for r in rows
        ]
        numbers = [n for _, n in options]
        self.scenes.options = options
        if not numbers:
            self._detail = None
            return
        target = keep if keep in numbers else numbers[0]
        if self.scenes.value != target:
            self.scenes.value = target
        else:
            self._load_scene(target)

    def _on_scene(self, change: dict[str, Any]) -> None:
        if change["new"] is not None:
            self._load_scene(change["new"])

    def _load_scene(self, number: int) -> None:
        detail = scene_detail(self.studio, number, project=self.project)
        self._detail = detail
        self._fill_scene(detail.spec)
        row = detail.row
        counts = _counts(row.segments_done, row.segments_planned)
        self.scene_status.value = f"<b>Scene {row.number}</b> {badge(row.status)} {counts}"
        self.cast.value = "Characters: " + html.escape(", ".join(row.characters) or "none")
        self._image(self.entry_frame, detail.entry_frame)
        self._image(self.exit_frame, detail.exit_frame)
        self._segments = list_segments(self.studio, number, project=self.project)
        for s in self._segments:
            self._videos[f"segment-{s.number}"] = s.video
        self.segments.options = [(f"{s.number} · {s.status}", s.number) for s in self._segments]
        if self._segments:
            first = self._segments[0].number
            if self.segments.value != first:
                self.segments.value = first  # the observer shows it
            else:
                self._load_segment(first)
        else:
            self.segment_info.value = "<i>No segments yet: they are planned when the episode renders.</i>"
            self._image(self.first_frame, None)
            self._image(self.last_frame, None)

    def _fill_scene(self, spec: SceneSpec) -> None:
        self.scene_title.value = spec.title
        self.scene_description.value = spec.description
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
        self.transition.value = spec.transition
        self.tension.value = spec.tension
        self.pacing.value = spec.pacing
        self.story_beat.value = spec.story_beat

    def _on_segment(self, change: dict[str, Any]) -> None:
        if change["new"] is not None:
            self._load_segment(change["new"])

    def _load_segment(self, number: int) -> None:
        segment = next((s for s in self._segments if s.number == number), None)
        if segment is None:
            return
        scores = ", ".join(
            f"{k.replace('_', ' ')} {v:.2f}" for k, v in segment.scores.items() if v is not None
        )
        review = segment.review or {}
        parts = [
            f"<b>Segment {segment.scene}.{segment.number}</b> {badge(segment.status)}"
            f" attempts: {segment.attempts}",
            "<b>Prompt</b>",
            f'<pre class="studio-prompt" style="white-space:pre-wrap">{html.escape(segment.prompt)}</pre>',
        ]
        if segment.negative_prompt:
            parts.append(f"<b>Negative</b> {html.escape(segment.negative_prompt)}")
        if scores:
            parts.append(f"<b>Scores</b> {html.escape(scores)}")
        if segment.decision:
            action = html.escape(str(segment.decision.get("action", "")))
            reasons = html.escape("; ".join(map(str, segment.decision.get("reasons") or [])))
            parts.append(f"<b>Check</b> {action}{': ' + reasons if reasons else ''}")
        if review:
            parts.append(
                f"<b>Review</b> {badge(str(review.get('verdict', '')))} {review.get('rating', '')}/5 "
                f"{html.escape(str(review.get('notes', '')))}"
            )
        if segment.error:
            parts.append(f'<span style="color:#b00020">{html.escape(segment.error)}</span>')
        self.segment_info.value = "<br>".join(parts)
        self._image(self.first_frame, segment.first_frame)
        self._image(self.last_frame, segment.last_frame)

    def _image(self, widget: w.Image, path: Path | None) -> None:
        data = self._media.get(path) if path is not None else None
        widget.value = data or b""
        widget.layout.display = None if data else "none"
