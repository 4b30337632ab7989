"""The service API under load, over real HTTP on loopback: streaming tokens/s through /v1/chat-messages against
llama-cpp-python directly, blocking workflow requests/s and p99 at 1/8/32 clients, and 50 concurrent streams."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
from llama_cpp import Llama

from studio.api.app import DEFAULT_WORKERS
from studio.app import build
from studio.core.app_config import default_config
from studio.core.entities import AppMode
from studio.core.settings import Settings
from tests.api.flows import ECHO, code_workflow
from tests.bench.test_bench_chat import MAX_TOKENS, N_CTX, QUERIES, SYSTEM, _rate, raw_run

ROOT = Path(__file__).resolve().parents[2]
# Studio's default (core/settings.py): all cores but one, so the HTTP server and its client keep a core. Both sides
# get the same count; STUDIO_BENCH_THREADS overrides it.
THREADS = int(os.environ.get("STUDIO_BENCH_THREADS") or max(1, (os.cpu_count() or 1) - 1))


def _services(home):
    services = build(Settings(home=home, n_ctx=N_CTX, n_threads=THREADS))
    services.settings.set("n_ctx", N_CTX)
    return services


def _chat_app(services, max_tokens: int):
    cfg = default_config(AppMode.CHAT, SYSTEM)
    cfg["model"]["completion_params"].update(temperature=0.0, top_p=1.0, max_tokens=max_tokens)
    app = services.apps.create(f"Bench {max_tokens}", "chat", config=cfg)
    return app, services.keys.create(app.id)[1]


def api_run(client: httpx.Client, key: str, query: str) -> tuple[float, float, int]:
    start = time.perf_counter()
    ttft, n = 0.0, 0
    body = {"inputs": {}, "query": query, "user": "bench", "response_mode": "streaming"}
    with client.stream("POST", "/chat-messages", json=body, headers={"Authorization": f"Bearer {key}"}) as r:
        for line in r.iter_lines():
            if not line.startswith("data: "):
                continue
            event = json.loads(line[6:])
            if event["event"] == "message" and not ttft:
                ttft = time.perf_counter() - start
            elif event["event"] == "message_end":
                n = event["metadata"]["usage"]["completion_tokens"]
    return ttft, time.perf_counter() - start, n


def test_streaming_tokens_per_second_vs_raw(tmp_path, report):
    services = _services(tmp_path)
    app, key = _chat_app(services, MAX_TOKENS)
    model = services.models.default_chat_model()
    server = services.api_access.build(services, port=0)
    url = server.start()
    llm = Llama(model_path=model.path, n_ctx=N_CTX, n_threads=THREADS, n_threads_batch=THREADS, n_batch=512,
                verbose=False)
    try:
        with httpx.Client(base_url=url, timeout=300) as client:
            raw_run(llm, "warm up")
            api_run(client, key, "warm up")
            raw, ours = [], []
            for query in QUERIES:  # interleaved so that machine noise hits both alike
                raw.append(raw_run(llm, query))
                ours.append(api_run(client, key, query))
    finally:
        server.stop()
        services.close()
        llm.close()
    raw_tps = statistics.median(_rate(n, t, total) for t, total, n in raw)
    api_tps = statistics.median(_rate(n, t, total) for t, total, n in ours)
    raw_ttft = statistics.median(t for t, _, _ in raw) * 1000
    api_ttft = statistics.median(t for t, _, _ in ours) * 1000
    report(f"API streaming: {len(QUERIES)} prompts, max_tokens {MAX_TOKENS}, greedy, {THREADS} threads")
    report(f"tokens/s       raw llama-cpp-python {raw_tps:7.1f}   /v1/chat-messages SSE {api_tps:7.1f}   "
           f"ratio {api_tps / raw_tps:.1%}")
    report(f"first token ms raw llama-cpp-python {raw_ttft:7.1f}   /v1/chat-messages SSE {api_ttft:7.1f}   "
           f"added {api_ttft - raw_ttft:+.1f} ms")


async def _blocking_load(url: str, key: str, clients: int, per_client: int) -> tuple[list[float], float, int]:
    latencies: list[float] = []
    failures = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        async def one_client(i: int) -> None:
            nonlocal failures
            for j in range(per_client):
                start = time.perf_counter()
                r = await client.post("/workflows/run", headers={"Authorization": f"Bearer {key}"},
                                      json={"inputs": {"text": f"{i}-{j}"}, "user": f"c{i}"})
                latencies.append(time.perf_counter() - start)
                if r.status_code != 200 or r.json()["data"]["status"] != "succeeded":
                    failures += 1
        start = time.perf_counter()
        await asyncio.gather(*(one_client(i) for i in range(clients)))
        return latencies, time.perf_counter() - start, failures


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _load_in_another_process(url: str, key: str, clients: int, per_client: int) -> tuple[list[float], float, int]:
    """The load comes from its own process, as a local script's would: a client sharing the server's GIL would
    slow the server and count its own waits as latency."""
    code = ("import asyncio, json, sys; from tests.bench.test_bench_api import _blocking_load; "
            "print(json.dumps(asyncio.run(_blocking_load(*sys.argv[1:3], *map(int, sys.argv[3:5])))))")
    out = subprocess.run([sys.executable, "-c", code, url, key, str(clients), str(per_client)], check=True,
                         capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    latencies, elapsed, failures = json.loads(out.stdout)
    return latencies, elapsed, failures


def test_blocking_workflow_throughput(tmp_path, report):
    """A trivial workflow (start → template → end) so the numbers are the API and engine, not user code."""
    services = _services(tmp_path)
    app = services.dsl.import_text(_template_workflow()).app
    key = services.keys.create(app.id)[1]
    server = services.api_access.build(services, port=0)  # the default worker pool, as `studio serve` has it
    url = server.start()
    try:
        _load_in_another_process(url, key, 4, 5)  # warm up
        for clients in (1, 8, 32):
            per_client = max(4, 400 // clients)
            latencies, elapsed, failures = _load_in_another_process(url, key, clients, per_client)
            report(f"blocking /workflows/run, {clients:2d} clients: {len(latencies) / elapsed:6.1f} req/s   "
                   f"p50 {_p(latencies, 0.5):6.1f} ms   p99 {_p(latencies, 0.99):6.1f} ms   "
                   f"({len(latencies)} requests, {failures} failed, {DEFAULT_WORKERS} server workers)")
            assert failures == 0
    finally:
        server.stop()
        services.close()


def _template_workflow() -> str:
    import yaml

    nodes = [
        {"id": "start", "type": "custom", "data": {"type": "start", "title": "Start", "variables": [
            {"variable": "text", "label": "text", "type": "text-input", "required": False}]}},
        {"id": "tpl", "type": "custom", "data": {"type": "template-transform", "title": "T", "template": "<{{ t }}>",
                                                 "variables": [{"variable": "t", "value_selector": ["start", "text"]}]}},
        {"id": "end", "type": "custom", "data": {"type": "end", "title": "End", "outputs": [
            {"variable": "out", "value_selector": ["tpl", "output"]}]}},
    ]
    edges = [{"id": f"{s}-{t}", "source": s, "target": t, "sourceHandle": "source", "targetHandle": "target"}
             for s, t in (("start", "tpl"), ("tpl", "end"))]
    return yaml.safe_dump({"version": "0.3.1", "kind": "app", "app": {"name": "bench-flow", "mode": "workflow"},
                           "workflow": {"graph": {"nodes": nodes, "edges": edges}, "features": {}}})


async def _stream_one(client: httpx.AsyncClient, key: str, i: int) -> tuple[bool, int, float]:
    start = time.perf_counter()
    body = {"inputs": {}, "query": f"Say hello to person number {i}", "user": f"s{i}", "response_mode": "streaming"}
    events: list[str] = []
    async with client.stream("POST", "/chat-messages", json=body,
                             headers={"Authorization": f"Bearer {key}"}) as r:
        async for line in r.aiter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:])["event"])
            elif line == "event: ping":
                events.append("ping")
    ok = r.status_code == 200 and bool(events) and events[-1] == "message_end" and "message" in events
    return ok, events.count("ping"), time.perf_counter() - start


def test_fifty_concurrent_streams(tmp_path, report):
    services = _services(tmp_path)
    app, key = _chat_app(services, 24)
    server = services.api_access.build(services, port=0, workers=16)
    url = server.start()

    async def run() -> list[tuple[bool, int, float]]:
        limits = httpx.Limits(max_connections=60, max_keepalive_connections=60)
        async with httpx.AsyncClient(base_url=url, timeout=600, limits=limits) as client:
            return await asyncio.gather(*(_stream_one(client, key, i) for i in range(50)))

    try:
        start = time.perf_counter()
        results = asyncio.run(run())
        elapsed = time.perf_counter() - start
        stored = services.conversations.recent_messages(app.id, 100)
    finally:
        server.stop()
        services.close()
    completed = sum(ok for ok, _, _ in results)
    pings = sum(p for _, p, _ in results)
    report(f"50 concurrent streaming chats (max_tokens 24, one model, 16 workers): {completed}/50 completed with "
           f"message_end in {elapsed:.1f} s; slowest {max(t for *_, t in results):.1f} s; {pings} pings kept "
           f"waiting clients alive; {sum(m.status.value == 'normal' for m in stored)}/50 stored as normal")
    assert completed == 50 and len(stored) == 50
