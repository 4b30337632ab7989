"""Code sandbox use cases: run a code node's code, list the languages, keep the runner in step with preferences."""

from __future__ import annotations

import logging
from typing import Any

from studio.core.code import DIFY_SANDBOX_MODULES, CodeLanguage, CodeLimits, CodeOutput, CodeRequest, CodeResult, \
    LanguageInfo
from studio.core.errors import ValidationError

log = logging.getLogger(__name__)

# Preference key → CodeLimits field. Defaults come from CodeLimits (Dify's CODE_MAX_* defaults included).
LIMIT_KEYS = {
    "sandbox_wall_time_s": "wall_time_s", "sandbox_cpu_time_s": "cpu_time_s", "sandbox_memory_mb": "memory_mb",
    "sandbox_max_threads": "max_threads", "sandbox_max_open_files": "max_open_files",
    "sandbox_max_file_size_mb": "max_file_size_mb", "sandbox_disk_quota_mb": "disk_quota_mb",
    "sandbox_max_output_bytes": "max_output_bytes", "sandbox_max_result_bytes": "max_result_bytes",
    "code_max_string_length": "max_string_length", "code_max_number": "max_number",
    "code_min_number": "min_number", "code_max_precision": "max_precision", "code_max_depth": "max_depth",
    "code_max_string_array_length": "max_string_array_length",
    "code_max_object_array_length": "max_object_array_length",
    "code_max_number_array_length": "max_number_array_length",
}
_BOUNDS = {"wall_time_s": (1, 3600), "cpu_time_s": (1, 3600), "memory_mb": (32, 65536), "max_threads": (1, 1024),
           "max_open_files": (16, 65536), "max_file_size_mb": (0, 65536), "disk_quota_mb": (1, 65536),
           "max_output_bytes": (1024, 1 << 30), "max_result_bytes": (1024, 1 << 30),
           "max_string_length": (1, 1 << 30), "max_precision": (0, 100), "max_depth": (1, 100),
           "max_string_array_length": (1, 1 << 24), "max_object_array_length": (1, 1 << 24),
           "max_number_array_length": (1, 1 << 24)}
# key: (default, type, minimum, maximum), merged into the settings service's PREFERENCES.
SANDBOX_PREFERENCES: dict[str, tuple[Any, type, float | None, float | None]] = {
    key: (CodeLimits.model_fields[field].default, type(CodeLimits.model_fields[field].default),
          *_BOUNDS.get(field, (None, None)))
    for key, field in LIMIT_KEYS.items()
} | {
    "sandbox_python_modules": (",".join(DIFY_SANDBOX_MODULES), str, None, None),  # third-party, if installed
    "sandbox_pool_size": (2, int, 0, 16),  # pre-started children kept warm per profile
}


class SandboxService:
    """Runs code through the sandbox engine (a CodeExecutor) with the user's limits; also a CodeExecutor itself."""

    def __init__(self, executor, prefs) -> None:
        self._executor = executor
        self._prefs = prefs
        self._apply()
        prefs.listeners.append(self._on_preference)

    def limits(self) -> CodeLimits:
        values = {field: self._prefs.get(key) for key, field in LIMIT_KEYS.items()}
        return CodeLimits(**values)

    def python_modules(self) -> tuple[str, ...]:
        raw = self._prefs.get("sandbox_python_modules") or ""
        return tuple(m.strip() for m in raw.replace(";", ",").split(",") if m.strip())

    def languages(self) -> list[LanguageInfo]:
        return self._executor.languages()

    def run(self, request: CodeRequest) -> CodeResult:
        """Run one request; the user's limits apply unless the request brings its own."""
        return self._executor.run(request)

    def run_code(self, code: str, *, language: str = "python3", inputs: dict[str, Any] | None = None,
                 outputs: dict[str, dict] | None = None, allow_network: bool = False) -> CodeResult:
        """The convenience form the CLI and the editor's "Run" button use."""
        try:
            lang = CodeLanguage(language)
        except ValueError:
            raise ValidationError(f"Unknown code language {language!r}: use python3 or javascript") from None
        if not code.strip():
            raise ValidationError("There is no code to run")
        declared = {name: CodeOutput.model_validate(decl) for name, decl in outputs.items()} if outputs else None
        return self.run(CodeRequest(language=lang, code=code, inputs=inputs or {}, outputs=declared,
                                    allow_network=allow_network))

    def _apply(self) -> None:
        configure = getattr(self._executor, "configure", None)
        if configure is not None:
            configure(limits=self.limits(), python_modules=self.python_modules(),
                      pool_size=self._prefs.get("sandbox_pool_size"))

    def _on_preference(self, key: str, value) -> None:
        if key in SANDBOX_PREFERENCES:
            try:
                self._apply()
            except ValueError as exc:  # e.g. a pydantic bound the preference table does not know
                log.warning("sandbox preference %s=%r not applied: %s", key, value, exc)
