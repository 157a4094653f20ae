"""The screenplay format: a YAML (or JSON) file that describes a whole show.

``load_screenplay(path)`` parses and validates it and returns a :class:`Screenplay`;
every problem is reported at once as a :class:`studio.ScreenplayError` whose lines read
``show.yaml:42: episodes[0].scenes[3].characters[1]: unknown character 'Lunna' (did you
mean 'Luna'?)``. The import into the database lives in ``_importer.py``.

Scene numbers are unique within the whole project, as in a shooting script (and in the
seed's schema): memory flows from scene N to scene N + 1 across episode boundaries.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from studio._exceptions import ConfigurationError, ScreenplayError, ScreenplayIssue
from studio.project._bounded_yaml import (
    MAX_BYTES_VARIABLE,
    LimitExceeded,
    YamlLimits,
    compose_bounded,
    construct_plain,
    limits_from_environment,
)
from studio.project._screenplay_checks import cross_check, format_loc

__all__ = [
    "CameraSpec",
    "CharacterInScene",
    "CharacterSpec",
    "DefaultsSpec",
    "DialogueSpec",
    "EpisodeSpec",
    "LoraSpec",
    "MusicSpec",
    "SceneSpec",
    "SoundEffectSpec",
    "VoiceSpec",
    "Screenplay",
    "load_screenplay",
    "parse_screenplay",
    "validate_screenplay_data",
]

Transition = Literal["cut", "fade", "dissolve", "wipe"]
CameraMovement = Literal["static", "pan", "tilt", "zoom", "dolly"]
Facing = Literal["left", "right", "camera", "away"]
Pacing = Literal["slow", "medium", "fast", "frantic"]

_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}){1,2}$")


def _colour(value: str) -> str:
    if not isinstance(value, str) or not _HEX.match(value.strip()):
        raise ValueError(f"bad colour {value!r}: write it as #rrggbb, e.g. #3a6ea5")
    value = value.strip().lower()
    if len(value) == 4:  # #abc -> #aabbcc
        value = "#" + "".join(c * 2 for c in value[1:])
    return value


def _dimension(value: int) -> int:
    if value % 8 != 0:
        lower = value - value % 8
        raise ValueError(f"{value} is not a multiple of 8; use {lower or 8} or {lower + 8}")
    if value > 4096:
        raise ValueError(f"{value} is above the 4096 maximum")
    return value


Colour = Annotated[str, AfterValidator(_colour)]
Dimension = Annotated[int, Field(gt=0), AfterValidator(_dimension)]
Text = Annotated[str, Field(max_length=10_000)]


class _Spec(BaseModel):
    # Typos must be caught, not ignored: `duratoin: 5` is an error, not a default.
    # NaN passes every `ge`/`le` bound (all comparisons are false) and inf overflows
    # frame counts: neither is a number a screenplay means.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)


class LoraSpec(_Spec):
    name: str = Field(min_length=1)
    strength: float = Field(default=0.8, ge=0.0, le=2.0)
    family: str = Field(
        default="sdxl", min_length=1, description="sd15, sdxl, pony, illustrious, hunyuan_video, wan, ltxv…"
    )


class VoiceSpec(_Spec):
    """How a character sounds: a TTS voice id (empty: the backend's default voice),
    a speed factor and a pitch shift in semitones."""

    id: str = Field(default="", max_length=255)
    speed: float = Field(default=1.0, ge=0.25, le=4.0)
    pitch: float = Field(default=0.0, ge=-12.0, le=12.0, description="semitones")


def _file_only(value: Any) -> Any:
    return {"file": value} if isinstance(value, str) else value


class MusicSpec(_Spec):
    """A music file under a scene or an episode (paths relative to the screenplay)."""

    file: str = Field(min_length=1)
    volume_db: float = Field(default=-10.0, ge=-60.0, le=12.0)


class SoundEffectSpec(_Spec):
    """A sound effect placed ``at`` seconds into its scene (or episode)."""

    file: str = Field(min_length=1)
    at: float = Field(default=0.0, ge=0.0, le=3600.0, description="seconds")
    volume_db: float = Field(default=0.0, ge=-60.0, le=12.0)


Music = Annotated[MusicSpec, BeforeValidator(_file_only)]
SoundEffect = Annotated[SoundEffectSpec, BeforeValidator(_file_only)]


class CharacterSpec(_Spec):
    name: str = Field(min_length=1, max_length=255)
    description: Text = ""
    prompt: Text = ""  # prompt tokens that always describe this character
    negative: Text = ""  # negative tokens
    outfit: str = ""  # default outfit, until a scene says otherwise
    hair: str = ""
    accessories: list[str] = Field(default_factory=list)
    palette: list[Colour] = Field(default_factory=list)
    reference_images: list[str] = Field(default_factory=list)
    lora: LoraSpec | None = None
    voice: VoiceSpec = Field(default_factory=VoiceSpec)


def _name_only(value: Any) -> Any:
    return {"name": value} if isinstance(value, str) else value


class CharacterInScene(_Spec):
    name: str = Field(min_length=1)
    outfit: str = ""
    hair: str = ""
    accessories: list[str] = Field(default_factory=list)
    expression: str = ""
    pose: str = ""
    position: str = "center"
    facing: Facing = "camera"
    action: str = ""
    exits: bool = False  # leaves during this scene: nothing is carried to the next


class CameraSpec(_Spec):
    angle: str = "medium"
    movement: CameraMovement = "static"


class DialogueSpec(_Spec):
    speaker: str = Field(min_length=1)
    line: str = Field(min_length=1)
    at: float | None = Field(default=None, ge=0.0, le=3600.0, description="seconds into the scene")


# The database stores 32-bit integers; a bound here keeps a huge number a line error.
MAX_NUMBER = 1_000_000


def _not_a_bool(value: Any) -> Any:
    # Lax mode reads `number: true` as 1; a scene number is never a yes/no.
    if isinstance(value, bool):
        raise ValueError(f"must be a whole number, got {value!r}")
    return value


Number = Annotated[int, BeforeValidator(_not_a_bool), Field(gt=0, le=MAX_NUMBER)]


class SceneSpec(_Spec):
    number: Number
    title: str = ""
    description: Text = ""
    location: str = ""
    time_of_day: str = ""
    weather: str = ""
    mood: str = ""
    duration: float = Field(gt=0, le=3600, description="seconds")
    characters: list[Annotated[CharacterInScene, BeforeValidator(_name_only)]] = Field(default_factory=list)
    camera: CameraSpec = Field(default_factory=CameraSpec)
    lighting: str = ""
    style: list[str] = Field(default_factory=list)
    negative: list[str] = Field(default_factory=list)
    actions: list[str] = Field(default_factory=list)  # one per segment; the last repeats
    dialogue: list[DialogueSpec] = Field(default_factory=list)
    transition: Transition = "cut"  # into the next scene
    tension: float = Field(default=0.5, ge=0.0, le=1.0)
    pacing: Pacing = "medium"
    story_beat: str = ""
    music: Music | None = None  # replaces the episode's music during this scene
    effects: list[SoundEffect] = Field(default_factory=list)


class EpisodeSpec(_Spec):
    number: Number
    title: str = ""
    synopsis: Text = ""
    scenes: list[SceneSpec] = Field(default_factory=list)
    music: Music | None = None  # under every scene that names none
    effects: list[SoundEffect] = Field(default_factory=list)  # `at` from the episode's start


def _known_thresholds(quality: dict[str, float]) -> dict[str, float]:
    # Checked on import, so a typo fails here, with its line, and not at render time.
    from studio.quality import QualityThresholds

    QualityThresholds.from_dict(quality)
    return quality


_ON = {"ones": 1, "twos": 2, "threes": 3, "fours": 4}


def _drawings(value: Any) -> Any:
    """``animate_on``: 1-4, or the animator's words ``ones``, ``twos``, ``threes``, ``fours``."""
    if isinstance(value, str):
        key = value.strip().lower()
        if key.isdigit():
            return int(key)
        if key not in _ON:
            raise ValueError(f"animate_on {value!r} must be 1-4 or one of {', '.join(_ON)} (e.g. twos)")
        return _ON[key]
    return value


class DefaultsSpec(_Spec):
    fps: int = Field(default=24, ge=1, le=120)
    # Each generated drawing is held this many frames ("on twos" = 2): segments are
    # generated at fps / animate_on and delivered at fps, for half the generation work.
    animate_on: Annotated[int, BeforeValidator(_drawings), Field(ge=1, le=4)] = 1
    width: Dimension = 768
    height: Dimension = 512
    style_preset: str = "anime"
    negative_prompt: str = "low quality, blurry, distorted, deformed"
    max_attempts: int = Field(default=3, ge=1, le=20)
    # When a scene's dialogue runs longer than its duration: lengthen it, or refuse to render.
    speech_overflow: Literal["extend", "refuse"] = "extend"
    quality: Annotated[dict[str, float], AfterValidator(_known_thresholds)] = Field(
        default_factory=dict
    )  # thresholds, see README

    @field_validator("animate_on")
    @classmethod
    def _divides_fps(cls, value: int, info: ValidationInfo) -> int:
        fps = info.data.get("fps")
        if isinstance(fps, int) and fps % value:
            fits = [n for n in range(1, 5) if fps % n == 0]
            raise ValueError(
                f"animating on {[k for k, n in _ON.items() if n == value][0]} needs an fps divisible by "
                f"{value}, and fps is {fps}; "
                f"use animate_on {' or '.join(map(str, fits))}, "
                f"or an fps such as {fps - fps % value or value}"
            )
        return value

    @property
    def render_fps(self) -> int:
        """The rate segments are generated at: ``fps / animate_on``."""
        return self.fps // self.animate_on


class Screenplay(_Spec):
    title: str = Field(min_length=1, max_length=255)
    description: Text = ""
    defaults: DefaultsSpec = Field(default_factory=DefaultsSpec)
    characters: list[CharacterSpec] = Field(default_factory=list)
    episodes: list[EpisodeSpec] = Field(default_factory=list)

    def character(self, name: str) -> CharacterSpec:
        return next(c for c in self.characters if c.name == name)

    def scenes(self) -> Iterable[tuple[EpisodeSpec, SceneSpec]]:
        for episode in self.episodes:
            for scene in episode.scenes:
                yield episode, scene


# --------------------------------------------------------------------------- loading


def load_screenplay(
    path: str | Path,
    *,
    check_files: bool = True,
    allowed_dirs: Sequence[Path] = (),
    limits: YamlLimits | None = None,
) -> Screenplay:
    """Read, parse and validate a screenplay file.

    Args:
        path: A ``.yaml``/``.yml`` or ``.json`` file.
        check_files: Check that reference images exist and lie inside the screenplay's
            folder (relative paths are relative to it).
        allowed_dirs: Other folders reference images may lie in (the studio home).
        limits: Size, depth and alias bounds; by default 10 MiB (or
            ``STUDIO_SCREENPLAY_MAX_BYTES``), 64 levels and 10,000 alias nodes.

    Raises:
        ScreenplayError: listing every problem with file, line and YAML path.
        ConfigurationError: ``STUDIO_SCREENPLAY_MAX_BYTES`` is malformed.
    """
    shown = str(path)
    limits = limits or _environment_limits()
    try:
        with Path(path).open("rb") as stream:
            # Read one byte past the limit rather than trust stat(): /dev/zero has size 0.
            raw = stream.read(limits.max_bytes + 1)
    except OSError as error:
        reason = error.strerror or str(error)
        issue = ScreenplayIssue(shown, None, "", f"cannot read the file: {reason}")
        raise ScreenplayError([issue]) from error
    if len(raw) > limits.max_bytes:
        raise ScreenplayError([ScreenplayIssue(shown, 1, "", _too_large(limits))])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        byte = raw[error.start : error.start + 1].hex()
        message = (
            f"cannot read the file: byte 0x{byte} at column {column} is not UTF-8 text; "
            "save the screenplay as UTF-8"
        )
        raise ScreenplayError([ScreenplayIssue(shown, line, "", message)]) from None
    base_dir = Path(path).parent if check_files else None
    return parse_screenplay(text, source=shown, base_dir=base_dir, allowed_dirs=allowed_dirs, limits=limits)


def parse_screenplay(
    text: str,
    *,
    source: str = "<string>",
    base_dir: Path | None = None,
    allowed_dirs: Sequence[Path] = (),
    limits: YamlLimits | None = None,
) -> Screenplay:
    """Parse screenplay text (YAML or JSON). ``base_dir`` enables reference-image checks."""
    limits = limits or _environment_limits()
    if len(text) > limits.max_bytes:
        raise ScreenplayError([ScreenplayIssue(source, 1, "", _too_large(limits))])
    try:
        root, loader = compose_bounded(text, limits)
        lines, duplicates = _line_index(root)
        data = construct_plain(root, loader)
    except LimitExceeded as error:
        line = error.problem_mark.line + 1 if error.problem_mark else None
        raise ScreenplayError([ScreenplayIssue(source, line, "", str(error.problem))]) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        problem = error.problem or error.context or "syntax error"
        raise ScreenplayError([ScreenplayIssue(source, line, "", f"invalid YAML: {problem}")]) from None
    except yaml.reader.ReaderError as error:
        line = text.count("\n", 0, error.position) + 1
        code = error.character if isinstance(error.character, int) else ord(error.character)
        problem = f"invalid YAML: the control character U+{code:04X} is not allowed in YAML text"
        raise ScreenplayError([ScreenplayIssue(source, line, "", problem)]) from None
    except yaml.YAMLError as error:
        raise ScreenplayError([ScreenplayIssue(source, None, "", f"invalid YAML: {error}")]) from None
    found = [ScreenplayIssue(source, line, format_loc(loc), message) for loc, line, message in duplicates]
    return validate_screenplay_data(
        data, source=source, lines=lines, base_dir=base_dir, allowed_dirs=allowed_dirs, found=found
    )


def validate_screenplay_data(
    data: Any,
    *,
    source: str = "<data>",
    lines: Mapping[tuple[Any, ...], int] | None = None,
    base_dir: Path | None = None,
    allowed_dirs: Sequence[Path] = (),
    found: Sequence[ScreenplayIssue] = (),
) -> Screenplay:
    """Validate already-parsed data: the one gate every screenplay change goes through
    (file imports and assistant proposals alike).

    Schema and cross-reference problems are reported together, sorted by line, with
    ``found`` (problems the parser saw, such as duplicate keys).
    """
    lines = lines or {}
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise ScreenplayError(
            [ScreenplayIssue(source, 1, "", f"a screenplay must be a mapping with a title, got {kind}")]
        )
    issues = list(found)
    screenplay: Screenplay | None = None
    try:
        screenplay = Screenplay.model_validate(data)
    except ValidationError as error:
        issues += [_issue_from_pydantic(e, source, lines) for e in error.errors()]
    issues += [
        ScreenplayIssue(source, _line_for(loc, lines), format_loc(loc), message)
        for loc, message in cross_check(data, base_dir=base_dir, allowed_dirs=allowed_dirs)
    ]
    if issues or screenplay is None:
        raise ScreenplayError(sorted(issues, key=lambda issue: issue.line or 0))
    return screenplay


def _environment_limits() -> YamlLimits:
    try:
        return limits_from_environment()
    except ValueError as error:
        raise ConfigurationError(str(error)) from None


def _too_large(limits: YamlLimits) -> str:
    return (
        f"the file is larger than the {limits.max_bytes:,}-byte limit for screenplays; split the show "
        f"into several files, or raise {MAX_BYTES_VARIABLE} if you trust this one"
    )


# ------------------------------------------------------------------------ error text


def _issue_from_pydantic(error: Any, source: str, lines: Mapping[tuple[Any, ...], int]) -> ScreenplayIssue:
    loc = tuple(error["loc"])
    # A BeforeValidator-wrapped list item adds a function name to loc; drop it.
    loc = tuple(part for part in loc if not (isinstance(part, str) and part.startswith("function-")))
    field = str(loc[-1]) if loc else "value"
    kind, value, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    if kind == "missing":
        message = f"missing required field '{field}'"
    elif kind == "extra_forbidden":
        message = f"unknown field '{field}'"
        parent_model = _model_at(loc[:-1])
        if parent_model is not None:
            close = difflib.get_close_matches(field, list(parent_model.model_fields), n=1)
            if close:
                message += f" (did you mean '{close[0]}'?)"
    elif kind == "literal_error":
        expected = ctx.get("expected", "").replace("'", "")
        message = f"unknown {field} {value!r}; use one of: {expected.replace(' or ', ', ')}"
    elif kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        words = {
            "greater_than": "greater than",
            "greater_than_equal": "at least",
            "less_than": "less than",
            "less_than_equal": "at most",
        }[kind]
        limit = next(iter(ctx.values()), "")
        limit = f"{limit:g}" if isinstance(limit, float) else limit
        message = f"{field} must be {words} {limit}, got {value!r}"
    elif kind in ("int_parsing", "int_type", "int_from_float"):
        message = f"{field} must be a whole number, got {value!r}"
    elif kind == "finite_number":
        message = f"{field} must be a finite number, got {value!r}"
    elif kind == "int_parsing_size":
        message = f"{field} is too large a number"
    elif kind in ("float_parsing", "float_type"):
        message = f"{field} must be a number, got {value!r}"
    elif kind in ("string_type",):
        message = f"{field} must be text, got {value!r}"
    elif kind in ("list_type",):
        message = f"{field} must be a list, got {type(value).__name__}"
    elif kind in ("model_type", "dict_type", "model_attributes_type"):
        message = f"{field} must be a mapping of fields, got {value!r}"
    elif kind in ("bool_parsing", "bool_type"):
        message = f"{field} must be true or false, got {value!r}"
    elif kind == "string_too_short":
        message = f"{field} must not be empty"
    elif kind == "value_error":
        message = str(ctx.get("error", error["msg"]))
        if field in ("width", "height", "number"):
            message = f"{field} {message}"
    else:
        message = f"{field}: {error['msg']}"
    return ScreenplayIssue(source, _line_for(loc, lines), format_loc(loc), message)


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model that lives at ``loc`` (for did-you-mean on unknown fields)."""
    model: type[BaseModel] = Screenplay
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        found = None
        for candidate in _types_in(field.annotation):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                found = candidate
        if found is None:
            return None
        model = found
    return model


def _types_in(annotation: Any) -> Iterable[Any]:
    yield annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        yield from _types_in(arg)
    origin_meta = getattr(annotation, "__origin__", None)
    if origin_meta is not None:
        yield origin_meta


def _line_for(loc: tuple[Any, ...], lines: Mapping[tuple[Any, ...], int]) -> int | None:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _line_index(
    node: yaml.Node | None,
) -> tuple[dict[tuple[Any, ...], int], list[tuple[tuple[Any, ...], int, str]]]:
    """Map every YAML path (keys and list indexes) to its 1-based line number, and list
    the keys written twice in one mapping (YAML keeps the last one silently)."""
    index: dict[tuple[Any, ...], int] = {}
    duplicates: list[tuple[tuple[Any, ...], int, str]] = []
    seen: set[int] = set()

    def walk(current: yaml.Node, path: tuple[Any, ...]) -> None:
        index.setdefault(path, current.start_mark.line + 1)
        if id(current) in seen:  # an alias: indexed where its anchor was
            return
        seen.add(id(current))
        if isinstance(current, yaml.MappingNode):
            keys: set[str] = set()
            for key_node, value_node in current.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    continue  # a complex key: construction reports it
                key = key_node.value
                line = key_node.start_mark.line + 1
                if key in keys and key != "<<":
                    duplicates.append((path + (key,), line, f"key {key!r} is given twice in this mapping"))
                keys.add(key)
                index[path + (key,)] = line
                walk(value_node, path + (key,))
                index[path + (key,)] = line
        elif isinstance(current, yaml.SequenceNode):
            for i, item in enumerate(current.value):
                walk(item, path + (i,))

    if node is not None:
        walk(node, ())
    return index, duplicates
