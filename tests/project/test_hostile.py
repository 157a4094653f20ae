"""Hostile screenplays: each ends with a file:line error and exit 2, never a traceback.

The files live in ``hostile/``; the ones too big to keep (50 MB) or that need the test's
own folder (symbolic links out of it) are made here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from studio import ConfigurationError, ScreenplayError
from studio.project._bounded_yaml import YamlLimits
from studio.project._screenplay import load_screenplay, parse_screenplay

HOSTILE = Path(__file__).parent / "hostile"

# file -> (line, a part of the message)
EXPECTED: dict[str, tuple[int, str]] = {
    "invalid_utf8.yaml": (3, "byte 0xff at column 13 is not UTF-8 text; save the screenplay as UTF-8"),
    "latin1.yaml": (1, "byte 0xe9 at column 11 is not UTF-8 text"),
    "binary_garbage.yaml": (1, "is not UTF-8 text"),
    "nul_bytes.yaml": (1, "the control character U+0000 is not allowed"),
    "control_character.yaml": (2, "the control character U+0007 is not allowed"),
    "tabs.yaml": (3, "found character '\\t' that cannot start any token"),
    "deep_nesting_flow.yaml": (2, "nesting deeper than 64 levels"),
    "deep_nesting_block.yaml": (65, "nesting deeper than 64 levels"),
    "json_deep.json": (1, "nesting deeper than 64 levels"),
    "billion_laughs.yaml": (6, "aliases expand to more than 10,000 nodes (alias *d)"),
    "wide_alias_bomb.yaml": (3, "aliases expand to more than 10,000 nodes (alias *x)"),
    "recursive_alias.yaml": (3, "alias *loop refers to the node that contains it"),
    "undefined_alias.yaml": (2, "found undefined alias 'nowhere'"),
    "huge_integer.yaml": (
        8,
        "cannot read the value '99999999999999999999...': Exceeds the limit (4300 digits)",
    ),
    "big_scene_number.yaml": (8, "number must be at most 1000000, got 99999999999999999999"),
    "bool_as_number.yaml": (8, "number must be a whole number, got True"),
    "nan_duration.yaml": (9, "duration must be a finite number, got nan"),
    "infinite_duration.yaml": (9, "duration must be a finite number, got inf"),
    "float_overflow.yaml": (9, "duration must be a finite number, got inf"),
    "impossible_date.yaml": (2, "cannot read the value '2024-13-45': month must be in 1..12"),
    "reference_absolute_path.yaml": (4, "reference image '/etc/passwd' is outside the screenplay's folder"),
    "reference_dotdot_path.yaml": (
        4,
        "reference image 'refs/../../secret.png' is outside the screenplay's folder",
    ),
    "reference_home_path.yaml": (4, "reference image '~/.ssh/id_rsa' does not exist"),
    "duplicate_keys.yaml": (4, "characters[0].name: key 'name' is given twice in this mapping"),
    "duplicate_scene_numbers.yaml": (12, "duplicate scene number 1 (also used by episodes[0].scenes[0])"),
    "duplicate_characters.yaml": (4, "duplicate character 'Luna'"),
    "unknown_speaker.yaml": (12, "dialogue[0].speaker: unknown speaker 'Lunaa' (did you mean 'Luna'?)"),
    "unknown_character_and_schema_error.yaml": (9, "duration must be greater than 0"),
    "complex_key.yaml": (2, "found unhashable key"),
    "not_a_mapping.yaml": (1, "a screenplay must be a mapping with a title, got a list"),
    "python_object_tag.yaml": (1, "could not determine a constructor for the tag"),
    "unterminated_string.yaml": (3, "found unexpected end of stream"),
}


def test_every_hostile_file_is_listed() -> None:
    assert sorted(p.name for p in HOSTILE.iterdir()) == sorted(EXPECTED)
    assert len(EXPECTED) >= 25


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_hostile_file_gives_a_located_error(name: str) -> None:
    path = HOSTILE / name
    line, part = EXPECTED[name]
    with pytest.raises(ScreenplayError) as caught:
        load_screenplay(path)
    assert caught.value.exit_code == 2
    first = caught.value.issues[0]
    assert (first.path, first.line) == (str(path), line), str(caught.value)
    assert part in str(caught.value)


def test_schema_and_cross_reference_errors_come_together() -> None:
    with pytest.raises(ScreenplayError) as caught:
        load_screenplay(HOSTILE / "unknown_character_and_schema_error.yaml")
    lines = str(caught.value).splitlines()
    assert len(lines) == 2
    assert lines[1].endswith(
        ":10: episodes[0].scenes[0].characters[0]: unknown character 'Lunna' (did you mean 'Luna'?)"
    )


def test_both_unknown_speakers_are_named() -> None:
    with pytest.raises(ScreenplayError) as caught:
        load_screenplay(HOSTILE / "unknown_speaker.yaml")
    assert (
        str(caught.value)
        .splitlines()[1]
        .endswith(
            ":13: episodes[0].scenes[0].dialogue[1].speaker: unknown speaker 'Zed'; known: 'Luna', 'Kai'"
        )
    )


def test_both_duplicate_keys_are_named() -> None:
    with pytest.raises(ScreenplayError) as caught:
        load_screenplay(HOSTILE / "duplicate_keys.yaml")
    assert str(caught.value).splitlines()[1].endswith(":5: title: key 'title' is given twice in this mapping")


def test_a_50_mb_file_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("w") as stream:
        stream.write("title: Show\ncharacters:\n")
        line = "  - {name: Extra, description: " + "x" * 200 + "}\n"
        stream.write(line * (50 * 1024 * 1024 // len(line)))
    assert path.stat().st_size > 50_000_000
    with pytest.raises(ScreenplayError) as caught:
        load_screenplay(path)
    assert str(caught.value) == (
        f"{path}:1: the file is larger than the 10,485,760-byte limit for screenplays; split the show "
        "into several files, or raise STUDIO_SCREENPLAY_MAX_BYTES if you trust this one"
    )


def test_the_size_limit_is_configurable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "show.yaml"
    path.write_text("title: Show\ndescription: " + "x" * 2000 + "\n")
    assert load_screenplay(path).title == "Show"
    monkeypatch.setenv("STUDIO_SCREENPLAY_MAX_BYTES", "1000")
    with pytest.raises(ScreenplayError, match="larger than the 1,000-byte limit"):
        load_screenplay(path)
    with pytest.raises(ScreenplayError, match="larger than the 100-byte limit"):
        parse_screenplay(path.read_text(), limits=YamlLimits(max_bytes=100))
    monkeypatch.setenv("STUDIO_SCREENPLAY_MAX_BYTES", "big")
    with pytest.raises(ConfigurationError, match="STUDIO_SCREENPLAY_MAX_BYTES must be a whole number"):
        load_screenplay(path)


def test_the_depth_and_alias_limits_are_configurable() -> None:
    text = "title: Show\nx: &x [1, 2, 3]\ny: [*x, *x]\ndescription: text\n"
    assert parse_screenplay(text.replace("x: &x [1, 2, 3]\ny: [*x, *x]\n", "")).title == "Show"
    with pytest.raises(ScreenplayError, match="aliases expand to more than 7 nodes"):
        parse_screenplay(text, limits=YamlLimits(max_alias_nodes=7))
    with pytest.raises(ScreenplayError, match="nesting deeper than 1 levels"):
        parse_screenplay(text, limits=YamlLimits(max_depth=1))


def test_a_symlink_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG private")
    show = tmp_path / "show"
    (show / "refs").mkdir(parents=True)
    (show / "refs" / "luna.png").symlink_to(secret)
    (show / "refs" / "own.png").write_bytes(b"\x89PNG")
    (show / "refs" / "alias.png").symlink_to(show / "refs" / "own.png")
    path = show / "show.yaml"
    path.write_text("title: Show\ncharacters:\n  - name: Luna\n    reference_images: [refs/luna.png]\n")
    with pytest.raises(ScreenplayError) as caught:
        load_screenplay(path)
    assert str(caught.value).startswith(
        f"{path}:4: characters[0].reference_images[0]: reference image 'refs/luna.png' is outside "
        f"the screenplay's folder {show.resolve()}; copy the image into that folder"
    )
    # A link that stays inside the folder is fine.
    path.write_text("title: Show\ncharacters:\n  - name: Luna\n    reference_images: [refs/alias.png]\n")
    assert load_screenplay(path).characters[0].reference_images == ["refs/alias.png"]


def test_a_folder_named_as_an_image_is_not_a_file(tmp_path: Path) -> None:
    (tmp_path / "refs").mkdir()
    path = tmp_path / "show.yaml"
    path.write_text("title: Show\ncharacters:\n  - name: Luna\n    reference_images: [refs]\n")
    with pytest.raises(ScreenplayError, match="reference image 'refs' is not a regular file"):
        load_screenplay(path)


@pytest.mark.parametrize("name", ["billion_laughs.yaml", "deep_nesting_flow.yaml", "binary_garbage.yaml"])
def test_the_cli_exits_2_without_a_traceback(tmp_path: Path, name: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "studio", "--home", str(tmp_path / "home"), "import", str(HOSTILE / name)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    line = EXPECTED[name][0]
    assert f"{HOSTILE / name}:{line}: " in result.stderr
