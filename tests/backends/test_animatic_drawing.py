"""What the animatic draws: looks, poses, moves, places, light and shots, as written.

Pixels are checked against a second rendering that differs in one thing only (the
character removed, the line not spoken, the hair unwritten), so each test looks at
exactly what the words changed.
"""

from __future__ import annotations

import colorsys
import dataclasses

import cv2
import numpy as np
import pytest

from studio._config import Settings
from studio._studio import Studio
from studio.backends import CharacterInShot, DialogueLine, SceneContext, render_still
from studio.backends._animatic_figures import pose_at, x_at
from studio.backends._animatic_render import _background, _camera, plan_scene
from studio.backends._animatic_words import read_look, read_place, read_pose, read_travel
from studio.render._prepare import prepare_episode

W, H = 256, 160
DAY = SceneContext(project="t", episode=1, scene=1, location="open field", time_of_day="day",
                   camera_angle="full shot", duration_seconds=4.0)  # fmt: skip
HERO = CharacterInShot("Luna", ("#3fb7b0", "#f4d35e", "#1b2a41"), hair="silver bob", position="left")
RIVAL = CharacterInShot("Kai", ("#ee6c4d", "#293241"), hair="spiky red", position="right")


def _with(*characters: CharacterInShot, **changes: object) -> SceneContext:
    return dataclasses.replace(DAY, characters=characters, **changes)  # type: ignore[arg-type]


def _changed(a: np.ndarray, b: np.ndarray, level: int = 12) -> np.ndarray:
    """Where two frames differ by more than ``level`` in some channel (caption band excluded)."""
    mask = np.abs(a.astype(np.int16) - b).max(axis=2) > level
    mask[int(H * 0.8) :] = False
    return mask


def _figures_only(mask: np.ndarray) -> np.ndarray:
    """``mask`` without the name tags: small, solid rectangles."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8))
    keep = np.zeros(count, bool)
    for i in range(1, count):
        x, y, w, h, area = stats[i]
        keep[i] = not (h < 0.12 * H and area > 0.8 * w * h)
    return keep[labels]


def _luma(img: np.ndarray) -> float:
    return float((img @ np.array([0.299, 0.587, 0.114])).mean())


# --------------------------------------------------------------------------- the words


@pytest.mark.parametrize(
    ("hair", "description", "color", "style"),
    [
        ("silver bob", "", "silver", "bob"),
        ("spiky red", "", "red", "spiky"),
        ("", "a quiet courier, long black hair and blue eyes", "black", "long"),
        ("", "short girl with blonde twin tails", "blonde", "twintails"),
        ("", "silver bob haircut, amber eyes", "silver", "bob"),
        ("", "a courier who reads the tides", None, "short"),
    ],
)
def test_hair_is_read_from_the_hair_field_then_the_prompt(
    hair: str, description: str, color: str | None, style: str
) -> None:
    from studio.backends._animatic_words import COLOR_WORDS

    look = read_look(hair, description)
    assert look.hair_color == (COLOR_WORDS[color] if color else None)
    assert look.hair_style == style
    assert look.kind == "human"


@pytest.mark.parametrize(
    ("description", "kind", "tails", "coat"),
    [
        ("A white fox, nine tails", "fox", 9, (242, 242, 238)),
        ("a black cat", "cat", 1, (30, 28, 34)),
        ("a rusty old robot", "robot", 1, None),
        ("a small blue bird", "bird", 1, (48, 92, 204)),
        ("a wandering forest spirit", "creature", 1, None),
        ("a girl with her cat", "human", 1, None),  # a person named first stays a person
        ("catches the train", "human", 1, None),  # whole words only
    ],
)
def test_creatures_named_in_the_description(
    description: str, kind: str, tails: int, coat: tuple[int, int, int] | None
) -> None:
    look = read_look("", description)
    assert (look.kind, look.tails, look.coat) == (kind, tails, coat)


def test_build_and_stature() -> None:
    assert read_look("", "slim build").build == "slim"
    assert read_look("", "athletic, freckles").build == "athletic"
    assert read_look("", "a tall stocky baker").build == "heavy"
    assert read_look("", "a tall stocky baker").stature > 1.0
    assert read_look("short", "a small child").stature < 1.0
    assert read_look("short hair", "").stature == 1.0  # "short" hair is not a short person


@pytest.mark.parametrize(
    ("text", "legs", "arms"),
    [
        ("standing", "stand", "rest"),
        ("walking", "walk", "rest"),
        ("runs", "run", "rest"),
        ("sprinting for the train", "run", "rest"),
        ("sitting on the bench", "sit", "rest"),
        ("kneels by the river", "kneel", "rest"),
        ("they leap a gap between buildings", "jump", "up"),
        ("points at the sky", "stand", "point"),
        ("holding out the letter", "stand", "hold"),
        ("Kai hands Luna the letter", "stand", "hold"),
        ("waves goodbye", "stand", "wave"),
        ("hands on knees", "crouch", "rest"),
        ("walks in waving", "walk", "wave"),
    ],
)
def test_pose_vocabulary(text: str, legs: str, arms: str) -> None:
    pose = read_pose(text.lower())
    assert pose is not None and (pose.legs, pose.arms) == (legs, arms)


def test_words_without_a_pose() -> None:
    assert read_pose("turns to the sea") is None
    assert read_pose("arms crossed") is None  # crossed arms are no walk
    assert read_pose("pointy ears") is None
    assert read_pose("hands on hips") is None  # not holding anything
    assert read_travel("goes to the window") == ("", 0)
    assert read_travel("appears worried") == ("", 0)
    assert read_travel("looks at the sky") == ("", 0)
    assert read_travel("walks across the street") == ("across", 0)
    assert read_travel("runs off to the left") == ("exit", -1)
    assert read_travel("enters from the right") == ("enter", 1)


@pytest.mark.parametrize(
    ("location", "layout", "features"),
    [
        ("rooftop garden", "rooftop", {"rooftop", "garden"}),
        ("Mountain town stone steps", "stairs", {"stairs", "street", "mountain"}),
        ("harbour rooftops", "rooftop", {"rooftop", "harbour"}),
        ("the old harbour docks", "harbour", {"harbour"}),
        ("city street", "street", {"street"}),
        ("forest path", "forest", {"forest"}),
        ("mountain pass", "mountain", {"mountain"}),
        ("Aiko's bedroom", "room", {"room"}),
        ("corner shop", "shop", {"shop"}),
        ("train station platform", "station", {"station"}),
        ("somewhere", "field", set()),
    ],
)
def test_place_layouts(location: str, layout: str, features: set[str]) -> None:
    place = read_place(location.lower())
    assert place.layout == layout and place.features == features


# --------------------------------------------------------------------------- figures


def _hsv_of(rgb: np.ndarray) -> tuple[float, float, float]:
    h, s, v = colorsys.rgb_to_hsv(*(float(c) / 255 for c in rgb))
    return h * 360, s, v


HAIR_CHECKS = {  # independent of the vocabulary's table: what the word means to a reader
    "silver": lambda h, s, v: s < 0.15 and v > 0.7,
    "red": lambda h, s, v: (h < 15 or h > 345) and s > 0.6,
    "black": lambda h, s, v: v < 0.25,
    "blonde": lambda h, s, v: 35 <= h <= 55 and 0.3 < s < 0.75 and v > 0.8,
    "blue": lambda h, s, v: 200 <= h <= 240 and s > 0.5,
    "pink": lambda h, s, v: 315 <= h <= 350,
    "green": lambda h, s, v: 90 <= h <= 150,
    "white": lambda h, s, v: s < 0.1 and v > 0.9,
    "brown": lambda h, s, v: 15 <= h <= 40 and 0.25 < v < 0.6,
}


@pytest.mark.parametrize(
    ("hair", "description", "word"),
    [
        ("silver bob", "", "silver"),
        ("spiky red", "", "red"),
        ("", "quiet courier, long black hair", "black"),
        ("blonde ponytail", "", "blonde"),
        ("", "a student, short blue hair", "blue"),
        ("pink twin tails", "", "pink"),
        ("green curls", "", "green"),
        ("white bun", "", "white"),
        ("brown braid", "", "brown"),
    ],
)
@pytest.mark.parametrize("facing", ["camera", "right", "away"])
def test_hair_colour_matches_the_words(hair: str, description: str, word: str, facing: str) -> None:
    # The palette's second colour is a loud yellow: the words must win over it.
    written = CharacterInShot("Aiko", ("#3a86ff", "#ffd60a", "#222222"), hair=hair, description=description,
                              facing=facing, position="center")  # fmt: skip
    # The same hair in another colour: the pixels that change are the hair's.
    other = "green" if word != "green" else "red"
    recoloured = dataclasses.replace(
        written, hair=hair.replace(word, other), description=description.replace(word, other)
    )
    a, b = render_still(_with(written), W, H, 1.0), render_still(_with(recoloured), W, H, 1.0)
    mask = _changed(a, b)
    assert mask.sum() > 30, "the hair is drawn"
    h, s, v = _hsv_of(np.median(a[mask], axis=0))
    assert HAIR_CHECKS[word](h, s, v), (word, round(h), round(s, 2), round(v, 2))


def test_without_hair_words_the_palette_colours_the_hair() -> None:
    plain = CharacterInShot("Aiko", ("#3a86ff", "#ffd60a"), position="center")
    black = dataclasses.replace(plain, palette=("#3a86ff", "#000000"))
    a, b = render_still(_with(plain), W, H, 1.0), render_still(_with(black), W, H, 1.0)
    h, s, v = _hsv_of(np.median(a[_changed(a, b)], axis=0))
    assert 45 <= h <= 60 and s > 0.8  # #ffd60a


def test_a_fox_is_not_a_person() -> None:
    fox = CharacterInShot("Hoshi", ("#f1faee",), description="A white fox, nine tails", position="center")
    person = dataclasses.replace(fox, description="a courier")
    empty = _with()
    fox_mask = _changed(render_still(_with(fox), W, H, 1.0), render_still(empty, W, H, 1.0))
    person_mask = _changed(render_still(_with(person), W, H, 1.0), render_still(empty, W, H, 1.0))
    ys, xs = np.nonzero(fox_mask)
    py, px = np.nonzero(person_mask)
    # Lying along the ground rather than standing tall: wider than high, a person the other way.
    assert np.ptp(xs) > np.ptp(ys) * 1.2 and np.ptp(py) > np.ptp(px) * 1.5


def _silhouette(action: str) -> np.ndarray:
    character = dataclasses.replace(HERO, action=action, position="center", facing="right")
    return _figures_only(
        _changed(render_still(_with(character), W, H, 0.3), render_still(_with(), W, H, 0.3))
    )


def test_each_pose_has_its_own_silhouette() -> None:
    words = ["standing", "walking", "running", "sitting", "kneeling", "jumping", "pointing",
             "holding a letter", "waving"]  # fmt: skip
    masks = {word: _silhouette(word) for word in words}
    for i, a in enumerate(words):
        for b in words[i + 1 :]:
            differing = (masks[a] ^ masks[b]).sum() / max(1, (masks[a] | masks[b]).sum())
            assert differing > 0.08, (a, b)
    rows = {word: np.nonzero(mask.any(axis=1))[0] for word, mask in masks.items()}
    assert rows["sitting"][0] > rows["standing"][0]  # lower head
    assert rows["kneeling"][0] > rows["standing"][0]
    jumper = _with(dataclasses.replace(HERO, action="jumping", position="center"))
    tops = [
        np.nonzero(
            _figures_only(_changed(render_still(jumper, W, H, t), render_still(_with(), W, H, t))).any(axis=1)
        )[0][0]
        for t in np.arange(0.0, 1.2, 0.1)
    ]
    assert max(tops) - min(tops) > H * 0.06  # up in the air and back down again


def test_an_exiting_character_leaves_the_frame() -> None:
    leaving = dataclasses.replace(RIVAL, exits=True)
    scene, without = _with(HERO, leaving), _with(HERO)
    start, end = 0.0, scene.duration_seconds - 1 / 24
    assert not np.array_equal(render_still(scene, W, H, start), render_still(without, W, H, start))
    assert np.array_equal(render_still(scene, W, H, end), render_still(without, W, H, end))
    fig = plan_scene(scene, W, H).figures[1]
    assert x_at(fig, end) > x_at(fig, start)  # out by the nearer, right-hand side


def test_an_entrance_starts_outside_the_frame() -> None:
    arriving = dataclasses.replace(RIVAL, action="walks in")
    scene, without = _with(HERO, arriving), _with(HERO)
    assert np.array_equal(render_still(scene, W, H, 0.0), render_still(without, W, H, 0.0))
    assert not np.array_equal(render_still(scene, W, H, 3.0), render_still(without, W, H, 3.0))


def test_a_walk_across_moves_the_figure() -> None:
    walker = dataclasses.replace(HERO, action="walks across the street", facing="right")
    fig = plan_scene(_with(walker), W, H).figures[0]
    assert x_at(fig, 4.0) - x_at(fig, 0.0) > 0.3 * W
    standing = plan_scene(_with(HERO), W, H).figures[0]
    assert x_at(standing, 4.0) == x_at(standing, 0.0)
    long_walk = plan_scene(_with(walker, duration_seconds=12.0), W, H).figures[0]
    arrived = long_walk.travel[-1].end
    assert arrived < 12.0 and pose_at(long_walk, arrived + 1)[1].pose.legs == "stand"  # there: stops
    arriving = plan_scene(_with(dataclasses.replace(RIVAL, action="walks in")), W, H).figures[0]
    assert pose_at(arriving, 0.5)[1].pose.legs == "walk" and pose_at(arriving, 3.9)[1].pose.legs == "stand"


def test_the_scene_actions_name_who_moves() -> None:
    scene = _with(HERO, RIVAL, actions=("Kai hands Luna the letter", "they leap a gap"))
    luna, kai = plan_scene(scene, W, H).figures
    assert [s.pose.name for s in kai.spans] == ["stand", "hold", "jump"]
    assert [s.pose.name for s in luna.spans] == ["stand", "jump"]
    assert x_at(luna, 4.0) == x_at(luna, 0.0)  # nobody said to move
    crossing = _with(HERO, RIVAL, actions=("they wait", "Luna walks across to the right"))
    luna, kai = plan_scene(crossing, W, H).figures
    assert x_at(luna, 2.0) == x_at(luna, 0.0) < x_at(luna, 4.0)  # in the second half, only she walks
    assert x_at(kai, 4.0) == x_at(kai, 0.0)


def test_the_speaker_moves_their_mouth() -> None:
    w, h = 2 * W, 2 * H  # a mouth is a few pixels: look closer
    line = (DialogueLine("Luna", "We made it."),)
    speaking, quiet = _with(HERO, RIVAL, dialogue=line), _with(HERO, RIVAL)
    diff = np.abs(render_still(speaking, w, h, 1.0).astype(np.int16) - render_still(quiet, w, h, 1.0)).max(
        axis=2
    )
    ys, xs = np.nonzero(diff[: int(h * 0.8)] > 20)
    assert len(xs) > 0
    plan = plan_scene(speaking, w, h)
    luna_x = plan.figures[0].x - (plan.world.shape[1] - w) / 2
    assert abs(xs.mean() - luna_x) < w * 0.05 and np.ptp(ys) < h * 0.08  # only Luna's mouth
    box = (slice(ys.min() - 2, ys.max() + 3), slice(xs.min() - 2, xs.max() + 3))
    frames = [render_still(speaking, w, h, t)[box].astype(np.int16) for t in (1.0, 1.05, 1.1, 1.15)]
    assert (
        max(np.abs(a - b).max() for a, b in zip(frames, frames[1:], strict=False)) > 20
    )  # it opens and shuts


# --------------------------------------------------------------------------- places, light, shots


def test_places_look_different() -> None:
    scenes = {loc: render_still(_with(location=loc), W, H, 0.0)
              for loc in ("mountain town stone steps", "rooftop garden", "city street", "forest path",
                          "harbour docks", "bedroom")}  # fmt: skip
    names = list(scenes)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert np.abs(scenes[a].astype(np.int16) - scenes[b]).mean() > 12, (a, b)


def test_night_is_dark_fog_hides_depth_and_rain_darkens() -> None:
    street = _with(location="old town street")
    day = render_still(street, W, H, 0.0)
    night = render_still(dataclasses.replace(street, time_of_day="night"), W, H, 0.0)
    dusk = render_still(dataclasses.replace(street, time_of_day="dusk"), W, H, 0.0)
    night_fog = render_still(dataclasses.replace(street, time_of_day="night", weather="fog"), W, H, 0.0)
    fog = render_still(dataclasses.replace(street, weather="thick fog"), W, H, 0.0)
    rain = render_still(dataclasses.replace(street, weather="rain"), W, H, 0.0)
    assert _luma(night) < 0.45 * _luma(day)
    assert _luma(night_fog) < 0.6 * _luma(dusk)  # a foggy night is still a night, not a dusk
    assert np.std(night_fog) > 3.0  # not a black frame either
    assert _luma(rain) < 0.85 * _luma(day)
    far = slice(int(H * 0.25), int(H * 0.5))  # the buildings behind the street
    assert fog[far].std() < 0.5 * day[far].std()


def test_shot_sizes_frame_the_characters() -> None:
    left = (dataclasses.replace(HERO, position="far left"), dataclasses.replace(RIVAL, position="left"))
    scene = _with(*left, location="city street", dialogue=(DialogueLine("Kai", "Here."),))
    sizes = {}
    for angle in ("wide", "medium", "close-up"):
        plan = plan_scene(dataclasses.replace(scene, camera_angle=angle), W, H)
        cx, cy, _, s = _camera(plan, 0.0)
        xs = [W / 2 + (f.x - cx) * s for f in plan.figures]
        heads = [H / 2 + (f.feet_y - f.height - cy) * s for f in plan.figures]
        sizes[angle] = plan.figures[0].height * s
        if angle == "medium":  # the group in the middle of the frame, heads and feet in it
            assert abs(sum(xs) / 2 - W / 2) < 0.05 * W and min(heads) > 0
            assert H / 2 + (plan.figures[0].feet_y - cy) * s < H
        if angle == "close-up":  # on the speaker, Kai: his red hair fills the top of the frame
            assert abs(xs[1] - W / 2) < 0.05 * W
            img = render_still(dataclasses.replace(scene, camera_angle=angle), W, H, 0.0)
            top = img[: H // 3, W // 3 : 2 * W // 3].reshape(-1, 3).astype(int)
            red = (top[:, 0] > 150) & (top[:, 1] < 90) & (top[:, 2] < 90)
            assert red.mean() > 0.15
    assert sizes["wide"] < sizes["medium"] < sizes["close-up"]
    assert sizes["close-up"] > 1.2 * H  # a head and shoulders, not a whole figure


def test_pipeline_hands_the_character_sheet_to_the_backend(sqlite_settings: Settings) -> None:
    with Studio.open(settings=sqlite_settings, upgrade=True) as studio:
        studio.import_demo()
        briefs = prepare_episode(studio, episode=1)
    first, _, last = (b.context for b in briefs)
    luna = next(c for c in first.characters if c.name == "Luna")
    assert luna.hair == "silver bob" and "silver bob haircut" in luna.description
    assert first.actions == ("Kai hands Luna the letter", "Luna tucks it into her jacket")
    assert [c.exits for c in last.characters] == [False, True]
    # Drawn in plain daylight, the demo's hair is the colour its words say: silver, red.
    plain = dataclasses.replace(first, time_of_day="day", lighting="", mood="", camera_movement="static")
    for character, word in zip(plain.characters, ("silver", "red"), strict=True):
        recoloured = dataclasses.replace(character, hair=character.hair.replace(word, "green"),
                                         description=character.description.replace(word, "green"))  # fmt: skip
        other = dataclasses.replace(
            plain, characters=tuple(recoloured if c is character else c for c in plain.characters)
        )
        a, b = render_still(plain, W, H, 1.0), render_still(other, W, H, 1.0)
        assert HAIR_CHECKS[word](*_hsv_of(np.median(a[_changed(a, b)], axis=0))), character.name


@pytest.mark.parametrize(
    "changes",
    [
        {"duration_seconds": 0.0},
        {"duration_seconds": 0.3},
        {"camera_angle": "extreme close-up", "camera_movement": "zoom out"},
        {"camera_angle": "low angle wide", "camera_movement": "tilt up"},
        {"location": "", "title": ""},
        {"actions": ("", "everyone runs across", "Nobody here leaves")},
    ],
)
def test_odd_scenes_still_render(changes: dict[str, object]) -> None:
    crowd = tuple(
        CharacterInShot(f"C{i}", (), position="center", action=action, exits=i == 2, description=description)
        for i, (action, description) in enumerate(
            [("enters", ""), ("walks across", "a robot"), ("", "a white fox, 99 tails"), ("jumps", "a cat")]
        )
    )
    scene = _with(*crowd, **changes)
    for width, height in ((16, 16), (W, H)):
        for t in (-1 / 24, 0.0, 0.2, 5.0, 100.0):
            frame = render_still(scene, width, height, t)
            assert frame.shape == (height, width, 3)


def test_a_static_camera_reuses_its_background_pixel_for_pixel() -> None:
    scene = _with(HERO, camera_movement="static", location="city street")
    plan = plan_scene(scene, W, H)
    first = render_still(scene, W, H, 0.5)  # draws and keeps the background
    cx, cy, s, _ = _camera(plan, 0.5)
    assert plan.still is not None and np.array_equal(plan.still, _background(plan, cx, cy, s))
    assert np.array_equal(render_still(scene, W, H, 0.5), first)
