"""Calling a model through ctx.llm: streamed text, token usage, error mapping, <think> splitting and JSON parsing."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from studio.core.entities import ChatTurn
from studio.core.errors import StudioError
from studio.workflow.node import NodeError, RunContext

log = logging.getLogger(__name__)

_THINK_OPEN = re.compile(r"<think[^>]*>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"</think>", re.IGNORECASE)


@dataclass
class Completion:
    """The end of one model call: the whole text and its token counts."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = ""

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def usage(self) -> dict[str, int]:
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "total_tokens": self.total_tokens}

    @property
    def metadata(self) -> dict[str, Any]:
        return {"total_tokens": self.total_tokens, "total_price": "0", "currency": "USD"}


def stream(ctx: RunContext, model: dict[str, Any], turns: Sequence[ChatTurn], *,
           json_schema: dict[str, Any] | None = None) -> Iterator[str | Completion]:
    """Yield text pieces, then one Completion. Every failure becomes a NodeError with a readable message."""
    if ctx.llm is None:
        raise NodeError("No model runtime available", "ModelNotExistError")
    pieces: list[str] = []
    final = None
    try:
        for chunk in ctx.llm.stream(model, list(turns), ctx.cancel, json_schema=json_schema):
            if chunk.done:
                final = chunk
            elif chunk.text:
                pieces.append(chunk.text)
                yield chunk.text
    except NodeError:
        raise
    except StudioError as exc:
        raise NodeError(exc.message, type(exc).__name__) from None
    except Exception as exc:  # a provider bug must fail the node, not the run's thread
        log.exception("model call failed")
        raise NodeError(f"Model call failed: {exc}", "LLMNodeError") from None
    if ctx.cancel.cancelled or (final is not None and final.finish_reason == "cancelled"):
        raise NodeError("Stopped by the user", "Stopped")
    if final is None:
        yield Completion("".join(pieces), finish_reason="stop")
        return
    yield Completion("".join(pieces), final.prompt_tokens, final.completion_tokens, final.finish_reason or "stop")


def complete(ctx: RunContext, model: dict[str, Any], turns: Sequence[ChatTurn], *,
             json_schema: dict[str, Any] | None = None) -> Completion:
    """The same call without streaming, for nodes that only need the final text."""
    result = None
    for item in stream(ctx, model, turns, json_schema=json_schema):
        if isinstance(item, Completion):
            result = item
    assert result is not None
    return result


class ThinkSplitter:
    """Streams text with <think>…</think> blocks taken out (Dify's "separated" reasoning format); what was
    inside goes to `reasoning`. A partial tag at a chunk boundary is held back until the next chunk."""

    def __init__(self) -> None:
        self._buf = ""
        self._open_tag = ""
        self._inside = False
        self._blocks: list[str] = []
        self._current: list[str] = []
        self._started = False  # leading whitespace (often left by a removed block) is dropped

    @classmethod
    def strip(cls, text: str) -> str:
        """`text` without its closed <think> blocks."""
        splitter = cls()
        return splitter.feed(text) + splitter.flush()

    @property
    def reasoning(self) -> str:
        return "\n".join(b.strip() for b in self._blocks)

    def feed(self, text: str) -> str:
        self._buf += text
        out: list[str] = []
        while self._buf:
            if not self._step(out):
                break
        return self._visible("".join(out))

    def _step(self, out: list[str]) -> bool:
        """Consume what can be decided in the buffer; False when the rest must wait for more text."""
        pattern = _THINK_CLOSE if self._inside else _THINK_OPEN
        m = pattern.search(self._buf)
        if m:
            before, self._buf = self._buf[:m.start()], self._buf[m.end():]
            if self._inside:
                self._blocks.append("".join(self._current) + before)
                self._current = []
            else:
                out.append(before)
                self._open_tag = m.group(0)
            self._inside = not self._inside
            return True
        cut = self._partial_tag_at()
        keep, self._buf = self._buf[:cut], self._buf[cut:]
        (self._current if self._inside else out).append(keep)
        return False

    def _partial_tag_at(self) -> int:
        idx = self._buf.rfind("<")
        if idx < 0:
            return len(self._buf)
        tail = self._buf[idx:].lower()
        if self._inside:
            return idx if "</think>".startswith(tail) else len(self._buf)
        maybe = "<think".startswith(tail) or (tail.startswith("<think") and ">" not in tail)
        return idx if maybe else len(self._buf)

    def _visible(self, text: str) -> str:
        if not self._started:
            text = text.lstrip()
            self._started = bool(text)
        return text

    def flush(self) -> str:
        """At the end: an unclosed <think> is not reasoning (Dify's pattern needs the closing tag)."""
        rest = self._buf
        if self._inside:
            rest = self._open_tag + "".join(self._current) + rest
        self._buf, self._current, self._inside = "", [], False
        return self._visible(rest)


def parse_json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in a model's text (bare, or inside a ``` fence, or after some prose)."""
    text = text.strip()
    try:
        value = json.loads(text)
        return value if isinstance(value, dict) else None
    except ValueError:
        pass
    decoder = json.JSONDecoder()
    for m in re.finditer(r"\{", text):
        try:
            value, _ = decoder.raw_decode(text[m.start():])
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None
