"""Code-node entities shared by the sandbox engine and the workflow engine: requests, limits, results."""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class CodeLanguage(str, Enum):
    PYTHON3 = "python3"
    JAVASCRIPT = "javascript"


class LimitKind(str, Enum):
    """Which limit or policy stopped a run; the node trace shows it."""

    WALL_TIME = "wall_time"
    CPU_TIME = "cpu_time"
    MEMORY = "memory"
    FILE_SIZE = "file_size"
    OPEN_FILES = "open_files"
    PROCESSES = "processes"
    OUTPUT_SIZE = "output_size"
    RESULT_SIZE = "result_size"
    NETWORK = "network"
    FILESYSTEM = "filesystem"
    SUBPROCESS = "subprocess"
    MODULE = "module"
    INTROSPECTION = "introspection"


# Dify's output types for a code node (`nodes/code/entities.py`).
OUTPUT_TYPES = ("string", "number", "object", "boolean",
                "array[string]", "array[number]", "array[object]", "array[boolean]")

# Dify's sandbox image installs these (dify-sandbox docker/versions.yaml); the default allow-list keeps
# those that are installed next to Studio.
DIFY_SANDBOX_MODULES = ("httpx", "requests", "jinja2", "socks", "numpy", "pandas", "thefuzz", "pydantic",
                        "matplotlib", "sklearn")


class CodeOutput(BaseModel):
    """One declared output variable: `outputs: {name: {type, children}}` in the DSL."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    children: dict[str, CodeOutput] | None = None


class CodeLimits(BaseModel):
    """Run limits (sandbox) and output checks (Dify's CODE_MAX_* with Dify's defaults)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    wall_time_s: float = Field(15.0, gt=0)  # dify-sandbox docker default WORKER_TIMEOUT
    cpu_time_s: int = Field(10, ge=1)
    memory_mb: int = Field(256, ge=32)
    max_threads: int = Field(8, ge=1)
    max_open_files: int = Field(64, ge=16)
    max_file_size_mb: int = Field(16, ge=0)
    disk_quota_mb: int = Field(64, ge=1)
    max_output_bytes: int = Field(1 << 20, ge=1024)  # stdout + stderr, each
    max_result_bytes: int = Field(16 << 20, ge=1024)
    max_string_length: int = 400000
    max_number: int = 9223372036854775807
    min_number: int = -9223372036854775807
    max_precision: int = 20
    max_depth: int = 5
    max_string_array_length: int = 30
    max_object_array_length: int = 30
    max_number_array_length: int = 1000


class CodeRequest(BaseModel):
    """One code-node run: Dify's `def main(**inputs) -> dict` convention plus the node's declarations."""

    model_config = ConfigDict(extra="forbid")

    language: CodeLanguage = CodeLanguage.PYTHON3
    code: str
    inputs: dict[str, Any] = Field(default_factory=dict)
    outputs: dict[str, CodeOutput] | None = None  # None: check values by their own types
    allow_network: bool = False
    limits: CodeLimits | None = None  # None: the executor's configured limits


class CodeResult(BaseModel):
    """What a code node's trace shows: outputs or the error, captured stdout/stderr and resource use."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    outputs: dict[str, Any] = Field(default_factory=dict)
    error: str = ""
    error_type: str = ""  # Dify's class names: CodeExecutionError, OutputValidationError, DepthLimitError, ...
    limit: LimitKind | None = None
    stdout: str = ""
    stderr: str = ""
    stdout_truncated: bool = False
    duration_ms: float = 0.0
    cpu_ms: float = 0.0
    peak_memory_kb: int = 0
    exit_code: int | None = None
    layers: tuple[str, ...] = ()  # isolation layers that were in force


class LanguageInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    language: CodeLanguage
    available: bool
    version: str = ""
    detail: str = ""  # why it is unavailable, or the interpreter path
