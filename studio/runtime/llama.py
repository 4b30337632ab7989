"""Local chat models through llama.cpp: lazy loading, one thread at a time per model, streaming with cancel."""

from __future__ import annotations

import codecs
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from studio.core.cancel import CancelToken
from studio.core.entities import ChatTurn, GenerationChunk, GenerationParams, ModelInfo
from studio.core.errors import ModelError, PromptTooLongError

log = logging.getLogger(__name__)

# Used only when a GGUF carries no chat template of its own.
CHATML = (
    "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
PREFILL_BATCH = 128  # prompt tokens evaluated between cancel checks


@dataclass
class _Loaded:
    llm: object
    formatter: object
    eos_text: str
    n_ctx: int
    # A llama.cpp context is used by one thread at a time. The caller's thread generates while holding the
    # lock: a hand-off to a model thread per token cost ~5% of throughput in GIL ping-pong.
    lock: threading.Lock = field(default_factory=threading.Lock)
    closed: bool = False


class _Stop:
    """Finds stop strings in streamed text, holding back only what could still become one."""

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = [s for s in stops if s]
        self.pending = ""

    def feed(self, text: str) -> tuple[str, bool]:
        self.pending += text
        for s in self.stops:
            at = self.pending.find(s)
            if at >= 0:
                out, self.pending = self.pending[:at], ""
                return out, True
        hold = 0
        for s in self.stops:
            for k in range(min(len(s) - 1, len(self.pending)), 0, -1):
                if self.pending.endswith(s[:k]):
                    hold = max(hold, k)
                    break
        cut = len(self.pending) - hold
        out, self.pending = self.pending[:cut], self.pending[cut:]
        return out, False


class LlamaCppProvider:
    """Implements core.ports.ChatModelProvider for GGUF files."""

    def __init__(self, *, n_ctx: int = 4096, n_threads: int = 2, max_loaded: int = 2) -> None:
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.max_loaded = max_loaded
        self._loaded: OrderedDict[str, _Loaded] = OrderedDict()
        self._lock = threading.Lock()

    def configure(self, *, n_ctx: int | None = None, n_threads: int | None = None) -> None:
        """Apply new load settings; loaded models are unloaded so the next use picks them up."""
        if n_ctx:
            self.n_ctx = n_ctx
        if n_threads:
            self.n_threads = n_threads
        self.unload_all(wait=False)

    # -- loading -------------------------------------------------------------------------------
    def load(self, model: ModelInfo) -> None:
        """Load a model now (normally it loads on first use); raises ModelError with the reason."""
        self._get(model)

    def _get(self, model: ModelInfo) -> _Loaded:
        with self._lock:
            loaded = self._loaded.get(model.path)
            if loaded is not None:
                self._loaded.move_to_end(model.path)
                return loaded
            while len(self._loaded) >= self.max_loaded:
                _, old = self._loaded.popitem(last=False)
                self._close(old)
            loaded = self._open(model)
            self._loaded[model.path] = loaded
            return loaded

    def _open(self, model: ModelInfo) -> _Loaded:
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        n_ctx = min(self.n_ctx, model.context_length) if model.context_length else self.n_ctx
        log.info("loading %s (n_ctx=%d)", model.path, n_ctx)
        try:
            llm = Llama(model_path=model.path, n_ctx=n_ctx, n_threads=self.n_threads,
                        n_threads_batch=self.n_threads, n_batch=512, verbose=False)
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(f"Could not load {model.name}: {exc}") from exc
        eos = llm.token_eos()
        eos_text = llm._model.token_get_text(eos) if eos != -1 else ""
        bos = llm.token_bos()
        bos_text = llm._model.token_get_text(bos) if bos != -1 else ""
        template = llm.metadata.get("tokenizer.chat_template") or CHATML
        formatter = Jinja2ChatFormatter(template=template, eos_token=eos_text, bos_token=bos_text)
        return _Loaded(llm=llm, formatter=formatter, eos_text=eos_text, n_ctx=n_ctx)

    @staticmethod
    def _close(loaded: _Loaded, wait: bool = False) -> None:
        """Close after any generation still running, so nothing is cut off mid-answer."""

        def close() -> None:
            with loaded.lock:
                loaded.closed = True
                loaded.llm.close()

        if wait:
            close()
        else:
            threading.Thread(target=close, name="model-unload", daemon=True).start()

    def unload_all(self, wait: bool = True) -> None:
        """Unload every model; with wait=False running answers finish first without blocking the caller."""
        with self._lock:
            while self._loaded:
                self._close(self._loaded.popitem()[1], wait=wait)

    # -- tokens ----------------------------------------------------------------------------------
    def count_tokens(self, model: ModelInfo, text: str) -> int:
        loaded = self._acquire(model)
        try:
            return len(loaded.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))
        finally:
            loaded.lock.release()

    def _acquire(self, model: ModelInfo) -> _Loaded:
        """The loaded model, locked for this thread; a model unloaded meanwhile is loaded again."""
        for _ in range(3):
            loaded = self._get(model)
            loaded.lock.acquire()
            if not loaded.closed:
                return loaded
            loaded.lock.release()
        raise ModelError(f"{model.name} was unloaded while starting; try again")

    def _prompt_tokens(self, loaded: _Loaded, turns: Sequence[ChatTurn]) -> list[int]:
        response = loaded.formatter(messages=[{"role": t.role, "content": t.content} for t in turns])
        return loaded.llm.tokenize(response.prompt.encode("utf-8"), add_bos=not response.added_special, special=True)

    def _fit(self, loaded: _Loaded, turns: Sequence[ChatTurn], max_tokens: int, keep_first: int,
             stopped=lambda: False) -> tuple[list[int], int, int] | None:
        """Drop the oldest history (whole user/assistant pairs) until the prompt and the answer fit.

        Every turn costs at least one token, so history beyond the context window is dropped before any
        template is rendered; then a binary search finds the fewest pairs to drop, so a long `messages`
        list costs a few renders rather than one per pair. None when stopped meanwhile."""
        turns = list(turns)
        history = len(turns) - keep_first
        drops = _drop_counts(history)
        lo = 0
        while lo < len(drops) - 1 and history - drops[lo] > loaded.n_ctx:
            lo += 1
        hi = len(drops) - 1
        best = None
        while lo <= hi:  # the first drop count whose prompt fits; fewer tokens the more is dropped
            if stopped():
                return None
            mid = (lo + hi) // 2
            tokens = self._prompt_tokens(loaded, turns[:keep_first] + turns[keep_first + drops[mid]:])
            if len(tokens) + max_tokens <= loaded.n_ctx:
                best, hi = (tokens, drops[mid]), mid - 1
            else:
                lo = mid + 1
        if best is None:  # even the shortest prompt leaves less room than asked: answer in what is left
            best = (self._prompt_tokens(loaded, turns[:keep_first] + turns[keep_first + drops[-1]:]), drops[-1])
        tokens, dropped = best
        room = loaded.n_ctx - len(tokens)
        if room < 1:
            raise PromptTooLongError(
                f"The prompt is {len(tokens)} tokens but the model's context window is {loaded.n_ctx} tokens. "
                "Shorten the prompt or inputs, or raise the context size in Settings."
            )
        return tokens, dropped, min(max_tokens, room)

    # -- generation ------------------------------------------------------------------------------
    def stream_chat(self, model: ModelInfo, turns: Sequence[ChatTurn], params: GenerationParams,
                    cancel: CancelToken, *, keep_first: int = 1) -> Iterator[GenerationChunk]:
        loaded = self._acquire(model)
        try:
            yield from self._generate(loaded, turns, params, lambda: cancel.cancelled, keep_first)
        except (ModelError, PromptTooLongError):
            raise
        except Exception as exc:
            log.exception("generation failed")
            raise ModelError(f"Generation failed: {exc}") from exc
        finally:
            loaded.lock.release()

    @staticmethod
    def _grammar(schema: dict):
        import json

        from llama_cpp import LlamaGrammar

        try:
            return LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
        except Exception as exc:  # llama.cpp's converter rejects schemas it cannot express
            raise ModelError(f"The JSON schema cannot be used for structured output: {exc}") from exc

    def _prefill(self, llm, tokens: list[int], stopped) -> bool:
        """Evaluate all but the last prompt token in small batches, reusing the cached prefix,
        so that Stop is honoured during a long prompt too."""
        cached = 0
        for a, b in zip(llm._input_ids.tolist(), tokens[:-1]):
            if a != b:
                break
            cached += 1
        llm.n_tokens = cached
        # The last batch is left to generate(), which evaluates it anyway: one decode call fewer per answer.
        for i in range(cached, len(tokens) - PREFILL_BATCH, PREFILL_BATCH):
            if stopped():
                return False
            llm.eval(tokens[i:i + PREFILL_BATCH])
        return not stopped()

    def _generate(self, loaded: _Loaded, turns, params: GenerationParams, stopped,
                  keep_first: int) -> Iterator[GenerationChunk]:
        import llama_cpp

        llm = loaded.llm
        fitted = self._fit(loaded, turns, params.max_tokens, keep_first, stopped)
        if fitted is None:
            yield GenerationChunk(done=True, finish_reason="cancelled")
            return
        tokens, dropped, max_new = fitted
        if params.seed is not None:
            llm.set_seed(params.seed)
        grammar = self._grammar(params.json_schema) if params.json_schema else None
        finish, count = "length", 0
        stop = _Stop([*params.stop, loaded.eos_text])
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        if not self._prefill(llm, tokens, stopped):
            finish = "cancelled"
        else:
            vocab = llm._model.vocab
            for token in llm.generate(tokens, temp=params.temperature, top_p=params.top_p, top_k=40,
                                      min_p=0.05, repeat_penalty=1.0, grammar=grammar):
                if stopped():
                    finish = "cancelled"
                    break
                if llama_cpp.llama_vocab_is_eog(vocab, token):
                    finish = "stop"
                    break
                count += 1
                text, hit = stop.feed(decoder.decode(llm.detokenize([token])))
                if text:
                    yield GenerationChunk(text=text)
                if hit:
                    finish = "stop"
                    break
                if count >= max_new:
                    break
        if finish != "stop":
            tail, _ = stop.feed(decoder.decode(b"", final=True))
            if tail + stop.pending:
                yield GenerationChunk(text=tail + stop.pending)
        yield GenerationChunk(done=True, prompt_tokens=len(tokens), completion_tokens=count,
                              finish_reason=finish, dropped_turns=dropped)


def _drop_counts(history: int) -> list[int]:
    """How many of the oldest history turns may be dropped, in order: whole pairs while more than one pair
    is left, then the last single turn, never the newest one."""
    counts, dropped = [0], 0
    while history - dropped > 1:
        dropped += 2 if history - dropped > 2 else 1
        counts.append(dropped)
    return counts
