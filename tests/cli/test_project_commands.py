"""The CLI end to end on the embedded database: parse, call, report, exit codes."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner

from studio._cli import COMMAND_MODULES, main
from studio._studio import DEMO_SCREENPLAY


def run(home: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_every_command_has_help() -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["--help"]).exit_code == 0
    for name in main.list_commands(click.Context(main)):
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0, name
        assert main.commands[name].help, f"{name} has no help text"


def test_each_module_registers_exactly_the_commands_it_is_listed_for() -> None:
    for module, names in COMMAND_MODULES.items():
        registered = {command.name for command in importlib.import_module(module).COMMANDS}
        assert registered == set(names), module


def test_a_command_loads_only_its_own_module() -> None:
    code = (
        "import sys; from studio._cli import main; main(['analyze', '--help'], standalone_mode=False); "
        "print(sorted(m for m in sys.modules if m.startswith('studio._cli.')), 'sqlalchemy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "['studio._cli._analyze', 'studio._cli._common'] False"


def test_import_then_status_then_reimport(tmp_path: Path) -> None:
    code, out, _ = run(tmp_path, "import", str(DEMO_SCREENPLAY))
    assert code == 0
    assert out.strip() == "Neon Tide: created 2 characters, 1 episode, 3 scenes"
    code, out, _ = run(tmp_path, "status")
    assert code == 0 and "Neon Tide" in out and "Luna, Kai" in out
    code, out, _ = run(tmp_path, "import", str(DEMO_SCREENPLAY))
    assert out.strip() == "Neon Tide: nothing changed"


def test_json_is_one_document_and_works_after_the_command(tmp_path: Path) -> None:
    run(tmp_path, "import", str(DEMO_SCREENPLAY))
    code, out, _ = run(tmp_path, "status", "--json")
    assert code == 0
    document = json.loads(out)
    [project] = document["projects"]
    assert [s["status"] for s in project["episodes"][0]["scenes"]] == ["pending"] * 3


def test_a_bad_screenplay_exits_2_with_the_located_message(tmp_path: Path) -> None:
    bad = tmp_path / "show.yaml"
    bad.write_text("title: x\nepisodes: [{number: 1, scenes: [{number: 1, duration: -1}]}]\n")
    code, out, err = run(tmp_path, "import", str(bad))
    assert code == 2
    assert out == ""
    assert (
        err.strip()
        == f"error: {bad}:2: episodes[0].scenes[0].duration: duration must be greater than 0, got -1"
    )


def test_export_writes_a_file_that_reimports_unchanged(tmp_path: Path) -> None:
    run(tmp_path, "import", str(DEMO_SCREENPLAY))
    target = tmp_path / "export.yaml"
    code, _, _ = run(tmp_path, "export", str(target))
    assert code == 0
    code, out, _ = run(tmp_path, "import", str(target), "--json")
    assert json.loads(out)["changed"] is False


def test_export_of_an_empty_studio_says_what_to_do(tmp_path: Path) -> None:
    code, _, err = run(tmp_path, "export")
    assert code == 2
    assert "run `studio import FILE` or `studio demo`" in err


def test_db_upgrade_and_init(tmp_path: Path) -> None:
    code, out, _ = run(tmp_path / "h", "db", "upgrade", "--json")
    assert code == 0
    assert json.loads(out)["from"] is None
    code, out, _ = run(tmp_path / "h", "init")
    assert code == 0 and "studio home:" in out


def test_a_malformed_database_url_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--database-url", "mysql://x", "status"])
    assert result.exit_code == 2
    assert "must be a sqlite:/// or postgresql:// URL" in result.stderr


def test_every_command_takes_the_global_options_after_its_name(tmp_path: Path) -> None:
    # `studio init [HOME]` has an argument of its own called home; --json and --home still work.
    result = CliRunner().invoke(main, ["init", "--home", str(tmp_path / "a"), "--json"], catch_exceptions=False)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["home"] == str((tmp_path / "a").resolve())
    result = CliRunner().invoke(main, ["init", str(tmp_path / "b"), "--json"], catch_exceptions=False)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["home"] == str((tmp_path / "b").resolve())
    for name in main.list_commands(click.Context(main)):
        command = main.get_command(click.Context(main), name)
        assert command is not None
        commands = [command, *getattr(command, "commands", {}).values()]
        for each in commands:
            options = {opt for param in each.params for opt in param.opts}
            assert {"--home", "--database-url", "--json"} <= options, (name, each.name)


def test_project_titles_match_in_any_case_with_a_suggestion(tmp_path: Path) -> None:
    run(tmp_path, "import", str(DEMO_SCREENPLAY))
    code, out, _ = run(tmp_path, "status", "--project", "neon tide", "--json")
    assert code == 0
    assert [p["project"] for p in json.loads(out)["projects"]] == ["Neon Tide"]
    code, out, _ = run(tmp_path, "export", "--project", "NEON TIDE")
    assert code == 0 and out.startswith("title: Neon Tide")
    code, out, err = run(tmp_path, "status", "--project", "Neon Tid")
    assert code == 2 and out == ""
    assert "no project titled 'Neon Tid' (did you mean 'Neon Tide'?); projects: 'Neon Tide'" in err
