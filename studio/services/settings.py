"""User preferences kept in the database, with typed defaults and validation."""

from __future__ import annotations

from typing import Any

from studio.core.errors import ValidationError

# key: (default, type, minimum, maximum)
PREFERENCES: dict[str, tuple[Any, type, float | None, float | None]] = {
    "n_ctx": (4096, int, 256, 131072),
    "n_threads": (0, int, 0, 256),  # 0: as many as the machine has
    "stream_batch_ms": (16, int, 0, 500),
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
