"""Every bad-input case names the file, the line, the YAML path, and what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio import ScreenplayError
from studio.project._screenplay import load_screenplay, parse_screenplay

GOOD = """\
title: Show
defaults:
  fps: 24
  width: 768
  height: 512
characters:
  - name: Luna
    palette: ["#112233"]
  - name: Kai
episodes:
  - number: 1
    scenes:
      - number: 1
        duration: 5
        characters: [Luna]
      - number: 2
        duration: 4
        characters:
          - name: Kai
        transition: fade
"""


def errors(text: str) -> str:
    with pytest.raises(ScreenplayError) as caught:
        parse_screenplay(text, source="show.yaml")
    assert caught.value.exit_code == 2
    return str(caught.value)


def test_the_good_screenplay_parses() -> None:
    play = parse_screenplay(GOOD, source="show.yaml")
    assert [s.number for _, s in play.scenes()] == [1, 2]
    assert play.characters[0].palette == ["#112233"]


def test_missing_required_field() -> None:
    text = GOOD.replace("        duration: 4\n", "")
    assert errors(text) == "show.yaml:16: episodes[0].scenes[1].duration: missing required field 'duration'"


def test_wrong_type() -> None:
    text = GOOD.replace("duration: 5", "duration: five")
    assert (
        errors(text) == "show.yaml:14: episodes[0].scenes[0].duration: duration must be a number, got 'five'"
    )


@pytest.mark.parametrize("value", ["0", "-3"])
def test_zero_or_negative_duration(value: str) -> None:
    text = GOOD.replace("duration: 5", f"duration: {value}")
    assert errors(text) == (
        f"show.yaml:14: episodes[0].scenes[0].duration: duration must be greater than 0, got {value}"
    )


def test_duplicate_scene_numbers() -> None:
    text = GOOD.replace("number: 2", "number: 1")
    assert errors(text) == (
        "show.yaml:16: episodes[0].scenes[1].number: duplicate scene number 1 "
        "(also used by episodes[0].scenes[0]); scene numbers are unique within the project"
    )


def test_unknown_character_suggests_the_close_name() -> None:
    text = GOOD.replace("characters: [Luna]", "characters: [Lunna]")
    assert errors(text) == (
        "show.yaml:15: episodes[0].scenes[0].characters[0]: unknown character 'Lunna' (did you mean 'Luna'?)"
    )


def test_unknown_character_with_nothing_close_lists_the_known_ones() -> None:
    text = GOOD.replace("characters: [Luna]", "characters: [Zed]")
    assert "unknown character 'Zed'; known: 'Luna', 'Kai'" in errors(text)


def test_bad_colour() -> None:
    text = GOOD.replace('"#112233"', '"teal-ish"')
    assert errors(text) == (
        "show.yaml:8: characters[0].palette[0]: bad colour 'teal-ish': write it as #rrggbb, e.g. #3a6ea5"
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("width: 770", "width 770 is not a multiple of 8; use 768 or 776"),
        ("width: 8192", "width 8192 is above the 4096 maximum"),
    ],
)
def test_bad_resolution(line: str, message: str) -> None:
    text = GOOD.replace("width: 768", line)
    assert errors(text) == f"show.yaml:4: defaults.width: {message}"


@pytest.mark.parametrize(("fps", "bound"), [("0", "at least 1"), ("121", "at most 120")])
def test_fps_out_of_range(fps: str, bound: str) -> None:
    text = GOOD.replace("fps: 24", f"fps: {fps}")
    assert errors(text) == f"show.yaml:3: defaults.fps: fps must be {bound}, got {fps}"


def test_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ScreenplayError) as caught:
        load_screenplay(missing)
    assert str(caught.value) == f"{missing}: cannot read the file: No such file or directory"


def test_a_binary_file_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "show.yaml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ScreenplayError, match="cannot read the file"):
        load_screenplay(path)


def test_invalid_yaml() -> None:
    text = GOOD.replace("  - name: Kai\n", "  - name: [Kai\n")
    message = errors(text)
    assert message.startswith("show.yaml:10: invalid YAML:"), message


def test_reference_image_that_does_not_exist(tmp_path: Path) -> None:
    path = tmp_path / "show.yaml"
    path.write_text(GOOD.replace('palette: ["#112233"]', "reference_images: [refs/luna.png]"))
    with pytest.raises(ScreenplayError) as caught:
        load_screenplay(path)
    assert str(caught.value) == (
        f"{path}:8: characters[0].reference_images[0]: reference image 'refs/luna.png' does not exist "
        "(paths are relative to the screenplay)"
    )


def test_unknown_transition() -> None:
    text = GOOD.replace("transition: fade", "transition: swirl")
    assert errors(text) == (
        "show.yaml:20: episodes[0].scenes[1].transition: unknown transition 'swirl'; "
        "use one of: cut, fade, dissolve, wipe"
    )


def test_a_misspelt_field_is_an_error_with_a_suggestion() -> None:
    text = GOOD.replace("duration: 5", "duration: 5\n        loaction: pier")
    assert errors(text) == (
        "show.yaml:15: episodes[0].scenes[0].loaction: unknown field 'loaction' (did you mean 'location'?)"
    )


def test_every_problem_is_reported_at_once() -> None:
    text = GOOD.replace("fps: 24", "fps: 500").replace("duration: 5", "duration: 0")
    assert len(errors(text).splitlines()) == 2


def test_json_is_accepted_with_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "show.json"
    path.write_text('{\n  "title": "S",\n  "defaults": {\n    "fps": 0\n  }\n}\n')
    with pytest.raises(ScreenplayError) as caught:
        load_screenplay(path)
    assert str(caught.value) == f"{path}:4: defaults.fps: fps must be at least 1, got 0"


def test_an_empty_file_says_what_a_screenplay_is() -> None:
    assert errors("") == "show.yaml:1: a screenplay must be a mapping with a title, got empty"


def test_quality_thresholds_are_checked_on_import() -> None:
    text = GOOD.replace("  height: 512\n", "  height: 512\n  quality:\n    outlier_zz: 6\n")
    assert errors(text) == (
        "show.yaml:6: defaults.quality: unknown quality threshold 'outlier_zz' (did you mean 'outlier_z'?)"
    )
    text = GOOD.replace("  height: 512\n", "  height: 512\n  quality:\n    seam_max_jump_ratio: 0.5\n")
    assert errors(text) == (
        "show.yaml:6: defaults.quality: quality.seam_max_jump_ratio must be greater than 1, got 0.5"
    )
    text = GOOD.replace("  height: 512\n", "  height: 512\n  quality:\n    freeze_min_frames: 24\n")
    assert parse_screenplay(text, source="show.yaml").defaults.quality == {"freeze_min_frames": 24}
