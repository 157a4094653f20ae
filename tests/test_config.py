"""Settings come from arguments, the environment, HOME/.env and defaults, in that order."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio import ConfigurationError, load_settings


def test_defaults_give_the_embedded_setup(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path, environ={})
    assert settings.database_url == f"sqlite:///{tmp_path / 'studio.db'}"
    assert settings.is_embedded_database
    assert settings.comfyui_urls == ()
    assert settings.llm_url is None
    assert settings.lease_seconds == 60


def test_the_seed_variables_point_at_postgresql_with_the_password_masked(tmp_path: Path) -> None:
    env = {"DB_HOST": "db.local", "DB_PORT": "6543", "DB_NAME": "anime", "DB_USER": "studio", "DB_PASSWORD": "p@ss w"}
    settings = load_settings(home=tmp_path, environ=env)
    assert settings.database_url == "postgresql+psycopg://studio:p%40ss%20w@db.local:6543/anime"
    assert settings.database_display() == "postgresql+psycopg://studio:***@db.local:6543/anime"
    assert "p%40ss" not in repr(settings) and "studio:***@db.local" in repr(settings)


def test_postgres_urls_are_normalised_to_psycopg(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path, environ={"STUDIO_DATABASE_URL": "postgres://u@h/db"})
    assert settings.database_url == "postgresql+psycopg://u@h/db"


def test_comfyui_urls_and_the_seed_host_port(tmp_path: Path) -> None:
    many = load_settings(home=tmp_path, environ={"COMFYUI_URLS": "http://gpu1:8188/, http://gpu2:8188"})
    assert many.comfyui_urls == ("http://gpu1:8188", "http://gpu2:8188")
    one = load_settings(home=tmp_path, environ={"COMFYUI_HOST": "gpu3", "COMFYUI_PORT": "8190"})
    assert one.comfyui_urls == ("http://gpu3:8190",)
    with pytest.raises(ConfigurationError, match="COMFYUI_URLS: 'gpu1:8188' is not an http"):
        load_settings(home=tmp_path, environ={"COMFYUI_URLS": "gpu1:8188"})


def test_llm_models_by_task(tmp_path: Path) -> None:
    env = {"STUDIO_LLM_URL": "http://x/v1", "STUDIO_LLM_MODEL": "big", "STUDIO_LLM_MODELS": "fast=small,embed=e"}
    settings = load_settings(home=tmp_path, environ=env)
    assert dict(settings.llm_models) == {"default": "big", "fast": "small", "embed": "e"}


def test_the_api_key_never_shows_in_a_repr(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path, environ={"STUDIO_LLM_API_KEY": "sk-secret"})
    assert settings.llm_api_key == "sk-secret"
    assert "sk-secret" not in repr(settings)


def test_the_env_file_fills_gaps_and_the_environment_wins(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "# studio settings\nexport STUDIO_LEASE_SECONDS=90\nCOMFYUI_URLS='http://a:1'\nSTUDIO_LLM_URL=http://file\n"
    )
    settings = load_settings(home=tmp_path, environ={"STUDIO_LLM_URL": "http://env"})
    assert settings.lease_seconds == 90
    assert settings.comfyui_urls == ("http://a:1",)
    assert settings.llm_url == "http://env"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"STUDIO_LEASE_SECONDS": "soon"}, "STUDIO_LEASE_SECONDS must be a whole number, got 'soon'"),
        ({"STUDIO_LEASE_SECONDS": "0"}, "STUDIO_LEASE_SECONDS must be positive, got 0"),
        ({"STUDIO_DATABASE_URL": "mysql://u:pw@h/db"}, "got 'mysql://u:***@h/db'"),
    ],
)
def test_malformed_variables_are_named(tmp_path: Path, env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(home=tmp_path, environ=env)
    assert message in str(caught.value)


def test_a_malformed_env_file_line_is_located(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("GOOD=1\nthis is not a setting\n")
    with pytest.raises(ConfigurationError, match=r"\.env:2: expected KEY=value"):
        load_settings(home=tmp_path, environ={})


def test_the_env_file_is_read_as_a_shell_reads_it(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "STUDIO_LLM_URL=http://x:1/v1 # the local server\n"
        "STUDIO_LLM_API_KEY='sk # not a comment'\n"
        'STUDIO_LLM_MODEL="big\\tmodel"\n'
        "COMFYUI_HOST\n"
    )
    settings = load_settings(home=tmp_path, environ={})
    assert settings.llm_url == "http://x:1/v1"
    assert settings.llm_api_key == "sk # not a comment"
    assert dict(settings.llm_models) == {"default": "big\tmodel"}
    assert settings.comfyui_urls == ()
