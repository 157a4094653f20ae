"""StoryboardPanel: episodes, then scenes, then segments; the whole outline can be edited.

Loading is lazy: opening the panel reads the episode list (three queries whatever the
project size); scenes are read when an episode is chosen, segments when a scene is.
Episodes and scenes are added, removed and moved here; the scene form
(:mod:`widgets._scene_form`) edits every scene field, its cast and its dialogue. Every
edit goes through the screenplay validation; errors appear under the field they name.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as w

from studio import ScreenplayError, Studio
from studio.jobs import JobInfo, JobStatus
from studio.project import (
    SceneDetail,
    SegmentRow,
    add_episode,
    add_scene,
    add_scene_character,
    delete_episode,
    delete_scene,
    list_characters,
    list_episodes,
    list_scenes,
    list_segments,
    move_episode,
    move_scene,
    remove_scene_character,
    scene_detail,
    update_episode,
    update_scene,
    update_scene_character,
)
from widgets._feedback import Feedback, MediaCache, Panel, badge, plural, read_bytes
from widgets._scene_form import CastForm, SceneForm, field_layout, grid
from widgets._takes import RetakeWatch, queue_retake

__all__ = ["StoryboardPanel"]

MAX_VIDEO_BYTES = 200 * 1024 * 1024  # larger files are named, not sent through the websocket


def _counts(done: int, planned: int) -> str:
    return f"{done}/{plural(planned, 'segment')}" if planned else "not planned"


def _episode_label(number: int, title: str, status: str, done: int, planned: int) -> str:
    return f"{number}. {title or 'untitled'} · {status} · {_counts(done, planned)}"


def _small(description: str, icon: str, css: str, tooltip: str) -> w.Button:
    button = w.Button(description=description, icon=icon, tooltip=tooltip, layout=w.Layout(width="auto"))
    button.add_class(css)
    return button


class StoryboardPanel(Panel):
    """Browse and edit one project's outline; inspect and play segments.

    Args:
        studio: The open studio.
        project: Project title; ``None`` for the only project.
    """

    def __init__(self, studio: Studio, *, project: str | None = None, watch: bool = True) -> None:
        self.studio = studio
        self.project = project
        self.feedback = Feedback()
        self._media = MediaCache()
        self._detail: SceneDetail | None = None
        self._segments: list[SegmentRow] = []
        self._videos: dict[str, Path | None] = {}
        self._confirm: str | None = None  # the delete awaiting its second click
        self._titles: dict[int, str] = {}
        guard = self.feedback.guard

        self.episodes = w.Select(options=[], rows=7, description="Episode", layout=field_layout())
        self.scenes = w.Select(options=[], rows=7, description="Scene", layout=field_layout())
        self.segments = w.Select(options=[], rows=7, description="Segment", layout=field_layout())
        self.episodes.add_class("studio-episodes")
        self.scenes.add_class("studio-scenes")
        self.segments.add_class("studio-segments")
        self.episodes.observe(guard("Opening the episode")(self._on_episode), names="value")
        self.scenes.observe(guard("Opening the scene")(self._on_scene), names="value")
        self.segments.observe(guard("Opening the segment")(self._on_segment), names="value")

        # Outline buttons.
        self.new_episode = _small("New episode", "plus", "studio-new-episode", "add an episode at the end")
        self.episode_up = _small("Up", "arrow-up", "studio-episode-up", "move the episode earlier")
        self.episode_down = _small("Down", "arrow-down", "studio-episode-down", "move the episode later")
        self.delete_episode = _small("Delete", "trash", "studio-delete-episode", "delete the episode")
        self.episode_title = w.Text(description="Title", layout=field_layout())
        self.episode_title.add_class("studio-episode-title")
        self.save_episode = _small("Save title", "check", "studio-save-episode", "save the episode title")
        self.save_episode.layout.flex = "0 0 auto"  # the title field takes the rest, never its label
        self.new_scene = _small("New scene", "plus", "studio-new-scene", "add a scene at the end")
        self.scene_up = _small("Up", "arrow-up", "studio-scene-up", "move the scene earlier")
        self.scene_down = _small("Down", "arrow-down", "studio-scene-down", "move the scene later")
        self.delete_scene = _small("Delete", "trash", "studio-delete-scene", "delete the scene")
        actions: dict[w.Button, tuple[str, Callable[[], object]]] = {
            self.new_episode: ("Adding an episode", self.add_episode),
            self.episode_up: ("Moving the episode", lambda: self.move_episode(-1)),
            self.episode_down: ("Moving the episode", lambda: self.move_episode(1)),
            self.delete_episode: ("Deleting the episode", self.remove_episode),
            self.save_episode: ("Saving the episode", self.save_episode_title),
            self.new_scene: ("Adding a scene", self.add_scene),
            self.scene_up: ("Moving the scene", lambda: self.move_scene(-1)),
            self.scene_down: ("Moving the scene", lambda: self.move_scene(1)),
            self.delete_scene: ("Deleting the scene", self.remove_scene),
        }
        for button, (action, handler) in actions.items():
            button.on_click(guard(action)(lambda _, h=handler: h()))

        self.scene_status = w.HTML()
        self.form = SceneForm(guard("Saving the scene")(lambda: self.save_scene()))
        self.save_button = self.form.save
        self.cast = CastForm(
            on_add=guard("Adding the character")(lambda: self.add_to_scene()),
            on_save=guard("Saving the character")(lambda: self.save_cast_member()),
            on_remove=guard("Removing the character")(lambda: self.remove_from_scene()),
            on_pick=guard("Showing the character")(lambda: self._pick_cast_member()),
        )
        self.entry_frame = w.Image(format="png", layout=w.Layout(width="190px"))
        self.exit_frame = w.Image(format="png", layout=w.Layout(width="190px"))

        # Segment view.
        self.segment_info = w.HTML(layout=w.Layout(width="100%"))
        self.segment_info.add_class("studio-segment-info")
        self.first_frame = w.Image(format="png", layout=w.Layout(width="190px"))
        self.last_frame = w.Image(format="png", layout=w.Layout(width="190px"))

        # Player shared by segment, scene and episode.
        self.play_segment = w.Button(description="Play segment", icon="play")
        self.play_scene = w.Button(description="Play scene", icon="play")
        self.play_episode = w.Button(description="Play episode", icon="play")
        self.play_segment.add_class("studio-play-segment")
        self.play_episode.add_class("studio-storyboard-play-episode")
        self.play_segment.on_click(guard("Playing the segment")(lambda _: self.play("segment")))
        self.play_scene.on_click(guard("Playing the scene")(lambda _: self.play("scene")))
        self.play_episode.on_click(guard("Playing the episode")(lambda _: self.play("episode")))
        self.player = w.Video(format="mp4", autoplay=False, controls=True, loop=False, width=512)
        self.player.add_class("studio-player")
        self.player_label = w.HTML()
        self.refresh_button = w.Button(description="Refresh", icon="refresh")
        self.refresh_button.on_click(guard("Refreshing")(lambda _: self.refresh()))
        # Retakes run as queue jobs on a dashboard worker (widgets/_takes.py), not here.
        self.retakes = RetakeWatch(
            studio, guard("Showing the retake")(self._retake_finished), background=watch
        )
        self.retake_notes = w.Text(description="Retake", placeholder="what to change (optional)")
        self.retake_notes.add_class("studio-storyboard-retake-notes")
        self.retake_segment = w.Button(description="Retake segment", icon="redo")
        self.retake_scene = w.Button(description="Retake scene", icon="redo")
        self.retake_segment.add_class("studio-storyboard-retake-segment")
        self.retake_scene.add_class("studio-storyboard-retake-scene")
        self.retake_segment.on_click(guard("Queueing the retake")(lambda _: self.retake("segment")))
        self.retake_scene.on_click(guard("Queueing the retake")(lambda _: self.retake("scene")))

        wrap = w.Layout(flex_flow="row wrap", width="100%")
        columns = grid(
            [
                w.VBox(
                    [
                        self.episodes,
                        w.HBox(
                            [self.new_episode, self.episode_up, self.episode_down, self.delete_episode],
                            layout=wrap,
                        ),
                        w.HBox([self.episode_title, self.save_episode]),
                    ]
                ),
                w.VBox(
                    [
                        self.scenes,
                        w.HBox(
                            [self.new_scene, self.scene_up, self.scene_down, self.delete_scene], layout=wrap
                        ),
                    ]
                ),
                w.VBox([self.segments, self.refresh_button]),
            ],
            column="300px",
        )
        editor = w.VBox(
            [self.scene_status, self.form.widget, self.cast.widget],
            layout=w.Layout(flex="1 1 560px", min_width="0", margin="0 12px 0 0"),
        )
        frames = w.VBox(
            [
                w.HTML("<b>Scene entry and exit</b>"),
                w.HBox([self.entry_frame, self.exit_frame], layout=wrap),
                w.HTML("<b>Segment first and last frame</b>"),
                w.HBox([self.first_frame, self.last_frame], layout=wrap),
                self.segment_info,
            ],
            layout=w.Layout(flex="0 1 400px", min_width="0", max_width="100%"),
        )
        frames.add_class("studio-frames")
        player = w.VBox(
            [
                w.HBox([self.play_segment, self.play_scene, self.play_episode], layout=wrap),
                self.player_label,
                self.player,
                w.HBox([self.retake_notes, self.retake_segment, self.retake_scene], layout=wrap),
            ]
        )
        self.widget = w.VBox(
            [
                columns,
                # Wraps: below about 1000 px the frames go under the form, never over it.
                w.HBox([editor, frames], layout=wrap),
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
        self._titles = {r.number: r.title for r in rows}
        self.episodes.options = options
        for button in (self.episode_up, self.episode_down, self.delete_episode, self.save_episode):
            button.disabled = not numbers
        self.new_scene.disabled = not numbers
        if not numbers:
            self._show_empty("This show has no episodes yet: add one with New episode.")
            return
        self.episodes.value = chosen_episode if chosen_episode in numbers else numbers[0]
        self.episode_title.value = self._titles.get(self.episodes.value, "")
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
        summary = self._validated(
            self.form.errors,
            lambda: update_scene(self.studio, number, self.form.changes(), project=self.project),
        )
        if summary is None:
            return
        if not summary.changed:
            self.feedback.info(f"Scene {number}: nothing changed.")
            return
        self._load_scenes(self._detail.episode, keep=number)
        note = " It will be rendered again on the next render." if number in summary.stale_scenes else ""
        self.feedback.success(f"Saved scene {number}.{note}")

    def scene_changes(self) -> dict[str, Any]:
        """The scene form as screenplay fields."""
        return self.form.changes()

    def add_episode(self) -> int:
        """Add an episode at the end and show it."""
        number = add_episode(self.studio, title=f"Episode {self._next_episode()}", project=self.project)
        self.refresh()
        self.episodes.value = number
        self.feedback.success(f"Added episode {number}. Give it a title, then add scenes with New scene.")
        return number

    def save_episode_title(self) -> None:
        episode = self._episode()
        update_episode(self.studio, episode, {"title": self.episode_title.value}, project=self.project)
        self.refresh()
        self.feedback.success(f"Saved episode {episode}'s title.")

    def move_episode(self, offset: int) -> None:
        episode = self._episode()
        move_episode(self.studio, episode, -1 if offset < 0 else 1, project=self.project)
        self.refresh()
        self.episodes.value = episode + (-1 if offset < 0 else 1)
        self.feedback.success(f"Moved episode {episode} {'earlier' if offset < 0 else 'later'}.")

    def remove_episode(self) -> None:
        episode = self._episode()
        if not self._confirmed(f"episode-{episode}", self.delete_episode):
            self.feedback.warning(f"Click Delete again to delete episode {episode} and all its scenes.")
            return
        delete_episode(self.studio, episode, project=self.project)
        self.refresh()
        self.feedback.success(f"Deleted episode {episode}; its rendered files stay on disk.")

    def add_scene(self) -> int:
        """Add a scene at the end of the chosen episode and show it."""
        episode = self._episode()
        number = add_scene(self.studio, episode, title="New scene", project=self.project)
        self._load_scenes(episode, keep=number)
        self.feedback.success(
            f"Added scene {number}. Fill in the form, put characters in it, then Save scene."
        )
        return number

    def move_scene(self, offset: int) -> None:
        scene = self._scene()
        move_scene(self.studio, scene, -1 if offset < 0 else 1, project=self.project)
        self._load_scenes(self._episode(), keep=scene + (-1 if offset < 0 else 1))
        self.feedback.success(
            f"Moved scene {scene} {'earlier' if offset < 0 else 'later'}; both scenes will be rendered again."
        )

    def remove_scene(self) -> None:
        scene = self._scene()
        if not self._confirmed(f"scene-{scene}", self.delete_scene):
            self.feedback.warning(f"Click Delete again to delete scene {scene}.")
            return
        delete_scene(self.studio, scene, project=self.project)
        self.refresh()
        self.feedback.success(f"Deleted scene {scene}; its rendered files stay on disk.")

    def add_to_scene(self) -> None:
        """Put the chosen character in the scene."""
        scene, name = self._scene(), self.cast.candidates.value
        if not name:
            self.feedback.warning(
                "Every character is in this scene already; create more on the Characters tab."
            )
            return
        summary = self._validated(
            self.cast.errors, lambda: add_scene_character(self.studio, scene, name, project=self.project)
        )
        if summary is not None:
            self._load_scene(scene, cast_member=name)
            self.feedback.success(f"{name} is in scene {scene} now.")

    def save_cast_member(self) -> None:
        scene, name = self._scene(), self.cast.members.value
        if not name:
            self.feedback.warning("Choose a character in the scene first.")
            return
        summary = self._validated(
            self.cast.errors,
            lambda: update_scene_character(
                self.studio, scene, name, self.cast.details(), project=self.project
            ),
        )
        if summary is not None:
            self._load_scene(scene, cast_member=name)
            self.feedback.success(f"Saved {name} in scene {scene}.")

    def remove_from_scene(self) -> None:
        scene, name = self._scene(), self.cast.members.value
        if not name:
            self.feedback.warning("Choose a character in the scene first.")
            return
        remove_scene_character(self.studio, scene, name, project=self.project)
        self._load_scene(scene)
        self.feedback.success(f"{name} is no longer in scene {scene}.")

    def retake(self, what: str) -> int:
        """Queue a retake of the chosen segment or scene (with the notes) as a ``retake``
        job a dashboard worker runs; returns the job id."""
        episode, scene = self._episode(), self._scene()
        segment = next((s for s in self._segments if s.number == self.segments.value), None)
        if what == "segment" and segment is None:
            from studio import NotFoundError

            raise NotFoundError("choose a segment first (segments are planned when the episode renders)")
        notes = self.retake_notes.value.strip()
        queued = queue_retake(
            self.studio,
            self.feedback,
            episode=episode,
            project=self.project,
            scene=scene if what == "scene" else None,
            segment=segment.id if what == "segment" and segment is not None else None,
            notes=notes,
        )
        self.retake_notes.value = ""
        self.retakes.follow(queued.job.id)
        label = f"segment {scene}.{segment.number}" if what == "segment" and segment else f"scene {scene}"
        self.feedback.info(
            f"Retake of {label} queued as job {queued.job.id}; Quality shows its takes when done."
        )
        return queued.job.id

    def close(self) -> None:
        """Stop following retakes, then close every widget."""
        self.retakes.stop()
        super().close()

    def _retake_finished(self, job: JobInfo) -> None:
        if job.status is JobStatus.SUCCEEDED:
            self.refresh()
            self.feedback.success(f"Retake job {job.id} is done; compare its takes on the Quality tab.")
        else:
            self.feedback.error(f"Retake job {job.id} {job.status.value}: {job.error or job.message}")

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

    def _validated(self, errors: Any, edit: Callable[[], Any]) -> Any:
        """Run an edit; a validation error goes under its fields (and in one status line)."""
        errors.clear()
        try:
            return edit()
        except ScreenplayError as error:
            unplaced = errors.show(error)
            where = "; ".join(unplaced) if unplaced else "see the messages under the fields"
            self.feedback.error(f"Please fix: {where}")
            return None

    def _pick_cast_member(self) -> None:
        self.cast.pick()

    def _confirmed(self, what: str, button: w.Button) -> bool:
        if self._confirm == what:
            self._confirm = None
            button.description = "Delete"
            return True
        self._confirm = what
        button.description = "Really delete?"
        return False

    def _episode(self) -> int:
        if self.episodes.value is None:
            from studio import NotFoundError

            raise NotFoundError("choose an episode first (or add one with New episode)")
        return int(self.episodes.value)

    def _scene(self) -> int:
        if self.scenes.value is None:
            from studio import NotFoundError

            raise NotFoundError("choose a scene first (or add one with New scene)")
        return int(self.scenes.value)

    def _next_episode(self) -> int:
        return max((n for _, n in self.episodes.options), default=0) + 1

    def _show_empty(self, message: str) -> None:
        self._detail = None
        self.scenes.options = []
        self.segments.options = []
        self.scene_status.value = f"<i>{html.escape(message)}</i>"
        self.form.widget.layout.display = self.cast.widget.layout.display = "none"
        self.feedback.info(message)

    def _on_episode(self, change: dict[str, Any]) -> None:
        self._confirm = None
        self.delete_episode.description = self.delete_scene.description = "Delete"
        if change["new"] is not None:
            self.episode_title.value = self._titles.get(change["new"], "")
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
        for button in (self.scene_up, self.scene_down, self.delete_scene):
            button.disabled = not numbers
        if not numbers:
            self._show_empty(f"Episode {episode} has no scenes yet: add one with New scene.")
            return
        target = keep if keep in numbers else numbers[0]
        if self.scenes.value != target:
            self.scenes.value = target
        else:
            self._load_scene(target)

    def _on_scene(self, change: dict[str, Any]) -> None:
        self._confirm = None
        self.delete_scene.description = "Delete"
        if change["new"] is not None:
            self._load_scene(change["new"])

    def _load_scene(self, number: int, *, cast_member: str | None = None) -> None:
        detail = scene_detail(self.studio, number, project=self.project)
        self._detail = detail
        self.form.widget.layout.display = self.cast.widget.layout.display = None
        self.form.fill(detail.spec)
        everyone = [c.name for c in list_characters(self.studio, project=self.project)]
        self.cast.fill(detail.spec.characters, everyone, keep=cast_member)
        row = detail.row
        counts = _counts(row.segments_done, row.segments_planned)
        self.scene_status.value = f"<b>Scene {row.number}</b> {badge(row.status)} {counts}"
        self._image(self.entry_frame, detail.entry_frame)
        self._image(self.exit_frame, detail.exit_frame)
        self._segments = list_segments(self.studio, number, project=self.project)
        for s in self._segments:
            self._videos[f"segment-{s.number}"] = s.video
        self.segments.options = [(f"{s.number} · {s.shown_status}", s.number) for s in self._segments]
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
            f"<b>Segment {segment.scene}.{segment.number}</b> {badge(segment.shown_status)}"
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
