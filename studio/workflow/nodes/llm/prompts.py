"""Prompt building for LLM-based nodes: variable and Jinja2 rendering, the context slot, and chatflow memory."""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from typing import Any

from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from studio.core.entities import ChatTurn
from studio.workflow.node import NodeError, RunContext
from studio.workflow.nodes.llm.entities import ContextConfig, Jinja2Variable, MemoryConfig, window_size
from studio.workflow.variables import VARIABLE_PATTERN, VariableNotFoundError, VariablePool, to_text

_ENV = ImmutableSandboxedEnvironment(autoescape=False, keep_trailing_newline=True)
_ENV_LOCK = threading.Lock()
# Dify's editor writes the slots as {{#context#}} / {{#histories#}}; its node replaces the inner "{#…#}" or
# "#…#". Studio fills the whole token, then the inner forms, so no stray braces reach the model.
_CONTEXT_TOKENS = ("{{#context#}}", "{#context#}")
_HISTORY_TOKENS = ("{{#histories#}}", "{#histories#}", "#histories#")
_FILE_KEYS = ("transfer_method", "related_id")


def _is_file(value: Any) -> bool:
    if isinstance(value, list):
        return bool(value) and all(_is_file(v) for v in value)
    return isinstance(value, dict) and (value.get("dify_model_identity") == "__dify__file__"
                                        or all(k in value for k in _FILE_KEYS))


def render(pool: VariablePool, template: str, *, strict: bool = False, used: dict[str, Any] | None = None) -> str:
    """Fill `{{#node.var#}}` references. Files read as nothing (no vision), and a missing sys.files is an
    empty list as in Dify. A missing variable fails the node when strict, else keeps its literal text."""

    def fill(m: re.Match[str]) -> str:
        path = m.group(1)
        try:
            value = pool.get(path.split("."))
        except VariableNotFoundError:
            if path == "sys.files":
                return ""
            if strict:
                raise NodeError(f"Variable {path} not found", "VariableNotFoundError") from None
            return m.group(0)
        if used is not None:
            used[f"#{path}#"] = value
        return "" if _is_file(value) else to_text(value)

    return VARIABLE_PATTERN.sub(fill, template or "")


def render_jinja2(pool: VariablePool, template: str, variables: Sequence[Jinja2Variable]) -> str:
    """A Jinja2-edition message, rendered in a sandbox with the node's declared variables only."""
    if not template:
        return ""
    values = {v.variable: pool.get_or(v.value_selector, "") if v.value_selector else "" for v in variables}
    try:
        with _ENV_LOCK:
            compiled = _ENV.from_string(template)
        return compiled.render(**values)
    except TemplateError as exc:
        raise NodeError(f"Jinja2 prompt failed to render: {exc}", "TemplateRenderError") from None


def fill_slot(text: str, tokens: Sequence[str], value: str) -> str:
    for token in tokens:
        text = text.replace(token, value)
    return text


def fill_context(text: str, context: str | None) -> str:
    return fill_slot(text, _CONTEXT_TOKENS, context or "")


def has_histories(text: str) -> bool:
    return "#histories#" in text


def fill_histories(text: str, memory_text: str) -> str:
    return fill_slot(text, _HISTORY_TOKENS, memory_text)


def fetch_context(pool: VariablePool, config: ContextConfig) -> str | None:
    """The text for the {{#context#}} slot: a string as is, or retrieval results' contents one per line."""
    if not config.enabled or not config.variable_selector:
        return None
    value = pool.get_or(config.variable_selector)
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        return None
    parts: list[str] = []
    for item in value:
        if isinstance(item, str):
            parts.append(item)
        elif isinstance(item, dict) and "content" in item:
            if item.get("summary"):
                parts.append(to_text(item["summary"]))
            parts.append(to_text(item["content"]))
        else:
            raise NodeError(f"Invalid context structure: {to_text(item)[:200]}", "InvalidContextStructureError")
    return "\n".join(parts).strip()


# -- memory -----------------------------------------------------------------------------------------
def history_pairs(ctx: RunContext, memory: MemoryConfig | None) -> list[tuple[str, str]]:
    """The conversation's earlier turns (ctx.extras["history"]) a node with memory sees in a chatflow."""
    if memory is None or ctx.mode != "advanced-chat":
        return []
    pairs = []
    for item in ctx.extras.get("history") or ():
        if isinstance(item, dict):
            query, answer = item.get("query", ""), item.get("answer", "")
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            query, answer = item
        else:
            raise NodeError("Conversation history must be (query, answer) pairs", "MemoryError")
        pairs.append((to_text(query), to_text(answer)))
    size = window_size(memory)
    if size is not None:
        pairs = pairs[-size:] if size > 0 else []
    return pairs


def history_turns(pairs: Sequence[tuple[str, str]]) -> list[ChatTurn]:
    turns = []
    for query, answer in pairs:
        turns.append(ChatTurn(role="user", content=query))
        turns.append(ChatTurn(role="assistant", content=answer))
    return turns


def history_text(pairs: Sequence[tuple[str, str]], user: str = "Human", assistant: str = "Assistant") -> str:
    user, assistant = user or "Human", assistant or "Assistant"  # Dify's chat-mode DSL writes empty prefixes
    lines = []
    for query, answer in pairs:
        lines.append(f"{user}: {query}")
        lines.append(f"{assistant}: {answer}")
    return "\n".join(lines)


def prompts_for_trace(turns: Sequence[ChatTurn]) -> list[dict[str, str]]:
    return [{"role": t.role, "text": t.content} for t in turns]


def instruction_turns(mode: str, system: str, user: str) -> list[ChatTurn]:
    """A task prompt for a chat model (system + user), or folded into one prompt for a completion model."""
    if mode == "completion":
        return [ChatTurn(role="user", content=f"{system}\n\n{user}")]
    return [ChatTurn(role="system", content=system), ChatTurn(role="user", content=user)]


def memory_block(ctx: RunContext, memory: MemoryConfig | None) -> str:
    """The chat history as tagged text for a task prompt (parameter extractor, question classifier)."""
    pairs = history_pairs(ctx, memory)
    if not pairs:
        return ""
    prefix = memory.role_prefix
    text = history_text(pairs, prefix.user, prefix.assistant) if prefix else history_text(pairs)
    return f"\n\nThe conversation so far:\n<histories>\n{text}\n</histories>"
