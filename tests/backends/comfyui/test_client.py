"""Every client path against the fake ComfyUI."""

from __future__ import annotations

import asyncio
import copy
import struct
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from studio.backends.comfyui import (
    AsyncComfyClient,
    ComfyConnectionError,
    ComfyExecutionError,
    ComfyInterruptedError,
    ComfyJobLostError,
    ComfyTimeoutError,
    ComfyValidationError,
    OutputFile,
    RetryPolicy,
    RunProgress,
    Timeouts,
    UnsafePathError,
)
from studio.backends.comfyui._messages import (
    Executing,
    Progress,
    Status,
    parse_binary_frame,
    parse_ws_message,
)
from tests.backends.comfyui.conftest import EMPTY_VIDEO_GRAPH, FAST_RETRY, TEST_TIMEOUTS
from tests.backends.comfyui.fake_comfyui import FakeServer

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def client(server: FakeServer, **kwargs: Any) -> AsyncComfyClient:
    kwargs.setdefault("timeouts", TEST_TIMEOUTS)
    kwargs.setdefault("retry", FAST_RETRY)
    return AsyncComfyClient(server.url, **kwargs)


def graph(**changes: Any) -> dict[str, Any]:
    g = copy.deepcopy(EMPTY_VIDEO_GRAPH)
    for key, value in changes.items():
        node, name = key.split("__")
        g[node]["inputs"][name] = value
    return g


def test_run_reports_progress_and_outputs(comfy: FakeServer, tmp_path: Path) -> None:
    seen: list[RunProgress] = []

    async def main() -> tuple[Any, list[Path]]:
        async with client(comfy) as c:
            result = await c.run(graph(), prompt_id="our-own-id-1", on_progress=seen.append)
            return result, [await c.download(f, tmp_path / "dl") for f in result.files]

    result, paths = run(main())
    assert result.prompt_id == "our-own-id-1"
    assert comfy.fake.posted == ["our-own-id-1"]
    assert comfy.fake.socket_open_at_post == [True]  # WebSocket connected before the POST
    assert [(p.value, p.max) for p in seen if p.max] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert len(set(fractions)) > 8  # every node and step moves it, not just start and end
    assert seen[-1].phase == "done"
    assert {f.node_id for f in result.files} == {"3", "5"}
    assert result.files_of("3")[0].animated
    assert sorted(p.name for p in paths) == ["last_00001_.png", "vid_00001_.mp4"]
    assert all(p.stat().st_size > 0 for p in paths)


def test_cached_rerun_returns_the_old_outputs(comfy: FakeServer) -> None:
    async def main() -> tuple[Any, Any]:
        async with client(comfy) as c:
            return await c.run(graph()), await c.run(graph())

    first, second = run(main())
    assert second.cached_nodes == ("1", "2", "3", "4", "5")
    assert second.outputs == first.outputs


def test_rejected_prompt_names_each_node_and_input(comfy: FakeServer) -> None:
    bad = graph(**{"1__width": 0, "4__batch_index": "abc"})
    del bad["1"]["inputs"]["height"]

    async def main() -> None:
        async with client(comfy) as c:
            await c.submit(bad)

    with pytest.raises(ComfyValidationError) as caught:
        run(main())
    error = caught.value
    assert error.error_type == "prompt_outputs_failed_validation"
    found = {(p.node_id, p.input_name, p.type) for p in error.problems}
    assert found == {("1", "height", "required_input_missing"),
                     ("1", "width", "value_smaller_than_min"),
                     ("4", "batch_index", "invalid_input_type")}
    assert "node 1 (EmptyImage) input 'height'" in str(error)
    assert error.server == comfy.url


@pytest.mark.parametrize(
    ("mutate", "error_type", "problem_type"),
    [
        (lambda g: g["2"].update(class_type="NoSuchNode"), "invalid_prompt", None),
        (lambda g: g["3"]["inputs"].update(video=["99", 0]), "prompt_outputs_failed_validation",
         "exception_during_validation"),
        (lambda g: g["3"]["inputs"].update(video=["1", 0]), "prompt_outputs_failed_validation",
         "return_type_mismatch"),
        (lambda g: g["3"]["inputs"].update(format="gif"), "prompt_outputs_failed_validation",
         "value_not_in_list"),
        (lambda g: g.pop("3"), "prompt_no_outputs", None),
    ],
)
def test_each_rejection_is_typed(comfy: FakeServer, mutate: Any, error_type: str,
                                 problem_type: str | None) -> None:
    g = graph()
    del g["4"], g["5"]  # one output, so breaking it rejects the whole prompt
    mutate(g)

    async def main() -> None:
        async with client(comfy) as c:
            await c.submit(g)

    with pytest.raises(ComfyValidationError) as caught:
        run(main())
    assert caught.value.error_type == error_type
    assert [p.type for p in caught.value.problems][:1] == ([problem_type] if problem_type else [])


def test_node_errors_on_200_are_an_error_and_the_job_is_cancelled(comfy: FakeServer) -> None:
    g = graph()
    g["6"] = {"class_type": "ImageScale", "inputs": {"image": ["1", 0], "upscale_method": "magic",
                                                      "width": 8, "height": 8, "crop": "disabled"}}
    g["7"] = {"class_type": "SaveImage", "inputs": {"images": ["6", 0], "filename_prefix": "x"}}
    comfy.behaviour.run_seconds = 0.5

    async def main() -> str:
        async with client(comfy) as c:
            with pytest.raises(ComfyValidationError) as caught:
                await c.submit(g, prompt_id="partly-bad")
            assert caught.value.skipped_outputs == ("7",)
            assert caught.value.problems[0].input_name == "upscale_method"
            queue = await c.queue()
            assert "partly-bad" not in queue.pending
            return "ok"

    assert run(main()) == "ok"
    assert comfy.fake.interrupts == [{"prompt_id": "partly-bad"}]


def test_execution_error_carries_node_and_exception(comfy: FakeServer) -> None:
    comfy.behaviour.fail_class = "ImageFromBatch"

    async def main() -> None:
        async with client(comfy) as c:
            await c.run(graph())

    with pytest.raises(ComfyExecutionError) as caught:
        run(main())
    error = caught.value
    assert (error.node_id, error.node_type) == ("4", "ImageFromBatch")
    assert error.exception_type == "torch.OutOfMemoryError"
    assert "CUDA out of memory" in str(error)
    assert error.prompt_id is not None and error.transient is False


def test_cancel_interrupts_the_running_job(comfy: FakeServer) -> None:
    comfy.behaviour.run_seconds = 5.0
    comfy.behaviour.steps = 100

    async def main() -> None:
        async with client(comfy) as c:
            pid = await c.submit(graph())

            def on_progress(p: RunProgress) -> None:
                if p.value == 1:
                    asyncio.get_running_loop().create_task(c.cancel(pid))

            await c.wait(pid, on_progress=on_progress)

    with pytest.raises(ComfyInterruptedError) as caught:
        run(main())
    assert caught.value.node_id == "2"


def test_dropped_websocket_reconnects_and_the_job_continues(comfy: FakeServer) -> None:
    comfy.behaviour.drop_ws_at_step = 2

    async def main() -> Any:
        async with client(comfy) as c:
            return await c.run(graph())

    result = run(main())
    assert comfy.fake.ws_connections == 2
    assert {f.node_id for f in result.files} == {"3", "5"}


@pytest.mark.parametrize("node", ["3", "5"])
def test_an_output_message_lost_in_a_reconnect_comes_from_history(
        comfy: FakeServer, node: str) -> None:
    comfy.behaviour.lose_executed_of = node  # the other output's message does arrive

    async def main() -> Any:
        async with client(comfy) as c:
            return await c.run(graph())

    result = run(main())
    assert comfy.fake.ws_connections == 2
    assert {f.node_id for f in result.files} == {"3", "5"} and result.from_history


def test_events_missed_during_a_reconnect_come_from_history(comfy: FakeServer) -> None:
    comfy.behaviour.drop_ws_at_step = 2
    comfy.behaviour.silent_after_drop = True
    timeouts = Timeouts(connect=2.0, read=5.0, ws_idle=0.05, total=30.0)

    async def main() -> Any:
        async with client(comfy, timeouts=timeouts) as c:
            return await c.run(graph())

    result = run(main())
    assert result.from_history
    assert {f.node_id for f in result.files} == {"3", "5"}


def test_silent_websocket_is_covered_by_history_polling(comfy: FakeServer) -> None:
    comfy.behaviour.silent_ws = True
    timeouts = Timeouts(connect=2.0, read=5.0, ws_idle=0.05, total=30.0)

    async def main() -> Any:
        async with client(comfy, timeouts=timeouts) as c:
            return await c.run(graph())

    assert run(main()).from_history


def test_crash_mid_run_is_a_connection_error_naming_the_server(comfy: FakeServer) -> None:
    comfy.behaviour.crash_at_step = 2

    async def main() -> None:
        async with client(comfy) as c:
            await c.run(graph())

    with pytest.raises(ComfyConnectionError) as caught:
        run(main())
    assert caught.value.server == comfy.url
    assert caught.value.transient
    assert comfy.url in str(caught.value)


def test_restart_loses_the_job(comfy: FakeServer) -> None:
    comfy.behaviour.run_seconds = 5.0
    retry = RetryPolicy(attempts=8, backoff=0.05, max_backoff=0.2)

    async def main() -> None:
        async with client(comfy, retry=retry) as c:
            pid = await c.submit(graph())
            comfy.kill()
            comfy.restart()
            await c.wait(pid)

    with pytest.raises(ComfyJobLostError):
        run(main())


def test_unreachable_server_is_retried_then_named(tmp_path: Path) -> None:
    async def main() -> None:
        async with AsyncComfyClient("http://127.0.0.1:9", retry=FAST_RETRY) as c:
            await c.system_stats()

    with pytest.raises(ComfyConnectionError, match=r"127\.0\.0\.1:9.*3 times"):
        run(main())


def test_slow_response_hits_the_read_timeout(comfy: FakeServer) -> None:
    comfy.behaviour.response_delay = 0.5

    async def main() -> None:
        async with client(comfy, timeouts=Timeouts(read=0.05), retry=RetryPolicy(1)) as c:
            await c.system_stats()

    with pytest.raises(ComfyTimeoutError) as caught:
        run(main())
    assert caught.value.phase == "read"


def test_queue_wait_timeout_cancels_a_job_that_never_starts(comfy: FakeServer) -> None:
    comfy.behaviour.run_seconds = 5.0
    comfy.behaviour.steps = 50
    timeouts = Timeouts(connect=2.0, read=5.0, queue_wait=0.1, ws_idle=0.05, total=30.0)

    async def main() -> None:
        async with client(comfy, timeouts=timeouts) as c:
            blocker = await c.submit(graph(**{"1__color": 1}))
            waiting = await c.submit(graph(**{"1__color": 2}))
            try:
                await c.wait(waiting)
            finally:
                await c.cancel(blocker)

    with pytest.raises(ComfyTimeoutError) as caught:
        run(main())
    assert caught.value.phase == "queue_wait"


def test_upload_uses_the_name_the_server_returns(comfy: FakeServer) -> None:
    async def main() -> list[str]:
        async with client(comfy) as c:
            a = await c.upload_image(b"one", name="start.png")
            same = await c.upload_image(b"one", name="start.png")
            other = await c.upload_image(b"two", name="start.png")
            over = await c.upload_image(b"three", name="start.png", overwrite=True)
            sub = await c.upload_image(b"four", name="s.png", subfolder="studio")
            return [a.reference, same.reference, other.reference, over.reference, sub.reference]

    assert run(main()) == ["start.png", "start.png", "start (1).png", "start.png", "studio/s.png"]


@pytest.mark.parametrize(
    ("subfolder", "filename"),
    [("..", "x.png"), ("a/../..", "x.png"), ("", "../x.png"), ("/etc", "passwd"),
     ("", "/etc/passwd"), ("", "x\x00.png"), ("sub\x00", "x.png"), ("", "a/b.png"),
     ("C:/", "x.png"), ("..\\..", "x.png"), ("", "")],
)
def test_server_names_never_escape_the_root(comfy: FakeServer, tmp_path: Path,
                                            subfolder: str, filename: str) -> None:
    async def main() -> None:
        async with client(comfy) as c:
            await c.download(OutputFile("1", filename, subfolder, "output"), tmp_path / "home")

    with pytest.raises(UnsafePathError):
        run(main())
    assert not any(tmp_path.glob("*.png"))


def test_symlink_escape_is_refused(comfy: FakeServer, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (home / "link").symlink_to(outside)

    async def main() -> None:
        async with client(comfy) as c:
            await c.download(OutputFile("1", "x.png", "link", "output"), home)

    with pytest.raises(UnsafePathError):
        run(main())
    assert not any(outside.iterdir())


def test_info_endpoints_queue_and_free(comfy: FakeServer) -> None:
    comfy.behaviour.run_seconds = 2.0
    comfy.behaviour.steps = 20

    async def main() -> dict[str, Any]:
        async with client(comfy) as c:
            first = await c.submit(graph(**{"1__color": 5}))
            second = await c.submit(graph(**{"1__color": 6}))
            queue = await c.queue()
            size = await c.queue_size()
            await c.cancel(second)
            await c.cancel(first)
            return {
                "stats": (await c.system_stats())["system"]["comfyui_version"],
                "info": sorted(await c.object_info("EmptyImage")),
                "unknown": await c.object_info("Nope"),
                "models": await c.models("loras"),
                "no_folder": await c.models("nope"),
                "queue": queue, "size": size, "first": first, "second": second,
                "free": await c.free(),
            }

    got = run(main())
    assert got["stats"] == "0.3.64"
    assert got["info"] == ["EmptyImage"] and got["unknown"] == {}
    assert "hero_wan21.safetensors" in got["models"] and got["no_folder"] is None
    assert got["second"] in got["queue"].pending and got["size"] == 2
    assert comfy.fake.free_calls == [{"unload_models": True, "free_memory": True}]


def test_closed_client_refuses_work(comfy: FakeServer) -> None:
    async def main() -> None:
        c = client(comfy)
        async with c:
            pass
        await c.system_stats()

    with pytest.raises(RuntimeError, match="closed"):
        run(main())


def test_message_parsing() -> None:
    assert parse_ws_message('{"type":"status","data":{"status":{"exec_info":'
                            '{"queue_remaining":3}},"sid":"abc"}}') == Status(3, "abc")
    assert parse_ws_message('{"type":"executing","data":{"node":null,"prompt_id":"p"}}') == \
        Executing("p", None)
    assert parse_ws_message('{"type":"progress","data":{"value":2,"max":9,"prompt_id":"p",'
                            '"node":"12"}}') == Progress("p", "12", 2, 9)
    png = b"\x89PNG\r\n\x1a\n"
    one = parse_binary_frame(struct.pack(">II", 1, 2) + png)
    assert (one.event_type, one.image_format, one.data) == (1, "png", png)
    meta = b'{"node_id": "2", "image_type": "image/png"}'
    four = parse_binary_frame(struct.pack(">II", 4, len(meta)) + meta + png)
    assert (four.image_format, four.metadata["node_id"], four.data) == ("png", "2", png)


def test_fake_follows_the_captured_event_order_and_view_rules(comfy: FakeServer) -> None:
    import json

    import httpx
    import websockets

    g = {"1": EMPTY_VIDEO_GRAPH["1"],
         "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0],
                                                      "filename_prefix": "clienttest/a"}}}

    async def main() -> tuple[list[str], dict[str, int]]:
        url = comfy.url.replace("http://", "ws://") + "/ws?clientId=abc"
        async with websockets.connect(url) as ws, httpx.AsyncClient(base_url=comfy.url) as h:
            hello = json.loads(await ws.recv())
            assert hello["data"]["sid"] == "abc"
            await h.post("/prompt", json={"prompt": g, "client_id": "abc"})
            kinds = []
            while True:
                message = json.loads(await ws.recv())
                kinds.append(message["type"])
                if message["type"] == "executing" and message["data"]["node"] is None:
                    break
            codes = {q: (await h.get("/view?" + q)).status_code for q in (
                "filename=a_00001_.png&subfolder=clienttest&type=output",
                "filename=../x.png", "filename=x.png&subfolder=..",
                "filename=a_00001_.png&type=bogus", "filename=missing.png")}
            return kinds, codes

    kinds, codes = run(main())
    executing_then = [k for k in kinds if k != "progress_state"]
    assert executing_then == ["status", "status", "execution_start", "execution_cached",
                              "executing", "executing", "executed", "execution_success",
                              "status", "executing"]
    assert list(codes.values()) == [200, 400, 403, 400, 404]


@pytest.mark.parametrize("jobs_api", [False, True], ids=["0.3.64", "with-api-jobs"])
def test_resume_and_cancel_use_api_jobs_where_the_server_has_it(
        make_server: Callable[..., FakeServer], jobs_api: bool) -> None:
    server = make_server(jobs_api=jobs_api)
    server.behaviour.run_seconds = 1.0
    server.behaviour.steps = 10

    async def main() -> tuple[Any, Any, str]:
        async with client(server) as first:
            running = await first.submit(graph(), prompt_id="running-job")
            pending = await first.submit(graph(**{"1__color": 5}), prompt_id="pending-job")
            await first.cancel(pending)  # waiting: deleted, the running job untouched
            state, _ = await first.job_state(pending)
            result = await first.wait(running)
        async with client(server) as second:  # a new process of ours, picking it up
            again = await second.resume("running-job")
            gone = await second.resume("never-submitted")
        return result, (again, gone), state

    result, (again, gone), state = run(main())
    assert state == "unknown" and "pending-job" not in server.fake.executed
    assert server.fake.interrupts == []  # nothing was interrupted to cancel a waiting job
    assert again is not None and again.outputs == result.outputs and gone is None
    used = [r for r in server.fake.requests if r.startswith("GET /api/jobs/")]
    assert bool(used) == jobs_api


@pytest.mark.parametrize(("jobs_api", "job_cancel"), [(False, False), (True, False), (True, True)],
                         ids=["0.3.64", "api-jobs-without-cancel", "api-jobs-cancel"])
def test_cancel_uses_the_per_job_route_where_the_server_has_it(
        make_server: Callable[..., FakeServer], jobs_api: bool, job_cancel: bool) -> None:
    server = make_server(jobs_api=jobs_api, job_cancel=job_cancel)
    server.behaviour.run_seconds = 5.0
    server.behaviour.steps = 100

    async def main() -> tuple[BaseException | None, str, str]:
        async with client(server) as c:
            running = await c.submit(graph())
            waiting = await c.submit(graph(**{"1__color": 5}))

            def on_progress(p: RunProgress) -> None:
                if p.value == 1:
                    async def both() -> None:
                        await c.cancel(waiting)
                        await c.cancel(running)
                    asyncio.get_running_loop().create_task(both())

            outcome: BaseException | None = None
            try:
                await c.wait(running, on_progress=on_progress)
            except ComfyInterruptedError as error:
                outcome = error
            # An interrupted job is finished, not lost, whichever way the server says so.
            return outcome, (await c.job_state(running))[0], (await c.job_state(waiting))[0]

    outcome, running_state, waiting_state = run(main())
    assert isinstance(outcome, ComfyInterruptedError)
    assert (running_state, waiting_state) == ("done", "unknown")
    assert len(server.fake.executed) == 1  # the waiting job never ran
    old_routes = [r for r in server.fake.requests if r in ("POST /interrupt", "POST /queue")]
    if job_cancel:
        assert len(server.fake.cancels) == 2 and old_routes == []
    else:
        assert server.fake.cancels == [] and old_routes == ["POST /queue", "POST /interrupt"]


def test_latent_previews_reach_their_job_with_metadata(comfy: FakeServer) -> None:
    comfy.behaviour.previews = True
    comfy.behaviour.steps = 3
    previews: list[Any] = []

    async def main() -> Any:
        async with client(comfy) as c:
            return await c.run(graph(), prompt_id="with-previews", on_preview=previews.append)

    run(main())
    assert [(p.prompt_id, p.node, p.image_format) for p in previews] == [
        ("with-previews", "2", "png")] * 3  # CreateVideo stands in for the sampler here
    assert all(p.data.startswith(b"\x89PNG") for p in previews)
    assert comfy.fake.flags and all(comfy.fake.flags.values())  # negotiated type 4
