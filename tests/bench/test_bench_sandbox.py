"""Code-node latency end to end through the sandbox (warm pool, burst, cold), against a bare `python -c` in the
same run. Target: a trivial code node under 30 ms p50 with the pool warm."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from studio.core.code import CodeLanguage, CodeLimits, CodeRequest
from studio.sandbox import SandboxRunner

N = 40
TRIVIAL_PY = "def main(a: int) -> dict:\n    return {'b': a + 1}\n"
TRIVIAL_JS = "function main({a}) { return {b: a + 1}; }"


def percentiles(ms: list[float]) -> tuple[float, float]:
    ordered = sorted(ms)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.95) - 1]


def timed(fn, n: int = N, between=None) -> list[float]:
    out = []
    for _ in range(n):
        if between:
            between()
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def bare_python(code: str) -> None:
    proc = subprocess.run([sys.executable, "-c", code], input=b'{"a": 1}', capture_output=True)
    assert proc.returncode == 0


def sandbox_run(runner: SandboxRunner, language: CodeLanguage, code: str) -> None:
    result = runner.run(CodeRequest(language=language, code=code, inputs={"a": 1}))
    assert result.ok and result.outputs == {"b": 2}, result.error


def test_sandbox_latency(report):
    rows: list[tuple[str, list[float]]] = []
    rows.append(("bare `python -c pass` (subprocess)", timed(lambda: bare_python("pass"))))
    rows.append(("bare `python -c` trivial main + JSON", timed(lambda: bare_python(
        "import json,sys\ndef main(a):\n    return {'b': a + 1}\nprint(json.dumps(main(**json.load(sys.stdin))))"))))
    limits = CodeLimits()
    warm = SandboxRunner(limits=limits, pool_size=2)
    try:
        def py():
            sandbox_run(warm, CodeLanguage.PYTHON3, TRIVIAL_PY)

        def js():
            sandbox_run(warm, CodeLanguage.JAVASCRIPT, TRIVIAL_JS)

        def ready(language):
            return lambda: warm.warm(language, wait_s=10)  # as in use: the pool refilled since the last run

        rows.append(("sandbox python3, warm pool (child ready)", timed(py, between=ready(CodeLanguage.PYTHON3))))
        rows.append(("sandbox python3, back-to-back burst (pool of 2)", timed(py)))
        rows.append(("sandbox javascript, warm pool (child ready)", timed(js, n=20,
                                                                         between=ready(CodeLanguage.JAVASCRIPT))))
    finally:
        warm.close()
    cold = SandboxRunner(limits=limits, pool_size=0)
    try:
        rows.append(("sandbox python3, cold (no pool)", timed(lambda: sandbox_run(cold, CodeLanguage.PYTHON3,
                                                                                 TRIVIAL_PY), n=20)))
        rows.append(("sandbox javascript, cold (no pool)", timed(lambda: sandbox_run(cold, CodeLanguage.JAVASCRIPT,
                                                                                    TRIVIAL_JS), n=10)))
    finally:
        cold.close()
    report(f"sandbox latency, ms ({os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}):")
    summary = {}
    for name, ms in rows:
        p50, p95 = percentiles(ms)
        summary[name] = {"p50": round(p50, 1), "p95": round(p95, 1), "n": len(ms)}
        report(f"  {name:52} p50 {p50:7.1f}   p95 {p95:7.1f}   n={len(ms)}")
    warm_p50 = summary["sandbox python3, warm pool (child ready)"]["p50"]
    assert warm_p50 < 30, f"a trivial code node took {warm_p50} ms p50 with the pool warm"
    assert warm_p50 < summary["bare `python -c pass` (subprocess)"]["p50"]
