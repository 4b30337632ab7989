"""The read-only outline of a graph: its nodes in execution order, containers' insides nested, with a summary each."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

HIDDEN_TYPES = ("iteration-start", "loop-start")


@dataclass(frozen=True)
class OutlineNode:
    id: str
    type: str
    title: str
    parent_id: str | None
    level: int
    summary: str = ""
    data: dict[str, Any] = field(default_factory=dict)


def _parent(node: dict[str, Any], ids: set[str]) -> str | None:
    data = node.get("data") or {}
    parent = node.get("parentId") or data.get("iteration_id") or data.get("loop_id")
    return str(parent) if parent and str(parent) in ids and str(parent) != str(node.get("id")) else None


def _ordered(members: list[dict[str, Any]], edges: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Longest-path layers from the roots (Kahn), ties broken top to bottom as drawn on Dify's canvas."""
    ids = {str(n.get("id")) for n in members}
    out: dict[str, list[str]] = defaultdict(list)
    indegree = dict.fromkeys(ids, 0)
    for e in edges:
        source, target = str(e.get("source")), str(e.get("target"))
        if source in ids and target in ids and source != target:
            out[source].append(target)
            indegree[target] += 1
    depth = dict.fromkeys(ids, 0)
    ready = [i for i, d in indegree.items() if d == 0]
    while ready:
        current = ready.pop()
        for target in out[current]:
            depth[target] = max(depth[target], depth[current] + 1)
            indegree[target] -= 1
            if indegree[target] == 0:
                ready.append(target)

    def key(node: dict[str, Any]):
        pos = node.get("position") or {}
        return depth[str(node.get("id"))], float(pos.get("y") or 0), float(pos.get("x") or 0)

    return sorted(members, key=key)


def outline(graph: dict[str, Any]) -> list[OutlineNode]:
    """Every visible node once, parents before their insides; unreachable nodes still appear (after the rest)."""
    nodes = [n for n in graph.get("nodes") or [] if isinstance(n, dict) and n.get("id") is not None]
    edges = [e for e in graph.get("edges") or [] if isinstance(e, dict)]
    ids = {str(n["id"]) for n in nodes}
    scopes: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for node in nodes:
        scopes[_parent(node, ids)].append(node)
    result: list[OutlineNode] = []

    def visit(scope: str | None, level: int) -> None:
        for node in _ordered(scopes.get(scope, []), edges):
            data = node.get("data") or {}
            node_type = str(data.get("type") or "")
            if node_type in HIDDEN_TYPES:
                continue
            node_id = str(node["id"])
            result.append(OutlineNode(node_id, node_type, str(data.get("title") or node_type), scope, level,
                                      summarize(node_type, data), data))
            visit(node_id, level + 1)

    visit(None, 0)
    return result


def summarize(node_type: str, data: dict[str, Any]) -> str:
    """One short line about what the node is set to do."""
    if node_type == "start":
        names = [str(v.get("variable")) for v in data.get("variables") or [] if isinstance(v, dict)]
        return ", ".join(names) if names else "no inputs"
    if node_type == "end":
        return ", ".join(str(o.get("variable")) for o in data.get("outputs") or [] if isinstance(o, dict))
    if node_type == "answer":
        return " ".join(str(data.get("answer") or "").split())[:60]
    if node_type in ("llm", "question-classifier", "parameter-extractor"):
        model = data.get("model") or {}
        return str(model.get("name") or "default model")
    if node_type == "if-else":
        cases = data.get("cases") or []
        return f"{len(cases)} case{'s' if len(cases) != 1 else ''} + ELSE"
    if node_type == "code":
        return str(data.get("code_language") or "")
    if node_type == "http-request":
        return f"{str(data.get('method') or 'get').upper()} {data.get('url') or ''}".strip()
    if node_type == "tool":
        return str(data.get("tool_label") or data.get("tool_name") or "")
    if node_type in ("iteration", "loop"):
        selector = data.get("iterator_selector") or []
        return ("over " + ".".join(map(str, selector))) if selector else ""
    return str(data.get("desc") or "")
