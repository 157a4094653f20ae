"""The editor timeline: an episode as an OpenTimelineIO file (``studio export-timeline``).

One video track holds one clip per chosen segment take, pointing at its source file
(trimmed of its seam duplicate), with the scene transitions between them; one audio
track holds the dialogue, a clip per line (from the episode's dialogue stem), and one
the finished mix. Segments kept for review, and user notes on them, become markers.
The ``.otio`` file opens in OTIO-capable editors (DaVinci Resolve, Kdenlive) directly
or through OTIO's adapters (FCP XML, EDL…).

Transitions follow OTIO's model: the cut sits ``k = d // 2`` frames into the ``d``
overlapped frames; ``in_offset = k`` frames of the incoming scene before the cut and
``out_offset = d - k`` of the outgoing scene after it come from the clips' handles.
The track's duration is therefore exactly the stitched episode's frame count.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from studio._exceptions import ConfigurationError, NotFoundError
from studio.project._screenplay import SceneSpec
from studio.render._pipeline import TRANSITION_SECONDS
from studio.storage._models import QualityFeedbackModel, SegmentModel
from studio.storage._queries import find_or_raise_episode, find_or_raise_project

if TYPE_CHECKING:
    import opentimelineio as otio

    from studio._studio import Studio

__all__ = ["export_timeline"]

_TRANSITION_TYPES = {"dissolve": "SMPTE_Dissolve", "fade": "Custom", "wipe": "Custom"}


def export_timeline(
    studio: Studio, *, episode: int, project: str | None = None, out: Path | None = None
) -> Path:
    """Write the episode's timeline as ``.otio`` (default: beside the episode mp4).

    The file's suffix picks the OTIO adapter: ``.otio`` (JSON), or any installed adapter
    plugin's (``.xml`` with otio-fcp-adapter, ``.edl`` with otio-cmx3600-adapter…).

    Raises:
        NotFoundError: unknown project or episode, or an episode not rendered yet.
        ConfigurationError: no installed adapter writes the file's suffix.
    """
    import opentimelineio as otio

    home = studio.home
    with studio.database.session() as session:
        project_row = find_or_raise_project(session, project)
        row = find_or_raise_episode(session, project_row, episode)
        if not row.final_video_path or not (home / row.final_video_path).is_file():
            raise NotFoundError(
                f"episode {episode} of {project_row.title!r} has not been rendered; "
                f"run `studio render --episode {episode}` first"
            )
        fps = float(project_row.target_fps or 24)
        video = home / row.final_video_path
        title = f"{project_row.title} - episode {episode}" + (f": {row.title}" if row.title else "")
        scenes = []
        for scene in row.scenes:
            spec = SceneSpec.model_validate(scene.spec)
            takes = []
            for segment in scene.segments:
                if not segment.output_video_path:
                    raise NotFoundError(
                        f"scene {scene.scene_number} segment {segment.segment_number} has no video"
                    )
                takes.append(_take(session, home, segment))
            scenes.append((spec, takes))
    timeline = otio.schema.Timeline(name=title, global_start_time=otio.opentime.RationalTime(0, fps))
    timeline.tracks.append(_video_track(scenes, fps))
    from studio.sound import read_sound_record

    record = read_sound_record(video)
    if record and record.get("dialogue"):
        timeline.tracks.append(_dialogue_track(record, video.parent, fps))
    if record and record.get("audio"):
        mix = otio.schema.Track(name="Mix", kind=otio.schema.TrackKind.Audio)
        mix.append(
            _file_clip("mix", video.parent / record["audio"], 0, round(float(record["seconds"]) * fps), fps)
        )
        timeline.tracks.append(mix)
    timeline.metadata["studio"] = {"project": project_row.title, "episode": episode, "video": str(video)}
    target = out or video.with_suffix(".otio")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        otio.adapters.write_to_file(timeline, str(target))
    except otio.exceptions.NoKnownAdapterForExtensionError:
        known = ", ".join(otio.adapters.available_adapter_names())
        raise ConfigurationError(
            f"no OpenTimelineIO adapter writes {target.suffix!r} files (installed: {known}); "
            "write .otio (DaVinci Resolve and Kdenlive import it) or install an adapter: "
            "pip install otio-fcp-adapter (.xml) or otio-cmx3600-adapter (.edl)"
        ) from None
    except otio.exceptions.OTIOError as error:  # an adapter that cannot hold this timeline
        raise ConfigurationError(
            f"the {target.suffix!r} adapter cannot write this timeline ({error}); write .otio instead"
        ) from error
    return target


def _take(session: Any, home: Path, segment: SegmentModel) -> dict[str, Any]:
    notes = [
        note
        for note in session.scalars(
            select(QualityFeedbackModel.user_notes).where(QualityFeedbackModel.segment_id == segment.id)
        )
        if note
    ]
    if segment.status == "review":
        reasons = ((segment.scores or {}).get("decision") or {}).get("reasons") or []
        notes.insert(0, "review: " + ("; ".join(reasons) or "kept for review"))
    path = home / str(segment.output_video_path)
    frames = segment.frame_count or _count_frames(path)
    return {
        "name": f"scene {segment.scene.scene_number} segment {segment.segment_number}",
        "path": path,
        "first": 1 if segment.leading_duplicate else 0,
        "frames": frames,
        "notes": notes,
        "status": segment.status,
        "segment_id": segment.id,
    }


def _count_frames(path: Path) -> int:
    from studio._video import probe

    return probe(path).frames


def _video_track(scenes: list[tuple[SceneSpec, list[dict[str, Any]]]], fps: float) -> otio.schema.Track:
    import opentimelineio as otio

    track = otio.schema.Track(name="Video", kind=otio.schema.TrackKind.Video)
    overlaps = [
        0 if spec.transition == "cut" or n == len(scenes) - 1 else round(TRANSITION_SECONDS * fps)
        for n, (spec, _) in enumerate(scenes)
    ]
    for n, (spec, takes) in enumerate(scenes):
        d_in = overlaps[n - 1] if n else 0
        d_out = overlaps[n]
        if d_in:
            k = d_in // 2
            previous = scenes[n - 1][0].transition
            transition = otio.schema.Transition(
                name=f"{previous} into scene {spec.number}",
                transition_type=_TRANSITION_TYPES.get(previous, "Custom"),
                in_offset=otio.opentime.RationalTime(k, fps),
                out_offset=otio.opentime.RationalTime(d_in - k, fps),
                metadata={"studio": {"transition": previous}},
            )
            track.append(transition)
        for t, take in enumerate(takes):
            start, stop = take["first"], take["frames"]
            if t == 0 and d_in:
                start += d_in // 2  # the incoming handle: frames before the cut
            if t == len(takes) - 1 and d_out:
                stop -= d_out - d_out // 2  # the outgoing handle: frames after the cut
            clip = _file_clip(take["name"], take["path"], start, stop - start, fps, available=take["frames"])
            clip.metadata["studio"] = {"segment_id": take["segment_id"], "status": take["status"]}
            for note in take["notes"]:
                clip.markers.append(
                    otio.schema.Marker(
                        name=note[:120],
                        marked_range=clip.source_range,
                        color="RED" if note.startswith("review") else "YELLOW",
                        comment=note,
                    )
                )
            track.append(clip)
    return track


def _file_clip(
    name: str, path: Path, start: float, duration: float, rate: float, *, available: float | None = None
) -> otio.schema.Clip:
    import opentimelineio as otio

    reference = otio.schema.ExternalReference(target_url=path.resolve().as_uri())
    if available is not None:
        reference.available_range = otio.opentime.TimeRange(
            otio.opentime.RationalTime(0, rate), otio.opentime.RationalTime(available, rate)
        )
    return otio.schema.Clip(
        name=name,
        media_reference=reference,
        source_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(start, rate), otio.opentime.RationalTime(duration, rate)
        ),
    )


def _dialogue_track(record: dict[str, Any], folder: Path, fps: float) -> otio.schema.Track:
    """One clip per spoken line, cut from the dialogue stem at the line's episode time."""
    import opentimelineio as otio

    rate = float(record.get("sample_rate") or 48_000)
    stem = folder / record["dialogue"]
    track = otio.schema.Track(name="Dialogue", kind=otio.schema.TrackKind.Audio)
    cursor = 0
    for line in record["lines"]:
        start, end = round(line["episode_start"] * rate), round(line["episode_end"] * rate)
        if start > cursor:
            track.append(
                otio.schema.Gap(
                    source_range=otio.opentime.TimeRange(
                        otio.opentime.RationalTime(0, rate), otio.opentime.RationalTime(start - cursor, rate)
                    )
                )
            )
        clip = _file_clip(f"{line['speaker']}: {line['text']}", stem, start, end - start, rate)
        clip.metadata["studio"] = {"scene": line["scene"], "voice": line["voice"], "text": line["text"]}
        track.append(clip)
        cursor = end
    return track
