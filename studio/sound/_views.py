"""What the report and the panels show of an episode's sound: its waveform with the
spoken lines marked, each line with its voice, the subtitles, and any failure.

Plain HTML strings and matplotlib figures (no pyplot, no IPython), built from the
episode's sound record (:func:`studio.sound.read_sound_record`).
"""

from __future__ import annotations

import base64
import html
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from studio.sound._episode import read_sound_record

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["lines_table_html", "sound_html", "subtitles_track_html", "waveform_figure", "waveform_png"]

WAVEFORM_COLUMNS = 1200  # peak pairs drawn, whatever the episode's length
WAVEFORM_RATE = 8000


def waveform_figure(video: Path, record: dict[str, Any]) -> Figure:
    """The episode's mixed audio as a min/max envelope, each line shaded and named."""
    from matplotlib.figure import Figure

    samples, rate = _episode_audio(video, record)
    figure = Figure(figsize=(6, 2.2))
    ax = figure.subplots()
    if len(samples):
        columns = max(1, min(WAVEFORM_COLUMNS, len(samples)))
        usable = len(samples) // columns * columns
        blocks = samples[:usable].reshape(columns, -1)
        times = np.arange(columns) * (usable / columns) / rate
        ax.fill_between(times, blocks.min(axis=1), blocks.max(axis=1), color="#3a6ea5", linewidth=0)
    for line in record.get("lines", []):
        ax.axvspan(line["episode_start"], line["episode_end"], color="#f4d35e", alpha=0.35, linewidth=0)
        ax.text(line["episode_start"], 0.92, line["speaker"], fontsize=6, va="top")
    ax.set_xlim(0, float(record.get("seconds") or (len(samples) / rate if rate else 1.0)))
    ax.set_ylim(-1, 1)
    ax.set_xlabel("seconds")
    ax.set_yticks([])
    ax.set_title("episode audio (yellow: dialogue)", fontsize=8)
    figure.tight_layout()
    return figure


def waveform_png(video: Path, record: dict[str, Any]) -> bytes:
    buffer = BytesIO()
    waveform_figure(video, record).savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def lines_table_html(record: dict[str, Any]) -> str:
    """One row per spoken line: when, who, in which voice, what."""
    rows = []
    for line in record.get("lines", []):
        voice = line["voice"]
        rows.append(
            f"<tr><td>{line['scene']}</td><td>{line['episode_start']:.2f}–{line['episode_end']:.2f} s</td>"
            f"<td>{html.escape(line['speaker'])}</td>"
            f"<td>{html.escape(voice['id'] or 'default')} · ×{voice['speed']:g} · {voice['pitch']:+g} st</td>"
            f"<td>{html.escape(line['text'])}</td><td>{'cached' if line['cached'] else 'spoken'}</td></tr>"
        )
    header = "<tr><th>scene</th><th>time</th><th>speaker</th><th>voice</th><th>line</th><th>speech</th></tr>"
    return f'<table class="studio-lines">{header}{"".join(rows)}</table>'


def subtitles_track_html(video: Path) -> str:
    """A ``<track>`` element carrying the episode's WebVTT subtitles (embedded)."""
    record = read_sound_record(video) or {}
    names = record.get("subtitles") or {}
    vtt = video.parent / names["vtt"] if names.get("vtt") else None
    if vtt is None or not vtt.is_file():
        return ""
    data = base64.b64encode(vtt.read_bytes()).decode()
    return f'<track kind="subtitles" srclang="en" label="English" default src="data:text/vtt;base64,{data}">'


def sound_html(video: Path, *, waveform: bool = True) -> str:
    """The episode's sound at a glance: failure or notes, waveform, lines, subtitles."""
    record = read_sound_record(video)
    if record is None:
        return "<p>This episode was rendered without sound.</p>"
    parts = []
    if record.get("error"):
        parts.append(
            f'<p class="studio-sound-error" style="color:#b00020"><b>Sound failed; the episode is '
            f"silent.</b> {html.escape(record['error'])}</p>"
        )
    for note in record.get("notes", []):
        parts.append(f'<p class="studio-sound-note">{html.escape(note)}</p>')
    if waveform and record.get("audio"):
        data = base64.b64encode(waveform_png(video, record)).decode()
        parts.append(f'<img class="studio-waveform" alt="waveform" src="data:image/png;base64,{data}">')
    if record.get("lines"):
        parts.append(lines_table_html(record))
    names = record.get("subtitles") or {}
    vtt = video.parent / names["vtt"] if names.get("vtt") else None
    if vtt is not None and vtt.is_file():
        parts.append(f'<pre class="studio-subtitles">{html.escape(vtt.read_text(encoding="utf-8"))}</pre>')
    return f'<div class="studio-sound">{"".join(parts)}</div>'


def _episode_audio(video: Path, record: dict[str, Any]) -> tuple[np.ndarray, int]:
    import av

    source = video.parent / record["audio"] if record.get("audio") else video
    if not source.is_file():
        return np.zeros(0, np.float32), 1
    chunks = []
    with av.open(str(source), mode="r") as container:
        if not container.streams.audio:
            return np.zeros(0, np.float32), 1
        stream = container.streams.audio[0]
        rate = WAVEFORM_RATE  # enough for a drawing, and small for an hour of sound
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        for frame in container.decode(stream):
            chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(frame)]
    return (np.concatenate(chunks) if chunks else np.zeros(0, np.float32)), rate
