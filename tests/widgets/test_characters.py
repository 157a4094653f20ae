"""CharacterPanel: list, create, edit, delete, validation messages, images, swatches."""

from __future__ import annotations

import datetime as dt

from studio._studio import Studio
from studio.project._views import list_characters
from tests.project._fake_render import png
from widgets import CharacterPanel
from widgets._characters import NEW


def test_lists_characters_and_fills_the_form(studio: Studio) -> None:
    panel = CharacterPanel(studio)
    assert panel.selector.options == ("Luna", "Kai", NEW)
    assert panel.name.value == "Luna" and panel.lora_name.value == "luna_v1.safetensors"
    assert panel.swatches.value.count("studio-swatch") == 3
    panel.selector.value = "Kai"
    assert panel.hair.value == "spiky red" and panel.lora_name.value == ""


def test_create_a_character_from_the_form(studio: Studio) -> None:
    panel = CharacterPanel(studio)
    panel.new_button.click()
    assert panel.name.value == "" and panel.save_button.description == "Create"
    panel.name.value = "Mika"
    panel.prompt.value = "long black hair"
    panel.colour.value = "#112233"
    panel.add_colour.click()
    panel.lora_name.value = "mika.safetensors"
    panel.lora_strength.value = 0.65
    panel.lora_family.value = "pony"
    panel.save_button.click()
    assert panel.feedback.last_level == "success", panel.feedback.last_message
    assert panel.selector.value == "Mika"
    mika = list_characters(studio)[-1]
    assert mika.palette == ["#112233"] and mika.lora is not None
    assert (mika.lora.name, mika.lora.strength, mika.lora.family) == ("mika.safetensors", 0.65, "pony")


def test_validation_messages_appear_in_the_panel(studio: Studio) -> None:
    panel = CharacterPanel(studio)
    panel.new_button.click()
    panel.name.value = "Bad"
    panel.palette.value = "#12, teal"
    assert "not #rrggbb" in panel.swatches.value
    panel.save_button.click()
    assert panel.feedback.last_level == "error"
    assert "palette[0]: bad colour '#12'" in panel.feedback.last_message
    assert "palette[1]: bad colour 'teal'" in panel.feedback.last_message
    assert [c.name for c in list_characters(studio)] == ["Luna", "Kai"]
    panel.new_button.click()
    panel.save_button.click()  # no name
    assert "name must not be empty" in panel.feedback.last_message


def test_edit_and_rename(studio: Studio) -> None:
    panel = CharacterPanel(studio)
    panel.selector.value = "Kai"
    panel.name.value = "Kaito"
    panel.outfit.value = "green hoodie"
    panel.save_button.click()
    assert panel.feedback.last_level == "success"
    assert panel.selector.options == ("Luna", "Kaito", NEW)
    assert list_characters(studio)[1].outfit == "green hoodie"


def test_delete_asks_for_confirmation_and_explains_refusals(studio: Studio) -> None:
    panel = CharacterPanel(studio)
    panel.selector.value = "Kai"
    panel.delete_button.click()
    assert panel.delete_button.description == "Confirm delete"
    panel.delete_button.click()
    assert panel.feedback.last_level == "error" and "appears in scenes 1, 2, 3" in panel.feedback.last_message
    panel.new_button.click()
    panel.name.value = "Extra"
    panel.save_button.click()
    panel.delete_button.click()
    panel.delete_button.click()
    assert panel.feedback.last_message == "Deleted 'Extra'."
    assert "Extra" not in panel.selector.options


def test_reference_image_upload_shows_a_preview_and_is_saved(studio: Studio) -> None:
    panel = CharacterPanel(studio)
    upload = {"name": "luna.png", "type": "image/png", "size": 10, "last_modified": dt.datetime.now(dt.UTC)}
    panel.upload.value = ({**upload, "content": memoryview(png())},)
    assert len(panel.previews.children) == 1 and panel.previews.children[0].value == png()
    panel.save_button.click()
    assert panel.feedback.last_level == "success"
    (image,) = list_characters(studio)[0].reference_images
    assert image.startswith(str(studio.home / "references"))
    panel.upload.value = ({**upload, "name": "notes.png", "content": memoryview(b"not an image")},)
    assert panel.feedback.last_level == "error" and "not a PNG" in panel.feedback.last_message
    panel.clear_images.click()
    assert panel.previews.children == ()


def test_close_closes_every_widget(studio: Studio) -> None:
    panel = CharacterPanel(studio)
    panel.close()
    assert panel.widget.comm is None and panel.name.comm is None and panel.feedback.log.comm is None
