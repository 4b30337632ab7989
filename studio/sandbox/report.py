"""Turns a finished child's outcome into the CodeResult a node trace shows: outputs, or an error naming the limit."""

from __future__ import annotations

import json
import logging
import os
import signal

from studio.core.code import CodeLimits, CodeRequest, CodeResult, LimitKind
from studio.sandbox.outputs import OutputError, check_outputs
from studio.sandbox.process import Outcome

log = logging.getLogger(__name__)
NODE_OOM = ("heap out of memory", "Fatal process out of memory", "std::bad_alloc", "Fatal process OOM")
CRASH_SIGNALS = (signal.SIGABRT, signal.SIGSEGV, signal.SIGBUS, signal.SIGTRAP, signal.SIGKILL)


def build_result(outcome: Outcome, request: CodeRequest, limits: CodeLimits) -> CodeResult:
    """Interpret the outcome; every path, expected or hostile, ends in a CodeResult."""
    message = _parse(outcome.result) if outcome.limit != "result_size" else None
    stderr = _text(outcome.stderr)
    if message and message.get("traceback"):
        stderr = (stderr + ("\n" if stderr else "") + message["traceback"]).strip()
    common = {
        "stdout": _text(outcome.stdout), "stderr": stderr, "stdout_truncated": outcome.truncated,
        "duration_ms": round(outcome.duration_s * 1000, 2), "cpu_ms": round(outcome.cpu_s * 1000, 2),
        "peak_memory_kb": (message or {}).get("peak_kb") or outcome.peak_kb,
        "exit_code": _exit_code(outcome.status),
        "layers": tuple((message or {}).get("layers", ())),
    }
    if message and message.get("problems"):
        log.debug("sandbox layers unavailable here: %s", message["problems"])
    if outcome.limit or not message:
        limit, error = _limit_error(outcome, limits, stderr, message)
        return CodeResult(ok=False, error=error, error_type="CodeExecutionError", limit=limit, **common)
    if not message["ok"]:
        if message["setup_failed"]:
            log.error("sandbox child could not confine itself: %s", message["error"])
        return CodeResult(ok=False, error=message["error"], error_type=message["error_type"] or "CodeExecutionError",
                          limit=LimitKind(message["limit"]) if message["limit"] else None, **common)
    if not isinstance(message["result"], dict):
        return CodeResult(ok=False, error="main() must return a dict", error_type="CodeNodeError", **common)
    try:
        outputs = check_outputs(message["result"], request.outputs, limits)
    except OutputError as exc:
        return CodeResult(ok=False, error=exc.message, error_type=exc.error_type, **common)
    return CodeResult(ok=True, outputs=outputs, **common)


def _parse(raw: bytes) -> dict | None:
    """The child's message, with every field forced to its type: the child is untrusted and may forge it."""
    if not raw:
        return None
    try:
        message = json.loads(raw.decode("utf-8", "replace"))
    except RecursionError:
        message = {"ok": False, "error": "Depth limit reached, object too deep.", "error_type": "DepthLimitError"}
    except ValueError:
        return None
    if not isinstance(message, dict):
        return None
    limit, peak, layers, problems = (message.get(k) for k in ("limit", "peak_kb", "layers", "problems"))
    return {
        "ok": message.get("ok") is True, "result": message.get("result"),
        "error": _str(message.get("error")) or "The code failed", "error_type": _str(message.get("error_type")),
        "limit": limit if isinstance(limit, str) and limit in LimitKind._value2member_map_ else None,
        "traceback": _str(message.get("traceback")), "setup_failed": message.get("setup_failed") is True,
        "layers": [x for x in layers if isinstance(x, str)][:32] if isinstance(layers, list) else [],
        "problems": [str(x) for x in problems][:32] if isinstance(problems, list) else [],
        "peak_kb": peak if type(peak) is int and peak >= 0 else 0,
    }


def _str(value) -> str:
    return value if isinstance(value, str) else ""


def _limit_error(outcome: Outcome, limits: CodeLimits, stderr: str, message) -> tuple[LimitKind | None, str]:
    """The run ended without a usable result: say which limit ended it, or how the process died."""
    if outcome.limit == "startup":
        return None, "Code execution service is unavailable: the sandbox did not start in time"
    if outcome.limit == "wall_time":
        return LimitKind.WALL_TIME, f"error: timeout (the code ran longer than {limits.wall_time_s:g} s)"
    if outcome.limit == "output_size":
        return LimitKind.OUTPUT_SIZE, (f"error: output limit reached (the code printed more than "
                                       f"{limits.max_output_bytes} bytes to stdout or stderr)")
    if outcome.limit == "result_size":
        return LimitKind.RESULT_SIZE, f"error: the result is larger than {limits.max_result_bytes} bytes"
    status = outcome.status
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and outcome.cpu_s >= limits.cpu_time_s):
            return LimitKind.CPU_TIME, f"error: CPU time limit reached ({limits.cpu_time_s} s)"
        if sig == signal.SIGXFSZ:
            return LimitKind.FILE_SIZE, f"error: file size limit reached ({limits.max_file_size_mb} MB)"
        if sig in CRASH_SIGNALS and (any(s in stderr for s in NODE_OOM)
                                     or outcome.peak_kb * 2 >= limits.memory_mb * 1024):
            return LimitKind.MEMORY, f"error: memory limit reached ({limits.memory_mb} MB)"
        if sig == signal.SIGSYS:
            return LimitKind.SUBPROCESS, "error: the code made a system call the sandbox forbids"
        return None, f"error: the code crashed ({signal.Signals(sig).name}){_tail(stderr)}"
    return None, f"error: the code exited (status {os.waitstatus_to_exitcode(status)}) without a result{_tail(stderr)}"


def _exit_code(status: int) -> int | None:
    try:
        return os.waitstatus_to_exitcode(status)
    except ValueError:
        return None


def _tail(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return f": {lines[-1][:300]}" if lines else ""


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")
