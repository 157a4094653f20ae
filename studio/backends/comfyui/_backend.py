"""The ``comfyui`` backend: a :class:`~studio.backends.Backend` on a pool of servers.

For one segment it: picks the template (``request.parameters["template"]``, else the
backend's, else :data:`DEFAULT_TEMPLATE`); rounds the length to the engine's frame rule
and the size to the template's multiple (and says so in progress and metadata); when the
template needs a start image and the request has none, first renders one with the
template's keyframe template; then, on the least-loaded healthy server, checks the graph
against ``/object_info``, frees VRAM if the server last ran another model family, uploads
the start/end images, submits, follows the sampler's steps as progress, and downloads the
video and the last-frame PNG into ``request.output_dir`` (which must be inside the studio
home). A server that dies mid-job has the whole job re-run on another server.

Files: ``segment_NNN.mp4``, ``segment_NNN_last.png`` (the server's lossless PNG of the
last frame), ``segment_NNN_first.png`` (decoded from the video), and
``segment_NNN_keyframe.png`` when a keyframe was generated.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from studio._config import Settings
from studio._exceptions import AnalysisError, BackendError, ConfigurationError
from studio._video import iter_frames, probe, write_png
from studio.backends._base import (
    ProgressCallback,
    ProgressEvent,
    SegmentRequest,
    SegmentResult,
    preview_path,
    register_backend,
)
from studio.backends.comfyui._client import Preview, RunProgress, RunResult
from studio.backends.comfyui._escalation import retry_changes
from studio.backends.comfyui._exceptions import ComfyError, ComfyProtocolError
from studio.backends.comfyui._pool import DEFAULT_GRACE, ComfyPool, PoolServer
from studio.backends.comfyui._preflight import check_graph, guess_lora_family, lora_family_matches
from studio.backends.comfyui._templates import (
    DEFAULT_TEMPLATE,
    Template,
    apply_bindings,
    load_template,
    plan_frames,
    round_size,
)
from studio.backends.comfyui._timeouts import DEFAULT_RETRY_POLICY, DEFAULT_TIMEOUTS, RetryPolicy, Timeouts

__all__ = ["GRACE_ENV", "TEMPLATE_ENV", "ComfyBackend", "create_comfy_backend"]

logger = logging.getLogger("studio.backends.comfyui.backend")
TEMPLATE_ENV = "STUDIO_COMFYUI_TEMPLATE"
"""Environment variable naming the default template (else :data:`DEFAULT_TEMPLATE`)."""
GRACE_ENV = "STUDIO_COMFYUI_GRACE"
T = TypeVar("T")
"""Environment variable: seconds to wait for a paused or restarting server (default 300)."""


class ComfyBackend:
    """Generates segments on ComfyUI servers.

    Args:
        urls: The servers (``Settings.comfyui_urls``).
        home: The studio home; every output lands inside it.
        template: Default template name.
        pool: An existing pool (tests, or sharing one pool between backends).
        timeouts: Client timeouts when the backend builds its own pool.
        retry: Client retry policy when the backend builds its own pool.
        max_in_flight_per_server: Our jobs per server (running + queued).
        concurrency: Cap on our jobs across the pool.
        grace: Seconds a job waits for a paused or restarting server.
    """

    name = "comfyui"

    def __init__(
        self,
        urls: Sequence[str],
        *,
        home: Path,
        template: str = DEFAULT_TEMPLATE,
        pool: ComfyPool | None = None,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        retry: RetryPolicy = DEFAULT_RETRY_POLICY,
        max_in_flight_per_server: int = 2,
        concurrency: int | None = None,
        grace: float | None = DEFAULT_GRACE,
    ) -> None:
        if pool is None and not urls:
            raise ConfigurationError("the comfyui backend needs COMFYUI_URLS "
                                     "(e.g. COMFYUI_URLS=http://gpu1:8188,http://gpu2:8188)")
        self.home = home.resolve()
        self.template_name = template
        self._template = load_template(template, home=self.home)
        self.max_segment_seconds: float = self._template.max_seconds
        self.pool = pool or ComfyPool(urls, timeouts=timeouts, retry=retry,
                                      max_in_flight_per_server=max_in_flight_per_server,
                                      concurrency=concurrency, grace=grace)

    def segment_limit(self, parameters: Mapping[str, Any]) -> float:
        """The template's own limit (``parameters["template"]``, else the default template)."""
        name = parameters.get("template")
        if not name or name == self.template_name:
            return float(self.max_segment_seconds)
        return float(load_template(str(name), home=self.home).max_seconds)

    def retry_changes(self, parameters: Mapping[str, Any], attempt: int) -> dict[str, Any] | None:
        """What attempt ``attempt`` changes on the template's escalation ladder (from the
        base ``parameters``), or ``None`` when it would resend a graph already sent."""
        name = str(parameters.get("template") or self.template_name)
        return retry_changes(load_template(name, home=self.home), parameters, attempt)

    async def aclose(self) -> None:
        await self.pool.aclose()

    async def generate(self, request: SegmentRequest, progress: ProgressCallback) -> SegmentResult:
        """Generate one segment; see the module docstring.

        Raises:
            BackendError: bad request for the template (e.g. no end image), an output
                folder outside the studio home, or any :class:`ComfyError`.
        """
        template = load_template(str(request.parameters.get("template", self.template_name)),
                                 home=self.home)
        progress = _monotonic(progress)
        out = request.output_dir.resolve()
        if not out.is_relative_to(self.home):
            raise BackendError(f"output folder {out} is outside the studio home {self.home}",
                               backend=self.name)
        out.mkdir(parents=True, exist_ok=True)
        stem = f"segment_{request.segment_number:03d}"
        notes: list[str] = []
        start = request.start_image
        if start is None and template.requires_start_image:
            start = await self._keyframe(template, request, out / f"{stem}_keyframe.png",
                                         progress, notes)
        if template.requires_end_image and request.end_image is None:
            raise BackendError(f"template {template.name!r} needs an end image; this segment "
                               "has none", backend=self.name)
        result = await self._render(template, request, start, out, stem, progress, notes)
        progress(ProgressEvent(1.0, "done"))
        return result

    async def _keyframe(self, template: Template, request: SegmentRequest, target: Path,
                        progress: ProgressCallback, notes: list[str]) -> Path:
        if not template.keyframe_template:
            raise BackendError(f"template {template.name!r} needs a start image and names no "
                               "keyframe template", backend=self.name)
        keyframe = load_template(template.keyframe_template, home=self.home)
        notes.append(f"start frame generated with {keyframe.name}")
        progress(ProgressEvent(0.0, f"no start image: generating one with {keyframe.name}"))

        def sub_progress(event: ProgressEvent) -> None:
            progress(ProgressEvent(event.fraction * 0.2, f"keyframe: {event.message}"))

        folder = target.parent
        result = await self._render(keyframe, request, None, folder, target.stem + "_render",
                                    sub_progress, [])
        result.last_frame_path.replace(target)
        for path in (result.video_path, result.first_frame_path):
            path.unlink(missing_ok=True)
        return target

    async def _render(self, template: Template, request: SegmentRequest, start: Path | None,
                      out: Path, stem: str, progress: ProgressCallback, notes: list[str]
                      ) -> SegmentResult:
        plan = plan_frames(template, request.planned_frames, request.fps,
                           has_start=start is not None)
        width, height, size_notes = round_size(template, request.width, request.height)
        notes = [*notes, *plan.notes, *size_notes]
        for note in plan.notes + tuple(size_notes):
            progress(ProgressEvent(0.0, note))
        lora, lora_family = _lora_of(request, template, notes)
        if lora is not None and not template.loras:
            notes.append(f"LoRA {lora[0]} ignored: template {template.name} has no LoRA slot")
            lora = None
        run_id = uuid.uuid4().hex[:8]
        scene = request.scene
        prefix = f"studio/{_slug(scene.project)}/e{scene.episode}_s{scene.scene}_{stem}_{run_id}"
        values: dict[str, Any] = {
            **{k: v for k, v in request.parameters.items() if k != "template"},
            "prompt": request.prompt, "negative_prompt": request.negative_prompt,
            "seed": request.seed, "seed_rgb": request.seed % (1 << 24), "fps": request.fps,
            "frame_rate": float(request.fps), "width": width, "height": height,
            "length": plan.length, "planned_frames": plan.planned_frames,
            "duration_seconds": plan.duration_seconds,
            "video_prefix": f"{prefix}/video", "last_frame_prefix": f"{prefix}/last",
        }
        images = {"start_image": start, "end_image": request.end_image}
        if request.end_image is not None and "end_image" not in template.bindings:
            notes.append(f"end image ignored: template {template.name} has no end-image input")
        skip = frozenset((t.node, t.input) for key in images for t in template.bindings.get(key, ()))
        lora_families = {lora[0]: lora_family} if lora and lora_family else {}
        # One prompt id for every attempt: after a disconnect or a move, the servers
        # tried before are asked for it first, so no job runs twice.
        prompt_id = str(uuid.uuid4())
        submitted: list[PoolServer] = []
        on_progress = _progress_mapper(progress)
        on_preview = _preview_saver(preview_path(out, request.segment_number), progress)

        async def finish(server: PoolServer, result: RunResult) -> SegmentResult:
            client = server.client
            server.last_family = template.model_family or server.last_family
            video_files = result.files_of(template.outputs["video"])
            last_files = result.files_of(template.outputs["last_frame"])
            if not video_files or not last_files:
                raise ComfyProtocolError(f"job {result.prompt_id} on {server.url} finished "
                                         "without its video or last-frame output",
                                         server=server.url, prompt_id=result.prompt_id)
            suffix = Path(video_files[0].filename).suffix.lower() or ".mp4"
            video, last = await asyncio.gather(
                client.download(video_files[0], out, name=f"{stem}{suffix}"),
                client.download(last_files[-1], out, name=f"{stem}_last.png"))
            return await asyncio.to_thread(
                self._result, video, last, out / f"{stem}_first.png", plan.lead,
                {"server": server.url, "prompt_id": result.prompt_id,
                 "cached_nodes": list(result.cached_nodes),
                 "resumed": result.from_history or len(submitted) > 1})

        async def job(server: PoolServer) -> SegmentResult:
            heavy = list(template.progress_nodes)
            for earlier in [s for s in submitted if s is not server]:
                found = await self.pool.find_job(earlier, prompt_id)
                if found is not None:  # it finished there after all
                    return await finish(earlier, found)
                earlier.abandon(prompt_id)
            graph = apply_bindings(template, values, lora=lora)
            check_graph(graph, await server.object_info(), server=server.url,
                        template=template.name, model_family=template.model_family,
                        lora_families=lora_families, skip_inputs=skip)
            client = server.client
            if server in submitted:
                progress(ProgressEvent(0.02, f"checking {server.url} for job {prompt_id}"))
                resumed = await _cancelled_on_server(server, prompt_id, client.resume(
                    prompt_id, graph=graph, heavy_nodes=heavy, on_progress=on_progress,
                    on_preview=on_preview))
                if resumed is not None:
                    return await finish(server, resumed)
            if (template.free_memory and server.last_family is not None
                    and server.last_family != template.model_family):
                progress(ProgressEvent(0.01, f"{server.url}: freeing VRAM "
                                             f"({server.last_family} -> {template.model_family})"))
                await client.free()
            for key, path in images.items():
                if path is None or key not in template.bindings:
                    continue
                data = Path(path).read_bytes()
                name = f"studio_{_slug(scene.project)}_{stem}_{key}_{_digest(data)}.png"
                uploaded = await client.upload_image(data, name=name)
                for target in template.bindings[key]:
                    graph[target.node]["inputs"][target.input] = uploaded.reference
            progress(ProgressEvent(0.02, f"queued on {server.url}"))
            if server not in submitted:
                submitted.append(server)
            result = await _cancelled_on_server(server, prompt_id, client.run(
                graph, prompt_id=prompt_id, heavy_nodes=heavy, on_progress=on_progress,
                on_preview=on_preview))
            return await finish(server, result)

        label = f"scene {scene.scene} segment {request.segment_number}"
        try:
            segment = await self.pool.run(job, label=label)
        except asyncio.CancelledError:
            # Cut off while downloading: no output of an unfinished segment stays behind.
            for name in (f"{stem}.mp4", f"{stem}.webm", f"{stem}_last.png", f"{stem}_first.png"):
                (out / name).unlink(missing_ok=True)
            raise
        finally:
            preview_path(out, request.segment_number).unlink(missing_ok=True)
        meta = dict(segment.metadata)
        meta.update({"backend": self.name, "template": template.name, "seed": request.seed,
                     "fps": request.fps, "width": width, "height": height, "notes": notes,
                     "planned_frames": plan.planned_frames, "lora": lora[0] if lora else None})
        return SegmentResult(segment.video_path, segment.last_frame_path,
                             segment.first_frame_path, segment.frame_count,
                             segment.leading_duplicate, meta)

    def _result(self, video: Path, last: Path, first: Path, lead: int,
                meta: Mapping[str, Any]) -> SegmentResult:
        try:
            info = probe(video)
            write_png(first, next(iter(iter_frames(video))))
        except (AnalysisError, StopIteration) as error:
            raise BackendError(f"the video ComfyUI returned is unreadable: {video}",
                               backend=self.name) from error
        return SegmentResult(video, last, first, info.frames, bool(lead),
                             {**meta, "frames": info.frames})


CANCEL_ON_SERVER_SECONDS = 10.0
"""How long a cancelled segment waits for its server to drop (or interrupt) the job."""


async def _cancelled_on_server(server: PoolServer, prompt_id: str, work: Awaitable[T]) -> T:
    """Await ``work`` (submit and wait, or resume); when the awaiting task is cancelled
    (the render was cancelled), delete the job from the server's queue or interrupt it
    there, so the GPU stops on it at its next node or sampler step.

    A server that cannot be reached in :data:`CANCEL_ON_SERVER_SECONDS` is left alone
    and the job abandoned there (cancelled when the pool next hears from the server).
    """
    try:
        return await work
    except asyncio.CancelledError:
        cancel = asyncio.ensure_future(server.client.cancel(prompt_id))
        try:
            await asyncio.shield(asyncio.wait_for(cancel, CANCEL_ON_SERVER_SECONDS))
            logger.info("job %s cancelled on %s", prompt_id, server.url)
        except (ComfyError, TimeoutError, RuntimeError) as error:  # RuntimeError: closed
            logger.warning("could not cancel job %s on %s (%s); it is dropped when the "
                           "server answers again", prompt_id, server.url, error)
            server.abandon(prompt_id)
        raise


def _progress_mapper(progress: ProgressCallback) -> Callable[[RunProgress], None]:
    """The job's whole progress (queue, nodes, every sampler) into 0.05..0.95."""

    def on_progress(event: RunProgress) -> None:
        progress(ProgressEvent(0.05 + 0.9 * event.fraction, event.message))

    return on_progress


def _monotonic(progress: ProgressCallback) -> ProgressCallback:
    """Never report less than before (a failover or resumed job starts its count again)."""
    best = [0.0]

    def report(event: ProgressEvent) -> None:
        best[0] = max(best[0], min(1.0, event.fraction))
        progress(ProgressEvent(best[0], event.message))

    return report


PREVIEW_INTERVAL = 0.5
"""Seconds between two saves of a segment's latent preview (its thumbnail while it renders)."""


def _preview_saver(target: Path, progress: ProgressCallback) -> Callable[[Preview], None]:
    """Save the newest latent preview as ``segment_NNN_preview.png`` (atomically)."""
    last = [0.0]

    def on_preview(preview: Preview) -> None:
        now = time.monotonic()
        if preview.image_format != "png" or now - last[0] < PREVIEW_INTERVAL:
            return
        last[0] = now
        partial = target.with_name(target.name + ".part")
        try:
            partial.write_bytes(preview.data)
            partial.replace(target)
        except OSError as error:  # a preview is optional: never fail the render for it
            logger.info("could not save the preview %s: %s", target, error)

    return on_preview


def _lora_of(request: SegmentRequest, template: Template, notes: list[str]
             ) -> tuple[tuple[str, float] | None, str | None]:
    """The LoRA for this segment.

    A LoRA named in the parameters is the user's explicit choice: it is used as given,
    and preflight refuses it if its family does not fit the template. A character's LoRA
    is picked automatically, so only one of the template's family is used (the first
    such character); the others are skipped with a note rather than failing the render,
    since one character sheet serves keyframe (SDXL) and video (FramePack, Wan) templates.
    """
    params = request.parameters
    if params.get("lora"):
        return ((str(params["lora"]), float(params.get("lora_strength", 1.0))),
                params.get("lora_family"))
    for character in request.scene.characters:
        if not character.lora:
            continue
        family = character.lora_family or guess_lora_family(character.lora)
        if template.model_family is None or family is None or lora_family_matches(
                family, template.model_family):
            return (character.lora, character.lora_strength), character.lora_family
        notes.append(f"LoRA {character.lora} of {character.name} not used: it is for {family}, "
                     f"template {template.name} runs {template.model_family}")
    return None, None


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)[:40] or "project"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:12]


def create_comfy_backend(settings: Settings) -> ComfyBackend:
    """The registry factory: servers from ``COMFYUI_URLS``, template from the environment."""
    template = os.environ.get(TEMPLATE_ENV) or DEFAULT_TEMPLATE
    raw = os.environ.get(GRACE_ENV, "").strip()
    try:
        grace = float(raw) if raw else DEFAULT_GRACE
    except ValueError:
        raise ConfigurationError(f"{GRACE_ENV} must be a number of seconds, got {raw!r}"
                                 ) from None
    return ComfyBackend(settings.comfyui_urls, home=settings.home, template=template,
                        grace=grace)


register_backend("comfyui", create_comfy_backend)
