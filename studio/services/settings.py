"""User preferences kept in the database, with typed defaults and validation."""

from __future__ import annotations

from typing import Any

from studio.core.errors import ValidationError
from studio.services.api_access import API_PREFERENCES
from studio.services.sandbox import SANDBOX_PREFERENCES

# key: (default, type, minimum, maximum)
PREFERENCES: dict[str, tuple[Any, type, float | None, float | None]] = {
    "n_ctx": (4096, int, 256, 131072),
    "n_threads": (0, int, 0, 256),  # 0: automatic (all cores but one)
    "stream_batch_ms": (16, int, 0, 500),
    # workflow limits, Dify's defaults (WORKFLOW_MAX_EXECUTION_STEPS/_TIME, MAX_VARIABLE_SIZE, …)
    "workflow_max_steps": (500, int, 1, 100000),
    "workflow_max_time_s": (1200, int, 1, 86400),
    "workflow_max_variable_bytes": (200 * 1024, int, 1024, 64 * 1024 * 1024),
    "workflow_max_workers": (10, int, 1, 64),
    "workflow_max_loop_count": (100, int, 1, 10000),
    "workflow_max_parallel": (10, int, 1, 100),
    **SANDBOX_PREFERENCES,  # code-node limits (Dify's CODE_MAX_* and the sandbox's own)
    **API_PREFERENCES,  # the localhost API: port, start with the window
}


class SettingsService:
    def __init__(self, repos, settings) -> None:
        self._repo = repos.settings
        self.startup = settings  # the typed start-up Settings (home folder, environment)
        self.listeners: list = []  # called as listener(key, value) after a change is saved

    def get(self, key: str) -> Any:
        if key not in PREFERENCES:
            raise ValidationError(f"Unknown setting {key!r}")
        return self._repo.get(key, PREFERENCES[key][0])

    def set(self, key: str, value: Any) -> Any:
        if key not in PREFERENCES:
            raise ValidationError(f"Unknown setting {key!r}")
        _, kind, low, high = PREFERENCES[key]
        try:
            value = kind(value)
        except (TypeError, ValueError):
            raise ValidationError(f"{key} must be a {kind.__name__}") from None
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValidationError(f"{key} must be between {low} and {high}")
        self._repo.set(key, value)
        for listener in self.listeners:
            listener(key, value)
        return value

    def all(self) -> dict[str, Any]:
        return {key: self.get(key) for key in PREFERENCES}
