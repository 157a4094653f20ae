"""Subtitles from the spoken lines: WebVTT and SRT text, one cue per line.

Cue times are the line's real spoken times in the episode (the trimmed speech's first
and last audible sample), to the millisecond.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Cue", "parse_cue_times", "srt_text", "webvtt_text"]


@dataclass(frozen=True)
class Cue:
    start: float  # seconds into the episode
    end: float
    speaker: str
    text: str


def _clock(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def webvtt_text(cues: Sequence[Cue]) -> str:
    blocks = ["WEBVTT", ""]
    for number, cue in enumerate(cues, 1):
        blocks += [
            str(number),
            f"{_clock(cue.start, '.')} --> {_clock(cue.end, '.')}",
            f"<v {_escape_vtt(cue.speaker)}>{_escape_vtt(cue.text)}",
            "",
        ]
    return "\n".join(blocks)


def srt_text(cues: Sequence[Cue]) -> str:
    blocks = []
    for number, cue in enumerate(cues, 1):
        blocks += [
            str(number),
            f"{_clock(cue.start, ',')} --> {_clock(cue.end, ',')}",
            f"{cue.speaker}: {cue.text}",
            "",
        ]
    return "\n".join(blocks)


def _escape_vtt(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def parse_cue_times(text: str) -> list[tuple[float, float]]:
    """``(start, end)`` of every cue of a WebVTT or SRT text (for checks and the panels)."""
    times = []
    for line in text.splitlines():
        if "-->" not in line:
            continue
        left, right = (part.strip().split(" ")[0] for part in line.split("-->"))
        times.append((_seconds(left), _seconds(right)))
    return times


def _seconds(clock: str) -> float:
    hours, minutes, rest = clock.replace(",", ".").split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(rest)
