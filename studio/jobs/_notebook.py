"""The kernel side of a ``render_episode`` job: the render the notebook runs.

``parameterized/render_episode.ipynb`` calls :func:`notebook_render` in its own kernel,
apart from the worker that holds the job's lease; progress and cancellation travel
through the job's :class:`~studio.jobs.JobChannel`, read from the database.
"""

from __future__ import annotations

from typing import Any

from studio.render._pipeline import RenderSummary, render_episode

__all__ = ["notebook_render"]


def notebook_render(
    *,
    home: str,
    database_url: str,
    project: str,
    episode: int,
    backend: str,
    comfyui_urls: str,
    max_attempts: int,
    job_id: int,
    template: str = "",
    render_pass: str = "",
    retry_review: bool = False,
) -> RenderSummary:
    """The render, as the notebook runs it: prints progress lines as segments finish."""
    import os

    from studio._config import load_settings
    from studio._studio import Studio

    if comfyui_urls:
        os.environ["COMFYUI_URLS"] = comfyui_urls
    settings = load_settings(home=home, database_url=database_url)
    from studio.jobs._channel import job_hooks  # the durable queue reports progress and cancellation

    hooks = job_hooks(settings, job_id or None)  # without a job the hooks do nothing
    printed = [-1]

    def show(event: Any) -> None:
        percent = int(event.fraction * 100)
        if percent // 10 != printed[0] // 10 or event.fraction >= 1.0:
            printed[0] = percent
            print(f"{percent:3d}%  {event.message}", flush=True)
        hooks.progress(event)

    with Studio.open(settings=settings) as studio:
        return render_episode(
            studio,
            episode=episode,
            project=project,
            backend=backend,
            template=template or None,
            max_attempts=max_attempts or None,
            progress=show,
            should_cancel=hooks.should_cancel,
            render_pass=render_pass or None,
            retry_review=retry_review,
        )
