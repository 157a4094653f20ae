"""Settings: where the studio lives, which database, which servers.

Sources, highest first: explicit arguments (CLI ``--home`` / ``--database-url``),
environment variables, a ``.env`` file in the studio home, then defaults that give
the embedded set-up (a SQLite file in ``./studio-home``, the animatic backend, no LLM).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from studio._exceptions import ConfigurationError

__all__ = ["DEFAULT_HOME", "Settings", "load_settings"]

DEFAULT_HOME = Path("studio-home")
DEFAULT_LEASE_SECONDS = 60
DATABASE_FILENAME = "studio.db"


@dataclass(frozen=True)
class Settings:
    """Resolved configuration. Build it with :func:`load_settings`."""

    home: Path
    database_url: str = field(repr=False)  # may hold a password: see __repr__
    comfyui_urls: tuple[str, ...] = ()
    llm_url: str | None = None
    llm_models: Mapping[str, str] = field(default_factory=dict)
    llm_api_key: str | None = field(default=None, repr=False)
    lease_seconds: int = DEFAULT_LEASE_SECONDS
    # Text to speech: STUDIO_TTS names the backend (default: `openai` when
    # STUDIO_TTS_URL is set, else the embedded `espeak`).
    tts_backend: str = "espeak"
    tts_url: str | None = None
    tts_model: str | None = None
    tts_api_key: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return (
            f"Settings(home={str(self.home)!r}, database={self.database_display()!r}, "
            f"comfyui_urls={self.comfyui_urls!r}, llm_url={self.llm_url!r}, "
            f"llm_models={dict(self.llm_models)!r}, lease_seconds={self.lease_seconds}, "
            f"tts_backend={self.tts_backend!r}, tts_url={self.tts_url!r}, tts_model={self.tts_model!r})"
        )

    @property
    def is_embedded_database(self) -> bool:
        return self.database_url.startswith("sqlite")

    def database_display(self) -> str:
        """The database URL with any password masked, safe for logs and headers."""
        return mask_password(self.database_url)


def mask_password(url: str) -> str:
    if "://" not in url or "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else url


def read_env_file(path: Path) -> dict[str, str]:
    """Read a ``.env`` file with python-dotenv: ``KEY=value`` lines, ``export``, quotes,
    escapes and ``# inline comments`` as a shell reads them. No ``${VAR}`` expansion.

    Raises:
        ConfigurationError: a line is not a setting (the message gives file and line).
    """
    # Imported here: python-dotenv loads logging and more (about 30 ms), which
    # commands that never read settings, such as `studio analyze`, need not pay.
    from dotenv.parser import parse_stream

    values: dict[str, str] = {}
    if not path.is_file():
        return values
    with path.open(encoding="utf-8") as stream:
        for binding in parse_stream(stream):
            if binding.error:
                raw = binding.original.string.rstrip("\n")
                raise ConfigurationError(
                    f"{path}:{binding.original.line}: expected KEY=value, got {raw!r}"
                )
            # `KEY` alone (no `=`) sets nothing, as in a shell.
            if binding.key is not None and binding.value is not None:
                values[binding.key] = binding.value
    return values


def load_settings(
    *,
    home: str | os.PathLike[str] | None = None,
    database_url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve the settings from arguments, the environment and ``HOME/.env``.

    Raises:
        ConfigurationError: a variable is malformed (the message names it).
    """
    env = dict(os.environ if environ is None else environ)
    home_path = Path(home or env.get("STUDIO_HOME") or DEFAULT_HOME).expanduser().resolve()
    # The .env file fills gaps only: the real environment always wins.
    env = {**read_env_file(home_path / ".env"), **env}

    return Settings(
        home=home_path,
        database_url=normalise_database_url(database_url) if database_url else _database_url(env, home_path),
        comfyui_urls=_comfyui_urls(env),
        llm_url=env.get("STUDIO_LLM_URL") or None,
        llm_models=_llm_models(env),
        llm_api_key=env.get("STUDIO_LLM_API_KEY") or None,
        lease_seconds=_positive_int(env, "STUDIO_LEASE_SECONDS", DEFAULT_LEASE_SECONDS),
        tts_backend=(env.get("STUDIO_TTS") or ("openai" if env.get("STUDIO_TTS_URL") else "espeak")).strip(),
        tts_url=_http_url(env, "STUDIO_TTS_URL"),
        tts_model=env.get("STUDIO_TTS_MODEL") or None,
        tts_api_key=env.get("STUDIO_TTS_API_KEY") or None,
    )


def _http_url(env: Mapping[str, str], name: str) -> str | None:
    url = (env.get(name) or "").strip().rstrip("/")
    if not url:
        return None
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(f"{name}: {url!r} is not an http(s) URL; write e.g. http://localhost:8880")
    return url


def _database_url(env: Mapping[str, str], home: Path) -> str:
    if env.get("STUDIO_DATABASE_URL"):
        return normalise_database_url(env["STUDIO_DATABASE_URL"])
    if env.get("DB_HOST") or env.get("DB_NAME"):
        # The seed system's variables: a PostgreSQL server.
        user = quote(env.get("DB_USER", "postgres"), safe="")
        password = env.get("DB_PASSWORD")
        auth = f"{user}:{quote(password, safe='')}" if password else user
        host = env.get("DB_HOST", "localhost")
        port = _positive_int(env, "DB_PORT", 5432)
        name = env.get("DB_NAME", "anime_production")
        return f"postgresql+psycopg://{auth}@{host}:{port}/{name}"
    return f"sqlite:///{home / DATABASE_FILENAME}"


def normalise_database_url(url: str) -> str:
    """Accept ``postgres://`` and ``postgresql://`` and use psycopg 3 for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if not url.startswith(("sqlite:", "postgresql+psycopg:")):
        raise ConfigurationError(
            f"STUDIO_DATABASE_URL must be a sqlite:/// or postgresql:// URL, got {mask_password(url)!r}"
        )
    return url


def _comfyui_urls(env: Mapping[str, str]) -> tuple[str, ...]:
    if env.get("COMFYUI_URLS"):
        urls = [u.strip().rstrip("/") for u in env["COMFYUI_URLS"].split(",") if u.strip()]
    elif env.get("COMFYUI_HOST"):
        port = _positive_int(env, "COMFYUI_PORT", 8188)
        urls = [f"http://{env['COMFYUI_HOST']}:{port}"]
    else:
        return ()
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"COMFYUI_URLS: {url!r} is not an http(s) URL; write e.g. http://gpu1:8188"
            )
    return tuple(urls)


def _llm_models(env: Mapping[str, str]) -> dict[str, str]:
    """``STUDIO_LLM_MODEL=name`` for every task, or ``STUDIO_LLM_MODELS=fast=a,story=b``."""
    models: dict[str, str] = {}
    if env.get("STUDIO_LLM_MODEL"):
        models["default"] = env["STUDIO_LLM_MODEL"].strip()
    for item in (env.get("STUDIO_LLM_MODELS") or "").split(","):
        if not item.strip():
            continue
        task, sep, name = item.partition("=")
        if not sep:
            models.setdefault("default", task.strip())
            continue
        models[task.strip()] = name.strip()
    return models


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, got {raw!r}") from None
    if value <= 0:
        raise ConfigurationError(f"{name} must be positive, got {value}")
    return value
