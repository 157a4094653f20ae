"""CharacterPanel: list, create, edit and delete characters; reference images; palette; LoRA; voice."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import ipywidgets as w

from studio import Studio
from studio.project import (
    CharacterSpec,
    create_character,
    delete_character,
    list_characters,
    store_reference_image,
    update_character,
)
from widgets._feedback import Feedback, MediaCache, Panel

__all__ = ["CharacterPanel"]

NEW = "(new character)"
LORA_FAMILIES = ("sd15", "sdxl", "pony", "illustrious", "hunyuan_video", "wan", "ltxv")
_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}){1,2}$")


def _split(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,\n]", text) if part.strip()]


class CharacterPanel(Panel):
    """Characters of one project, with a form that validates through the screenplay rules.

    Args:
        studio: The open studio.
        project: Project title; ``None`` for the only project.
    """

    def __init__(self, studio: Studio, *, project: str | None = None) -> None:
        self.studio = studio
        self.project = project
        self.feedback = Feedback()
        self._media = MediaCache()
        self._characters: list[CharacterSpec] = []
        self._images: list[str] = []  # the form's reference images (absolute paths)
        self._confirming_delete = False

        self.selector = w.Select(options=[NEW], value=NEW, rows=10, layout=w.Layout(width="200px"))
        self.new_button = w.Button(description="New character", icon="plus")
        self.delete_button = w.Button(description="Delete", icon="trash", button_style="danger")
        self.name = w.Text(description="Name", placeholder="e.g. Luna")
        self.description = w.Textarea(description="Description", rows=2)
        self.prompt = w.Textarea(description="Prompt", placeholder="tokens that always describe them", rows=2)
        self.negative = w.Textarea(description="Negative", rows=1)
        self.outfit = w.Text(description="Outfit")
        self.hair = w.Text(description="Hair")
        self.accessories = w.Text(description="Accessories", placeholder="comma separated")
        self.palette = w.Text(description="Palette", placeholder="#3fb7b0, #f4d35e")
        self.colour = w.ColorPicker(description="Add colour", value="#3a6ea5", concise=False)
        self.add_colour = w.Button(description="Add", icon="plus", layout=w.Layout(width="70px"))
        self.swatches = w.HTML()
        self.swatches.add_class("studio-swatches")
        self.lora_name = w.Text(description="LoRA", placeholder="file name, empty for none")
        self.lora_strength = w.FloatSlider(description="Strength", value=0.8, min=0.0, max=2.0, step=0.05)
        self.lora_family = w.Combobox(description="Family", options=LORA_FAMILIES, value="sdxl")
        self.voice_id = w.Text(description="Voice", placeholder="e.g. en-us+f3, nova; empty: default")
        self.voice_speed = w.FloatSlider(description="Speed", value=1.0, min=0.25, max=4.0, step=0.05)
        self.voice_pitch = w.FloatSlider(description="Pitch", value=0.0, min=-12.0, max=12.0, step=0.5)
        self.upload = w.FileUpload(accept="image/*", multiple=True, description="Add images")
        self.clear_images = w.Button(description="Remove images", icon="times")
        self.previews = w.HBox(layout=w.Layout(flex_flow="row wrap"))
        self.save_button = w.Button(description="Save", icon="check", button_style="primary")
        for widget in (self.name, self.save_button, self.selector, self.delete_button):
            widget.add_class("studio-characters")
        self.name.add_class("studio-character-name")
        self.save_button.add_class("studio-character-save")

        guard = self.feedback.guard
        self.selector.observe(guard("Opening the character")(self._on_select), names="value")
        self.new_button.on_click(guard("New character")(lambda _: self._select(NEW)))
        self.save_button.on_click(guard("Saving the character")(lambda _: self.save()))
        self.delete_button.on_click(guard("Deleting the character")(lambda _: self._on_delete()))
        self.palette.observe(guard("Palette")(lambda _: self._show_swatches()), names="value")
        self.add_colour.on_click(guard("Adding a colour")(lambda _: self._add_colour()))
        self.upload.observe(guard("Uploading images")(self._on_upload), names="value")
        self.clear_images.on_click(guard("Removing images")(lambda _: self._set_images([])))

        form = w.VBox(
            [
                self.name,
                self.description,
                self.prompt,
                self.negative,
                w.HBox([self.outfit, self.hair]),
                self.accessories,
                w.HBox([self.palette, self.swatches]),
                w.HBox([self.colour, self.add_colour]),
                w.HTML("<b>LoRA</b>"),
                w.HBox([self.lora_name, self.lora_family]),
                self.lora_strength,
                w.HTML("<b>Voice</b> (speed factor, pitch in semitones)"),
                w.HBox([self.voice_id, self.voice_speed, self.voice_pitch]),
                w.HTML("<b>Reference images</b>"),
                w.HBox([self.upload, self.clear_images]),
                self.previews,
                self.save_button,
            ]
        )
        left = w.VBox([self.selector, w.HBox([self.new_button]), self.delete_button])
        self.widget = w.VBox([w.HBox([left, form]), self.feedback.widget])
        self.widget.add_class("studio-character-panel")
        self.refresh()

    # ------------------------------------------------------------------ public

    def refresh(self, *, select: str | None = None) -> None:
        """Reload the list from the database (keeps the selection when it still exists)."""
        self._characters = list_characters(self.studio, project=self.project)
        names = [c.name for c in self._characters]
        current = select if select is not None else self.selector.value
        self.selector.options = [*names, NEW]
        self._select(current if current in names else (names[0] if names else NEW))

    def save(self) -> None:
        """Create or update the character in the form; problems are shown in the panel."""
        data = self.form_data()
        original = self.selector.value
        if original == NEW:
            summary = create_character(self.studio, data, project=self.project)
            verb = "Created"
        else:
            summary = update_character(self.studio, original, data, project=self.project)
            verb = "Saved"
        self.refresh(select=data["name"])
        stale = ""
        if summary.stale_scenes:
            stale = f" Scenes to re-render: {', '.join(map(str, summary.stale_scenes))}."
        self.feedback.success(f"{verb} {data['name']!r}.{stale}")

    def form_data(self) -> dict[str, Any]:
        """The form as screenplay data (validated by the studio on save, not here)."""
        data: dict[str, Any] = {
            "name": self.name.value.strip(),
            "description": self.description.value,
            "prompt": self.prompt.value,
            "negative": self.negative.value,
            "outfit": self.outfit.value,
            "hair": self.hair.value,
            "accessories": _split(self.accessories.value),
            "palette": _split(self.palette.value),
            "reference_images": list(self._images),
            "voice": {
                "id": self.voice_id.value.strip(),
                "speed": round(float(self.voice_speed.value), 3),
                "pitch": round(float(self.voice_pitch.value), 3),
            },
        }
        if self.lora_name.value.strip():
            data["lora"] = {
                "name": self.lora_name.value.strip(),
                "strength": round(float(self.lora_strength.value), 3),
                "family": self.lora_family.value.strip() or "sdxl",
            }
        return data

    # ---------------------------------------------------------------- handlers

    def _select(self, name: str) -> None:
        self._confirming_delete = False
        self.delete_button.description = "Delete"
        if self.selector.value != name:
            self.selector.value = name  # fires _on_select
        else:
            self._fill(name)

    def _on_select(self, change: dict[str, Any]) -> None:
        self._confirming_delete = False
        self.delete_button.description = "Delete"
        self._fill(change["new"])

    def _fill(self, name: str) -> None:
        spec = next((c for c in self._characters if c.name == name), None) or CharacterSpec(name="x")
        new = spec.name == "x" and name == NEW
        self.name.value = "" if new else spec.name
        self.description.value = spec.description
        self.prompt.value = spec.prompt
        self.negative.value = spec.negative
        self.outfit.value = spec.outfit
        self.hair.value = spec.hair
        self.accessories.value = ", ".join(spec.accessories)
        self.palette.value = ", ".join(spec.palette)
        self.lora_name.value = spec.lora.name if spec.lora else ""
        self.lora_strength.value = spec.lora.strength if spec.lora else 0.8
        self.lora_family.value = spec.lora.family if spec.lora else "sdxl"
        self.voice_id.value = spec.voice.id
        self.voice_speed.value = spec.voice.speed
        self.voice_pitch.value = spec.voice.pitch
        self.delete_button.disabled = new
        self.save_button.description = "Create" if new else "Save"
        self._set_images(list(spec.reference_images))
        self._show_swatches()

    def _on_delete(self) -> None:
        name = self.selector.value
        if name == NEW:
            return
        if not self._confirming_delete:
            self._confirming_delete = True
            self.delete_button.description = "Confirm delete"
            self.feedback.warning(f"Click 'Confirm delete' to delete {name!r}.")
            return
        self._confirming_delete = False
        self.delete_button.description = "Delete"
        delete_character(self.studio, name, project=self.project)
        self.refresh()
        self.feedback.success(f"Deleted {name!r}.")

    def _add_colour(self) -> None:
        colours = _split(self.palette.value)
        colours.append(self.colour.value)
        self.palette.value = ", ".join(colours)

    def _show_swatches(self) -> None:
        parts = []
        for colour in _split(self.palette.value):
            if _HEX.match(colour):
                parts.append(
                    f'<span title="{html.escape(colour)}" class="studio-swatch" style="display:inline-block;'
                    f'width:22px;height:22px;margin:0 2px;border:1px solid #888;background:{colour}"></span>'
                )
            else:
                parts.append(f'<span style="color:#b00020">{html.escape(colour)}: not #rrggbb</span>')
        self.swatches.value = "".join(parts)

    def _on_upload(self, change: dict[str, Any]) -> None:
        files = change["new"]
        if not files:
            return
        added = []
        for item in files:
            path = store_reference_image(self.studio, str(item["name"]), bytes(item["content"]))
            if str(path) not in self._images:
                added.append(str(path))
        self._set_images([*self._images, *added])
        self.upload.value = ()  # so the same file can be added again after a removal
        self.feedback.info(f"Added {len(added)} image(s); click Save to keep them.")

    def _set_images(self, images: list[str]) -> None:
        self._images = images
        children = []
        for image in images:
            data = self._media.get(Path(image))
            if data is None:
                children.append(w.HTML(f"<i>missing: {html.escape(Path(image).name)}</i>"))
            else:
                thumbnail = w.Image(value=data, width=96, height=96, layout=w.Layout(object_fit="contain"))
                thumbnail.add_class("studio-reference-image")
                children.append(thumbnail)
        for old in self.previews.children:
            old.close()
        self.previews.children = children
