"""Tokens/s and time to first token through Studio's chat service versus llama-cpp-python called directly."""

import statistics
import time

from llama_cpp import Llama

from studio.app import build
from studio.core.app_config import default_config
from studio.core.entities import AppMode
from studio.core.events import MessageFinished, TextChunk
from studio.core.settings import Settings

SYSTEM = "You are a helpful assistant."
QUERIES = [f"Write a long story about a {animal} who learns to fly." for animal in
           ("dragon", "turtle", "cat", "whale", "snail", "horse")]
MAX_TOKENS = 256
N_CTX = 4096
THREADS = 2  # both sides alike; Studio's default leaves one core free (see core/settings.py)


def _rate(n_tokens: int, ttft: float, total: float) -> float:
    return (n_tokens - 1) / (total - ttft) if total > ttft and n_tokens > 1 else 0.0


def raw_run(llm: Llama, query: str) -> tuple[float, float, int]:
    start = time.perf_counter()
    ttft, n = 0.0, 0
    for chunk in llm.create_chat_completion(
        messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": query}],
        stream=True, temperature=0.0, top_p=1.0, top_k=40, min_p=0.05, max_tokens=MAX_TOKENS,
    ):
        if chunk["choices"][0]["delta"].get("content"):
            n += 1
            if not ttft:
                ttft = time.perf_counter() - start
    return ttft, time.perf_counter() - start, n


def studio_run(services, app_id: str, query: str) -> tuple[float, float, int]:
    start = time.perf_counter()
    ttft, n = 0.0, 0
    for ev in services.chat.send(app_id, query):
        if isinstance(ev, TextChunk):
            if not ttft:
                ttft = time.perf_counter() - start
        elif isinstance(ev, MessageFinished):
            n = ev.message.answer_tokens
    return ttft, time.perf_counter() - start, n


def test_chat_throughput_vs_raw_llama_cpp(tmp_path, report):
    services = build(Settings(home=tmp_path, n_ctx=N_CTX, n_threads=THREADS))
    services.settings.set("n_ctx", N_CTX)
    model = services.models.default_chat_model()
    cfg = default_config(AppMode.CHAT, SYSTEM)
    cfg["model"]["completion_params"].update(temperature=0.0, top_p=1.0, max_tokens=MAX_TOKENS)
    app = services.apps.create("Bench", "chat", config=cfg)
    llm = Llama(model_path=model.path, n_ctx=N_CTX, n_threads=THREADS, n_threads_batch=THREADS, n_batch=512,
                verbose=False)
    try:
        raw_run(llm, "warm up")
        studio_run(services, app.id, "warm up")
        raw, ours = [], []
        for query in QUERIES:  # interleaved so that machine noise hits both alike
            raw.append(raw_run(llm, query))
            ours.append(studio_run(services, app.id, query))
    finally:
        services.close()
        llm.close()
    raw_tps = statistics.median(_rate(n, t, total) for t, total, n in raw)
    our_tps = statistics.median(_rate(n, t, total) for t, total, n in ours)
    raw_ttft = statistics.median(t for t, _, _ in raw) * 1000
    our_ttft = statistics.median(t for t, _, _ in ours) * 1000
    report(f"model {model.name}, {len(QUERIES)} prompts, max_tokens {MAX_TOKENS}, greedy, n_ctx {N_CTX}, "
           f"{THREADS} threads")
    report(f"tokens/s       raw llama-cpp-python {raw_tps:7.1f}   Studio service {our_tps:7.1f}   "
           f"ratio {our_tps / raw_tps:.1%}")
    report(f"first token ms raw llama-cpp-python {raw_ttft:7.1f}   Studio service {our_ttft:7.1f}   "
           f"added {our_ttft - raw_ttft:+.1f} ms")
    assert our_tps > 0 and raw_tps > 0
