"""Tiny builders for workflow graphs in Dify's DSL shape, so tests read like the graphs they run."""

from __future__ import annotations

from typing import Any


def node(node_id: str, type_: str, **data: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "custom", "data": {"type": type_, "title": data.pop("title", node_id), **data}}


def edge(source: str, target: str, handle: str = "source") -> dict[str, Any]:
    return {"id": f"{source}-{handle}-{target}", "source": source, "target": target, "sourceHandle": handle,
            "targetHandle": "target"}


def graph(nodes: list[dict], edges: list[tuple]) -> dict[str, Any]:
    return {"nodes": nodes, "edges": [edge(*e) for e in edges]}


def start(*names: str, **types: str) -> dict[str, Any]:
    variables = [{"variable": n, "label": n, "type": types.get(n, "text-input"), "required": False} for n in names]
    return node("start", "start", variables=variables)


def template(node_id: str, text: str, **variables: list[str]) -> dict[str, Any]:
    return node(node_id, "template-transform", template=text,
                variables=[{"variable": k, "value_selector": v} for k, v in variables.items()])


def end(node_id: str = "end", **outputs: list[str]) -> dict[str, Any]:
    return node(node_id, "end", outputs=[{"variable": k, "value_selector": v} for k, v in outputs.items()])


def answer(node_id: str, text: str) -> dict[str, Any]:
    return node(node_id, "answer", answer=text)


def if_else(node_id: str, *cases: tuple[str, str, list[str], Any], logical: str = "and") -> dict[str, Any]:
    return node(node_id, "if-else", cases=[
        {"case_id": cid, "logical_operator": logical,
         "conditions": [{"variable_selector": sel, "comparison_operator": op, "value": value}]}
        for cid, op, sel, value in cases])


def trace(events) -> list[str]:
    """Events as short strings: 'start:<id>', 'done:<id>:<status>', 'text:<t>', 'retry:<id>', 'run:<status>'."""
    from studio.core.workflow import NodeFinished, NodeRetry, NodeStarted, WorkflowFinished, WorkflowText

    out = []
    for ev in events:
        if isinstance(ev, NodeStarted):
            out.append(f"start:{ev.node_id}")
        elif isinstance(ev, NodeFinished):
            out.append(f"done:{ev.node_id}:{ev.status.value}")
        elif isinstance(ev, WorkflowText):
            out.append(f"text:{ev.text}")
        elif isinstance(ev, NodeRetry):
            out.append(f"retry:{ev.node_id}")
        elif isinstance(ev, WorkflowFinished):
            out.append(f"run:{ev.status.value}")
    return out
