"""The one typed settings object; the only place that reads the process environment."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Start-up settings from `STUDIO_*` environment variables; user preferences live in the database."""

    model_config = SettingsConfigDict(env_prefix="STUDIO_", extra="ignore")

    home: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir("studio", "studio")))
    n_ctx: int = 4096  # context window for local chat models (capped by the model's own)
    # One core is left free: llama.cpp's OpenMP threads spin, and with every core taken any other busy
    # process (the window, a browser) drops generation from ~120 to ~3 tokens/s on a 2-core machine.
    n_threads: int = Field(default_factory=lambda: max(1, (os.cpu_count() or 1) - 1))
    log_level: str = "INFO"
    # Models Studio derives from packaged weights (the bundled embedding model converted to GGUF) are shared by
    # every home on the machine, so a new home (or a test) does not convert them again.
    cache_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_cache_dir("studio", "studio")))
    # The folder of starter templates (Dify DSL files) for "Create from template"; unset, Studio's own are used
    # (the checkout's resources/templates, or the copy an installed Studio carries).
    templates_dir: Path | None = None
    # `studio serve --bundle`: the app key a server deployment supplies (STUDIO_API_KEY=app-…); only its hash is
    # stored. A SecretStr, so it never shows in a repr or a log line.
    api_key: SecretStr = SecretStr("")
    # Host names `studio serve` accepts besides the bound address and localhost, comma-separated (a container's
    # service name or a reverse proxy's name; the same as repeating --allowed-host).
    allowed_hosts: str = ""

    @property
    def home_from_environment(self) -> bool:
        """Whether STUDIO_HOME (or an explicit home) chose the home folder, rather than the platform default."""
        return "home" in self.model_fields_set

    @property
    def extra_hosts(self) -> list[str]:
        return [h.strip() for h in self.allowed_hosts.split(",") if h.strip()]

    @property
    def db_path(self) -> Path:
        return self.home / "studio.db"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def lancedb_dir(self) -> Path:
        return self.home / "lancedb"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    def ensure_dirs(self) -> None:
        for d in (self.home, self.models_dir, self.logs_dir, self.home / "files"):
            d.mkdir(parents=True, exist_ok=True)
