"""What the animatic reads in a screenplay's words: looks, poses, moves and places.

Small parsed vocabularies, not a language model: each reader looks for whole words (with
their usual endings) and returns a small frozen value the painters draw from. The words
as written win over the palette: "silver bob" is silver hair whatever the palette's
second colour is, and a "white fox, nine tails" is a white fox with nine tails.

* :func:`read_look` - a character's kind (human, fox, cat, dog, bird, robot, creature),
  hair colour and style, build and stature, tail count and the colour named for its body;
* :func:`read_pose` - legs (stand, walk, run, sit, kneel, crouch, jump) and arms (rest,
  point, hold, wave) from a pose or an action;
* :func:`read_travel` - whether an action moves a character across the frame, in or out;
* :func:`read_place` - a location layout (street, rooftop, garden, stairs, harbour,
  forest, mountain, room, shop, station, field) and the other features named with it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

__all__ = [
    "COLOR_WORDS",
    "LAYOUTS",
    "Look",
    "Place",
    "Pose",
    "find_color",
    "read_look",
    "read_place",
    "read_pose",
    "read_travel",
]

Color = tuple[int, int, int]

COLOR_WORDS: dict[str, Color] = {
    "silver": (204, 208, 218), "platinum": (232, 228, 212), "white": (242, 242, 238),
    "snow": (246, 246, 250), "grey": (138, 138, 146), "gray": (138, 138, 146),
    "ash": (160, 156, 150), "black": (30, 28, 34), "jet": (24, 22, 28), "ebony": (36, 30, 30),
    "brown": (108, 70, 42), "brunette": (98, 62, 38), "chestnut": (128, 66, 36),
    "auburn": (148, 52, 32), "red": (206, 38, 34), "redhead": (206, 38, 34),
    "crimson": (176, 18, 42), "scarlet": (222, 36, 30), "ginger": (216, 98, 38),
    "copper": (186, 98, 48), "orange": (238, 120, 36), "blonde": (238, 206, 112),
    "blond": (238, 206, 112), "golden": (228, 180, 58), "gold": (228, 180, 58),
    "yellow": (242, 214, 58), "pink": (244, 146, 188), "rose": (232, 120, 150),
    "magenta": (210, 40, 150), "purple": (122, 64, 168), "violet": (140, 88, 204),
    "lavender": (188, 160, 222), "blue": (48, 92, 204), "navy": (28, 38, 98),
    "teal": (28, 148, 148), "cyan": (58, 200, 214), "aqua": (72, 206, 206),
    "turquoise": (54, 196, 178), "green": (58, 148, 66), "emerald": (30, 140, 90),
    "mint": (150, 222, 184), "olive": (120, 124, 52), "tan": (196, 160, 112),
}  # fmt: skip
"""Colour words, RGB; each also matches with its usual endings (blond-e, -ish, -haired)."""

_HAIR_WORDS = ("hair", "haircut", "bob", "ponytail", "pony", "braid", "bun", "bangs", "locks",
               "twintails", "pigtails", "tails", "mane", "curls", "mohawk", "fringe")  # fmt: skip
_HAIR_STYLES = (  # first match wins
    ("spiky", r"spik\w*|spikes|mohawk"),
    ("twintails", r"twin[- ]?tails?|pigtails?|twin ponytails?"),
    ("ponytail", r"pony[- ]?tails?|pony"),
    ("bun", r"buns?|top[- ]?knot"),
    ("braid", r"braid\w*|plait\w*"),
    ("bob", r"bob\w*"),
    ("curly", r"curl\w*|afro|wavy"),
    ("bald", r"bald|shaved|shaven|buzz\w*"),
    ("long", r"long|flowing"),
    ("short", r"short|cropped|pixie"),
)
_KINDS = (  # (kind, words)
    ("fox", ("fox", "foxes", "kitsune", "vixen")),
    ("cat", ("cat", "cats", "kitten", "neko", "kitty")),
    ("dog", ("dog", "dogs", "puppy", "wolf", "wolves", "hound", "shiba")),
    ("bird", ("bird", "birds", "crow", "owl", "sparrow", "hawk", "eagle", "pigeon", "parrot")),
    ("robot", ("robot", "robots", "android", "droid", "automaton", "mech", "golem")),
    ("creature", ("creature", "spirit", "ghost", "slime", "monster", "yokai", "beast", "dragon",
                  "blob", "critter")),
)  # fmt: skip
_PEOPLE = ("girl", "boy", "man", "woman", "person", "kid", "child", "student", "courier",
           "runner", "teen", "teenager", "lady", "guy", "human", "hero", "heroine")  # fmt: skip
_NUMBERS = {"one": 1, "two": 2, "twin": 2, "three": 3, "four": 4, "five": 5, "six": 6,
            "seven": 7, "eight": 8, "nine": 9}  # fmt: skip
_BUILDS = (
    ("heavy", r"stocky|heavy\w*|burly|plump|chubby|round|big|large|portly|stout"),
    ("athletic", r"athletic|muscular|strong|broad\w*|sporty|fit"),
    ("slim", r"slim|slender|thin|lanky|wiry|skinny|lean|willowy"),
)
_STATURES = ((1.12, r"tall|towering|lanky"), (1.3, r"giant|huge|enormous"),
             (0.82, r"small|petite|tiny|little|child|kid|young|short"))  # fmt: skip


def _words(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"\b(?:{pattern})\b", re.IGNORECASE)


@functools.cache
def _color_pattern() -> re.Pattern[str]:
    names = "|".join(sorted(COLOR_WORDS, key=len, reverse=True))
    return re.compile(rf"\b({names})(?:e|ish|dish|-?haired|y)?\b", re.IGNORECASE)


def find_color(text: str) -> Color | None:
    """The first colour word in ``text``, or ``None``."""
    match = _color_pattern().search(text)
    return COLOR_WORDS[match.group(1).lower()] if match else None


def _phrases(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"[,.;:\n()]+| and | with ", text) if p.strip()]


@dataclass(frozen=True)
class Look:
    """How a character is drawn, from the words of the character sheet.

    Attributes:
        kind: ``human``, ``fox``, ``cat``, ``dog``, ``bird``, ``robot`` or ``creature``.
        hair_color: The colour named for the hair, or ``None`` (the palette decides).
        hair_style: ``short``, ``bob``, ``long``, ``ponytail``, ``twintails``, ``spiky``,
            ``bun``, ``braid``, ``curly`` or ``bald``.
        build: ``slim``, ``average``, ``athletic`` or ``heavy``.
        stature: Height relative to an average adult.
        tails: How many tails an animal has.
        coat: The colour named for a non-human body ("white fox"), or ``None``.
    """

    kind: str = "human"
    hair_color: Color | None = None
    hair_style: str = "short"
    build: str = "average"
    stature: float = 1.0
    tails: int = 1
    coat: Color | None = None


@functools.lru_cache(maxsize=256)
def read_look(hair: str, description: str) -> Look:
    """Read a character's look: ``hair`` as written, then the description and prompt tokens."""
    phrases = _phrases(description)
    hair_phrases = [hair] if hair else []
    hair_phrases += [p for p in phrases if re.search(rf"\b({'|'.join(_HAIR_WORDS)})\b", p, re.I)]
    hair_color = next((c for c in map(find_color, hair_phrases) if c is not None), None)
    style_text = " ".join(hair_phrases)
    hair_style = next((s for s, pattern in _HAIR_STYLES if _words(pattern).search(style_text)), "short")
    body_text = " ".join(p for p in phrases if p not in hair_phrases)
    build = next((b for b, pattern in _BUILDS if _words(pattern).search(body_text)), "average")
    stature = next((k for k, pattern in _STATURES if _words(pattern).search(body_text)), 1.0)
    kind, coat = _kind(phrases)
    tails = 1
    counted = re.search(r"\b(\d+|" + "|".join(_NUMBERS) + r")[- ]tail", description, re.I)
    if counted:
        word = counted.group(1).lower()
        tails = max(1, min(9, int(word) if word.isdigit() else _NUMBERS[word]))
    return Look(kind, hair_color, hair_style, build, stature, tails, coat)


def _kind(phrases: list[str]) -> tuple[str, Color | None]:
    """The creature a description opens with; a person named before it stays human."""
    for phrase in phrases[:2]:  # "A white fox, nine tails" / "quiet courier, silver bob"
        words = re.findall(r"[a-z]+", phrase.lower())
        for i, word in enumerate(words):
            if word in _PEOPLE:
                return "human", None
            kind = next((k for k, names in _KINDS if word in names), None)
            if kind is not None:
                return kind, find_color(" ".join(words[:i]))
    return "human", None


@dataclass(frozen=True)
class Pose:
    """A body pose: what the legs do and what the arms do.

    Attributes:
        legs: ``stand``, ``walk``, ``run``, ``sit``, ``kneel``, ``crouch`` or ``jump``.
        arms: ``rest``, ``point``, ``hold``, ``wave`` or ``up``.
    """

    legs: str = "stand"
    arms: str = "rest"

    @property
    def name(self) -> str:
        """The pose in one word: the arms' gesture on a standing figure, else the legs."""
        return self.arms if self.legs == "stand" and self.arms != "rest" else self.legs


_LEGS = (  # first match wins: the lower body first, then the moves
    ("crouch", r"hands on (?:\w+ )?knees|crouch\w*|squat\w*|(?:bent|doubled) over"
               r"|catch\w* (?:\w+ )?breath|pant\w*"),
    ("kneel", r"kneel\w*|knelt|on (?:one|both|\w+) knees?"),
    ("sit", r"sit|sits|sitting|sat|seated|perch\w*"),
    ("jump", r"jump\w*|leap\w*|lept|hop|hops|hopping|vault\w*|springs|springing"),
    ("run", r"run|runs|running|ran|sprint\w*|dash\w*|race|races|racing|chas\w*|flee\w*|rush\w*"),
    ("walk", r"walk\w*|stroll\w*|step\w*|pac(?:e|es|ing)|wander\w*|march\w*|strid\w*|cross(?:es|ing)"
             r"|enter\w*|leav\w*|exit\w*|approach\w*|arriv\w*"),
    ("stand", r"stand\w*|stood|lean\w*|wait\w*"),
)  # fmt: skip
_ARMS = (
    ("wave", r"wav(?:e|es|ing)|greet\w*|hail\w*"),
    ("point", r"point(?:s|ing|ed)?|gestur\w*|aim(?:s|ing)?"),
    ("hold", r"hold\w*|held|hands?(?! on)|carr\w*|offer\w*|giv\w*|gives|clutch\w*|grip\w*|present\w*"
             r"|letter|tucks?|reach\w*"),
    ("up", r"cheer\w*|celebrat\w*|arms up|raises? (?:\w+ )?arms"),
)  # fmt: skip


@functools.lru_cache(maxsize=512)
def read_pose(text: str) -> Pose | None:
    """The pose ``text`` names ("running", "holding out the letter"), or ``None``."""
    legs = next((name for name, p in _LEGS if _words(p).search(text)), None)
    arms = next((name for name, p in _ARMS if _words(p).search(text)), None)
    if legs is None and arms is None:
        return None
    if legs == "jump" and arms is None:
        arms = "up"
    if legs == "crouch":  # "hands on knees": the hands are taken
        arms = "rest"
    return Pose(legs or "stand", arms or "rest")


@functools.lru_cache(maxsize=512)
def read_travel(text: str) -> tuple[str, int]:
    """``(move, direction)``: move is ``across``, ``enter``, ``exit`` or ``""``;
    direction is -1 (to the left), +1 (to the right) or 0 (as the character faces)."""
    direction = 0
    if _words(r"(?:to|towards?) the left|leftward\w*|left").search(text):
        direction = -1
    elif _words(r"(?:to|towards?) the right|rightward\w*|right").search(text):
        direction = 1
    if _words(r"leav\w*|exit\w*|depart\w*|(?:walk|run|head)\w* (?:away|off)|disappear\w*").search(text):
        return "exit", direction
    if _words(r"enter\w*|arriv\w*|(?:walk|run|come|comes|burst)\w* in").search(text):
        return "enter", direction
    if _words(r"across|cross(?:es|ing)|through|along|past|toward\w*|to the (?:left|right)").search(text):
        return "across", direction
    return "", direction


LAYOUTS = (
    ("rooftop", r"roof\w*|terrace"),
    ("stairs", r"stair\w*|steps|staircase|stairway"),
    ("station", r"station|platform|train\w*|subway|metro|railway"),
    ("shop", r"shop\w*|store|cafe|café|bakery|bar|restaurant|kiosk|diner|boutique"),
    ("room", r"room|bedroom|classroom|kitchen|office|hall|house|home|apartment|library|corridor"
             r"|inside|interior|studio|temple|hallway|attic|lab"),
    ("harbour", r"harbou?r\w*|docks?|pier|port|wharf|marina|quay|sea|ocean|beach|shore|lake|river|bay"),
    ("street", r"street|road|alley\w*|avenue|city|town|village|crossing|market|downtown|school|tokyo"),
    ("garden", r"garden\w*|park|courtyard|yard|shrine|orchard"),
    ("forest", r"forest|woods?|jungle|grove|woodland"),
    ("mountain", r"mountain\w*|peaks?|cliff\w*|hills?|valley|pass|ridge"),
    ("field", r"field|meadow|plain|prairie|desert|farm"),
)  # fmt: skip
"""Location layouts, most specific first: the first one named is the place's layout."""


@dataclass(frozen=True)
class Place:
    """A location as a layout plus the other features named with it.

    Attributes:
        layout: The first of :data:`LAYOUTS` the location names (``field`` when none).
        features: Every layout named, layout included ("rooftop garden": rooftop, garden).
        indoor: The layout is a room or a shop.
    """

    layout: str
    features: frozenset[str]

    @property
    def indoor(self) -> bool:
        return self.layout in ("room", "shop")


@functools.lru_cache(maxsize=128)
def read_place(location: str) -> Place:
    """The layout and features a location's words name ("mountain town stone steps")."""
    named = [name for name, pattern in LAYOUTS if _words(pattern).search(location)]
    return Place(named[0] if named else "field", frozenset(named))
