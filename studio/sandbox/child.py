"""The sandbox child program: confines itself, then runs one code node's `main(**inputs)` and reports in JSON.

Run by path as `python -I -S -B child.py CONFIG_JSON`. It reads one request (JSON, until EOF) on stdin and
writes one result message on the result pipe; the user's prints go to stdout/stderr, which the parent
captures separately, so they can never corrupt the result. It imports the standard library only.
"""

from __future__ import annotations

import gc
import importlib.util
import json
import os
import resource
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OS_LIMITS = {27: "file_size", 28: "file_size", 24: "open_files", 23: "open_files", 11: "processes"}  # errno → limit


def load(name: str):
    """Load a sibling stdlib-only module by path; the child never puts its own directory on sys.path."""
    spec = importlib.util.spec_from_file_location(f"_sandbox_{name}", os.path.join(HERE, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def send(fd: int, message: dict) -> None:
    """One JSON object; a result already serialised (`result_json`) is spliced in, not encoded twice."""
    result = message.pop("result_json", None)
    text = json.dumps(message, ensure_ascii=False, allow_nan=True)
    if result is not None:
        text = text[:-1] + ', "result": ' + result + "}"
    view = memoryview(text.encode("utf-8", "surrogatepass"))
    while view:
        view = view[os.write(fd, view):]


def main() -> None:
    cfg = json.loads(sys.argv[1])
    sys.argv = ["main.py"]
    fd = cfg["result_fd"]
    # Opened now, read last: VmHWM is this process's own peak (rusage would include the parent's pages).
    try:
        cfg["status_fd"] = os.open("/proc/self/status", os.O_RDONLY)
    except OSError:  # not Linux: the parent's rusage has to do
        cfg["status_fd"] = -1
    guard = load("guard")  # before Landlock hides this directory
    try:
        layers, problems = load("confine").apply(cfg)
    except Exception as exc:  # a mandatory layer failed: refuse to run anything
        send(fd, {"ok": False, "error": f"Code execution service is unavailable: sandbox setup failed: {exc}",
                  "error_type": "CodeExecutionError", "setup_failed": True})
        os._exit(3)
    if cfg["language"] == "javascript":
        exec_node(cfg, layers, problems)
    forget_ctypes()
    import linecache  # noqa: F401  (the run needs it; importing it here keeps it off the critical path)
    os.write(fd, b"\x06")  # ready: confined and waiting
    raw = sys.stdin.buffer.read()
    if not raw:  # the parent went away (or closed an idle pool): nothing to run
        os._exit(0)
    request = json.loads(raw)
    set_cpu_limit(request.get("cpu_time_s", 10))
    message = run_python(cfg, request, guard)
    message.update(layers=layers + (["audit-hook"] if cfg.get("guard", True) else []), problems=problems,
                   peak_kb=peak_kb(cfg["status_fd"]))
    for stream in (sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:  # the user's code may have closed it
            pass
    send(fd, message)
    os._exit(0)


def exec_node(cfg: dict, layers: list[str], problems: list[str]) -> None:
    """Become Node (same process, same limits, same filters) running the JavaScript child program."""
    node = cfg["node"]
    if cfg["status_fd"] >= 0:
        os.set_inheritable(cfg["status_fd"], True)
    args = [node, *cfg["node_flags"], os.path.join(HERE, "child.js"), str(cfg["result_fd"]), str(cfg["status_fd"]),
            json.dumps({"layers": layers + ["node-permissions"], "problems": problems,
                        "allowed_modules": cfg["allowed_modules"]})]
    os.execve(node, args, {})


def peak_kb(status_fd: int) -> int:
    if status_fd < 0:
        return 0
    for line in os.pread(status_fd, 8192, 0).decode("ascii", "replace").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def forget_ctypes() -> None:
    """The confinement used ctypes; drop it so user code has to import it again (and be refused)."""
    for name in [n for n in sys.modules if n == "ctypes" or n.startswith(("ctypes.", "_ctypes", "_sandbox_"))]:
        del sys.modules[name]
    gc.collect()


def set_cpu_limit(seconds: float) -> None:
    """RLIMIT_CPU counts from process start; this child was started ahead of time, so add what it used."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = int(usage.ru_utime + usage.ru_stime + seconds + 0.999)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 1))


def run_python(cfg: dict, request: dict, guard) -> dict:
    import linecache

    code = request.get("code", "")
    linecache.cache["<code>"] = (len(code), None, code.splitlines(True), "<code>")
    user_globals = {"__name__": "__main__", "__builtins__": __builtins__}
    os.environ.clear()
    sys.path.extend(cfg["sys_path"])
    if cfg.get("guard", True):
        guard.install(cfg, user_globals)
    try:
        exec(compile(code, "<code>", "exec"), user_globals)
        entry = user_globals.get("main")
        if not callable(entry):
            return {"ok": False, "error": "The code must define a function main(...) that returns a dict",
                    "error_type": "CodeExecutionError"}
        result = entry(**request.get("inputs", {}))
    except BaseException as exc:  # the user's code failed; SystemExit and KeyboardInterrupt included
        try:
            return failure(exc)
        except BaseException:  # even describing it failed (memory, a hostile __str__)
            return {"ok": False, "error": type(exc).__name__, "error_type": "CodeExecutionError",
                    "limit": "memory" if isinstance(exc, MemoryError) else None}
    if not isinstance(result, dict):
        return {"ok": False, "error": f"main() must return a dict, got {type(result).__name__}",
                "error_type": "CodeNodeError"}
    try:
        result_json = json.dumps(result, ensure_ascii=False, allow_nan=True)
    except (TypeError, ValueError) as exc:
        return {"ok": False, "error": f"Output is not JSON serializable: {exc}", "error_type": "OutputValidationError"}
    except RecursionError:
        return {"ok": False, "error": f"Depth limit {cfg['limits']['max_depth']} reached, object too deep.",
                "error_type": "DepthLimitError"}
    except MemoryError:
        return {"ok": False, "error": "Output is too large for the memory limit", "error_type": "OutputValidationError",
                "limit": "memory"}
    return {"ok": True, "result_json": result_json}


def failure(exc: BaseException) -> dict:
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == "<code>"]
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()
    error = text[-1] if text else type(exc).__name__
    if isinstance(exc, SyntaxError) and exc.lineno:
        error += f" (line {exc.lineno})"
    elif frames:
        error += f" (line {frames[-1].lineno})"
    tb = "Traceback (most recent call last):\n" + "".join(traceback.format_list(frames)) + "\n".join(text)
    return {"ok": False, "error": error, "error_type": "CodeExecutionError", "limit": limit_of(exc),
            "traceback": tb}


def limit_of(exc: BaseException | None, depth: int = 0) -> str | None:
    """Which limit or policy an exception (or what caused it) comes from, if any."""
    if exc is None or depth > 5:
        return None
    if getattr(exc, "kind", None):
        return exc.kind
    if isinstance(exc, MemoryError):
        return "memory"
    if isinstance(exc, OSError) and exc.errno in OS_LIMITS:
        return OS_LIMITS[exc.errno]
    if isinstance(exc, RuntimeError) and "new thread" in str(exc):
        return "processes"
    reason = getattr(exc, "reason", None)  # urllib wraps the socket error
    for inner in (exc.__cause__, exc.__context__, reason if isinstance(reason, BaseException) else None):
        found = limit_of(inner, depth + 1)
        if found:
            return found
    return None


if __name__ == "__main__":
    main()
