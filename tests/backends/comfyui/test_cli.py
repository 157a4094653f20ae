"""``studio doctor`` and ``studio workflows import|list|show`` against fake servers."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from studio._cli import main
from tests.backends.comfyui._nodes import ALL_MODELS, build_object_info
from tests.backends.comfyui.fake_comfyui import FakeServer

REFERENCE = Path("/work/shared/reference/comfyui-templates")


def invoke(home: Path, *args: str, urls: str = "") -> tuple[int, str]:
    env = {"COMFYUI_URLS": urls} if urls else {"COMFYUI_URLS": ""}
    result = CliRunner().invoke(main, ["--home", str(home), *args], env=env)
    return result.exit_code, result.output


def test_doctor_names_missing_packs_and_model_folders(
        make_server: Callable[..., FakeServer], tmp_path: Path) -> None:
    full = make_server()
    stock = make_server(models={}, packs=("core",))
    code, out = invoke(tmp_path, "doctor", "--json", urls=f"{full.url},{stock.url}")
    assert code == 0, out
    servers = {s["url"]: s for s in json.loads(out)["servers"]}
    ready = {t["name"]: t["ready"] for t in servers[full.url]["templates"]}
    assert all(ready.values())
    templates = {t["name"]: t for t in servers[stock.url]["templates"]}
    assert templates["smoke_i2v"]["ready"] and templates["smoke_keyframe"]["ready"]
    framepack = templates["framepack_i2v"]
    assert not framepack["ready"]
    assert {n["class_type"] for n in framepack["missing_nodes"]} == {
        "LoadFramePackModel", "FramePackSampler"}
    assert all("FramePackWrapper" in n["pack"] for n in framepack["missing_nodes"])
    models = {m["file"]: m["folder"] for m in templates["wan22_i2v"]["missing_models"]}
    assert models["wan_2.1_vae.safetensors"] == "models/vae/"
    assert models["wan2.2_i2v_high_noise_14B_fp8_scaled.safetensors"] == (
        "models/diffusion_models/")
    code, text = invoke(tmp_path, "doctor", urls=f"{full.url},{stock.url}")
    assert "NOT READY" in text and "put it in models/text_encoders/" in text


def test_doctor_reports_an_unreachable_server_and_needs_urls(tmp_path: Path) -> None:
    code, out = invoke(tmp_path, "doctor", urls="http://127.0.0.1:9")
    assert code == 0 and "UNREACHABLE" in out and "127.0.0.1:9" in out
    code, out = invoke(tmp_path, "doctor")
    assert code == 2 and "COMFYUI_URLS" in out


def test_import_list_show(comfy: FakeServer, tmp_path: Path) -> None:
    info_file = tmp_path / "object_info.json"
    info_file.write_text(json.dumps(build_object_info(ALL_MODELS, [])))
    workflow = REFERENCE / "image_to_video_wan.json"
    code, out = invoke(tmp_path, "workflows", "import", str(workflow), "--name", "wan21",
                       "--object-info", str(info_file))
    assert code == 0, out
    assert "stored template 'wan21'" in out and "start_image->52.image" in out
    code, out = invoke(tmp_path, "workflows", "import", str(workflow), "--name", "wan21",
                       "--server", comfy.url)
    assert code == 2 and "already exists" in out
    code, out = invoke(tmp_path, "workflows", "import", str(workflow), "--name", "wan21",
                       "--server", comfy.url, "--force", "--json")
    assert code == 0 and json.loads(out)["template"]["engine"] == "wan"
    code, out = invoke(tmp_path, "workflows", "list", "--json")
    listed = {t["name"]: t for t in json.loads(out)}
    assert listed["wan21"]["source"].endswith("wan21.json")
    assert listed["framepack_i2v"]["default"]
    code, out = invoke(tmp_path, "workflows", "show", "wan21")
    assert code == 0 and "start_image        52.image" in out and '"class_type"' in out
    code, out = invoke(tmp_path, "workflows", "show", "wan21", "--json")
    assert json.loads(out)["outputs"]["video"] == "56"
    code, out = invoke(tmp_path, "workflows", "show", "nope")
    assert code == 2 and "known templates" in out


def test_import_reports_unknown_node_types(tmp_path: Path) -> None:
    info_file = tmp_path / "object_info.json"
    info_file.write_text(json.dumps(build_object_info(ALL_MODELS, [], only=["LoadImage"])))
    code, out = invoke(tmp_path, "workflows", "import",
                       str(REFERENCE / "image_sdxl_simple.json"), "--name", "x",
                       "--object-info", str(info_file))
    assert code == 2
    assert "KSampler" in out and "CheckpointLoaderSimple" in out


def test_doctor_fix_installs_through_the_manager_then_the_template_is_ready(
        make_server: Callable[..., FakeServer], tmp_path: Path) -> None:
    server = make_server(models={}, packs=("core",), manager=True)
    code, out = invoke(tmp_path, "doctor", "--json", urls=server.url)
    before = {t["name"]: t for t in json.loads(out)["servers"][0]["templates"]}
    assert not before["framepack_i2v"]["ready"]
    code, out = invoke(tmp_path, "--json", "doctor", "--fix", "--yes", urls=server.url)
    assert code == 0, out
    document = json.loads(out[out.index("{"):])
    (plan,) = document["plans"]
    assert plan["manager"] and plan["restart_needed"]
    steps = {(s["kind"], s["name"]): s for s in plan["steps"]}
    assert steps[("node_pack", "comfyui-framepackwrapper")]["via"] == "manager"
    assert "framepack_i2v" in steps[("node_pack", "comfyui-framepackwrapper")]["needed_by"]
    assert all(s["via"] == "manager" for s in plan["steps"])
    assert document["installed"][0]["installed"]
    assert server.fake.manager is not None and server.fake.manager.installed_packs
    # New node packs load when ComfyUI restarts: the Manager restarted it, once, and only
    # then could the new nodes' model inputs be checked: a second round installed those.
    assert document["restarted"] == [server.url] and server.fake.manager.reboots == 1
    (plan,) = document["after_restart"]["plans"]
    assert {s["kind"] for s in plan["steps"]} == {"model"} and not plan["restart_needed"]
    assert document["after_restart"]["installed"][0]["installed"]
    code, out = invoke(tmp_path, "doctor", "--json", urls=server.url)
    after = {t["name"]: t for t in json.loads(out)["servers"][0]["templates"]}
    assert after["framepack_i2v"]["ready"], after["framepack_i2v"]
    assert all(t["ready"] for t in after.values()), {k: v for k, v in after.items()
                                                     if not v["ready"]}


def test_doctor_fix_says_so_when_the_manager_may_not_restart_comfyui(
        make_server: Callable[..., FakeServer], tmp_path: Path) -> None:
    server = make_server(models={}, packs=("core",), manager=True)
    assert server.fake.manager is not None
    server.fake.manager.reboot_allowed = False
    code, out = invoke(tmp_path, "doctor", "--fix", "--yes", urls=server.url)
    assert code != 0
    assert "security_level" in out and "restart ComfyUI by hand" in out
    assert server.fake.manager.installed_packs  # what was installed stays installed


def test_doctor_fix_asks_before_restarting(make_server: Callable[..., FakeServer],
                                           tmp_path: Path) -> None:
    server = make_server(models={}, packs=("core",), manager=True)
    result = CliRunner().invoke(main, ["--home", str(tmp_path), "doctor", "--fix"],
                                env={"COMFYUI_URLS": server.url}, input="y\nn\n")
    assert result.exit_code == 0, result.output
    assert "Restart ComfyUI on" in result.output and "run `studio doctor --fix` again" in result.output
    assert server.fake.manager is not None
    assert server.fake.manager.installed_packs and server.fake.manager.reboots == 0


def test_doctor_fix_without_the_manager_prints_the_exact_commands(
        make_server: Callable[..., FakeServer], tmp_path: Path) -> None:
    server = make_server(models={}, packs=("core",))
    code, out = invoke(tmp_path, "doctor", "--fix", urls=server.url)
    assert code == 0, out
    assert "no ComfyUI-Manager" in out
    assert "git clone https://github.com/kijai/ComfyUI-FramePackWrapper" in out
    assert "put it in ComfyUI/models/diffusion_models/" in out


def test_doctor_fix_asks_before_installing(make_server: Callable[..., FakeServer],
                                           tmp_path: Path) -> None:
    server = make_server(models={}, packs=("core",), manager=True)
    result = CliRunner().invoke(main, ["--home", str(tmp_path), "doctor", "--fix"],
                                env={"COMFYUI_URLS": server.url}, input="n\n")
    assert result.exit_code == 0, result.output
    assert "Install" in result.output
    assert server.fake.manager is not None and not server.fake.manager.done
