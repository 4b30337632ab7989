"""What an app's configuration points at outside itself: models (provider + name) and knowledge bases.

Import uses these to warn about what does not resolve locally, the app page to flag it until the user picks a
replacement, and the server bundle to know which knowledge bases to take along.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from studio.core.entities import AppMode
from studio.dsl.loader import GRAPH_MODES

# Nodes whose data.model is an LLM reference (Dify's parameter-extractor and question-classifier share llm's shape).
MODEL_NODES = ("llm", "parameter-extractor", "question-classifier", "agent")


@dataclass(frozen=True)
class ModelRef:
    provider: str
    name: str
    where: str  # "the app" or "node <title>"

    @property
    def label(self) -> str:
        return f"{self.provider}/{self.name}" if self.provider else self.name


def graph_nodes(config: dict[str, Any]) -> list[dict[str, Any]]:
    nodes = _dict(_dict(_dict(config).get("workflow")).get("graph")).get("nodes")
    return [n for n in nodes if isinstance(n, dict)] if isinstance(nodes, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _node_data(node: dict[str, Any]) -> dict[str, Any]:
    return _dict(node.get("data"))


def model_refs(mode: AppMode, config: dict[str, Any]) -> Iterator[ModelRef]:
    """Every model the app names (an empty name means the default local model, so it is left out)."""
    if mode in GRAPH_MODES:
        for node in graph_nodes(config):
            data = _node_data(node)
            model = data.get("model")
            if data.get("type") in MODEL_NODES and isinstance(model, dict) and model.get("name"):
                yield ModelRef(str(model.get("provider") or ""), str(model["name"]),
                               f"node {data.get('title') or node.get('id')}")
        return
    model = _dict(config).get("model")
    if isinstance(model, dict) and model.get("name"):
        yield ModelRef(str(model.get("provider") or ""), str(model["name"]), "the app")


def _dataset_entries(config: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The `{"dataset": {"id": …}}` blocks of an easy-UI config: `dataset_configs.datasets.datasets`, and the
    old-style `agent_mode.tools` entries that attached knowledge bases before dataset_configs existed (chat still reads them)."""
    block = _dict(_dict(_dict(config).get("dataset_configs")).get("datasets")).get("datasets")
    tools = _dict(_dict(config).get("agent_mode")).get("tools")
    for entries in (block, tools):
        for entry in entries if isinstance(entries, list) else []:
            ds = entry.get("dataset") if isinstance(entry, dict) else None
            if isinstance(ds, dict) and isinstance(ds.get("id"), str):
                yield ds


def dataset_ids(mode: AppMode, config: dict[str, Any]) -> list[str]:
    """Knowledge base ids the app retrieves from, in order, without repeats."""
    ids: list[str] = []
    if mode in GRAPH_MODES:
        for node in graph_nodes(config):
            data = _node_data(node)
            if data.get("type") == "knowledge-retrieval":
                ids += [str(i) for i in data.get("dataset_ids") or [] if isinstance(i, str)]
    else:
        ids += [ds["id"] for ds in _dataset_entries(config)]
    return list(dict.fromkeys(ids))


def remap_dataset_ids(mode: AppMode, config: dict[str, Any], mapping: dict[str, str]) -> int:
    """Point the app at other knowledge bases (a server bundle's, rebuilt with new ids), in place; ids not in
    `mapping` stay as they are. Returns how many references changed."""
    changed = 0
    if mode in GRAPH_MODES:
        for node in graph_nodes(config):
            data = _node_data(node)
            if data.get("type") == "knowledge-retrieval" and isinstance(data.get("dataset_ids"), list):
                new = [mapping.get(i, i) if isinstance(i, str) else i for i in data["dataset_ids"]]
                changed += sum(a != b for a, b in zip(new, data["dataset_ids"]))
                data["dataset_ids"] = new
        return changed
    for ds in _dataset_entries(config):
        if ds["id"] in mapping and mapping[ds["id"]] != ds["id"]:
            ds["id"] = mapping[ds["id"]]
            changed += 1
    return changed
