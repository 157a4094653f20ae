"""Fixtures: fake ComfyUI servers on loopback, each in its own thread."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from studio.backends.comfyui import RetryPolicy, Timeouts
from tests.backends.comfyui.fake_comfyui import Behaviour, FakeComfyUI, FakeServer

FAST_RETRY = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.05)
TEST_TIMEOUTS = Timeouts(connect=2.0, read=5.0, queue_wait=30.0, ws_idle=5.0, total=60.0)

EMPTY_VIDEO_GRAPH: dict[str, Any] = {
    "1": {"class_type": "EmptyImage",
          "inputs": {"width": 64, "height": 48, "batch_size": 3, "color": 16744448}},
    "2": {"class_type": "CreateVideo", "inputs": {"images": ["1", 0], "fps": 8.0}},
    "3": {"class_type": "SaveVideo", "inputs": {"video": ["2", 0], "filename_prefix": "t/vid",
                                                "format": "auto", "codec": "auto"}},
    "4": {"class_type": "ImageFromBatch",
          "inputs": {"image": ["1", 0], "batch_index": 4095, "length": 1}},
    "5": {"class_type": "SaveImage", "inputs": {"images": ["4", 0], "filename_prefix": "t/last"}},
}


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., FakeServer]]:
    servers: list[FakeServer] = []

    def make(**kwargs: Any) -> FakeServer:
        behaviour = kwargs.pop("behaviour", None) or Behaviour()
        root = tmp_path / f"comfy{len(servers)}"
        server = FakeServer(FakeComfyUI(root, behaviour=behaviour, **kwargs))
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


@pytest.fixture
def comfy(make_server: Callable[..., FakeServer]) -> FakeServer:
    return make_server()
