"""A DSL graph turned into nodes and edges, validated before anything runs (errors name the node)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError as PydanticError

from studio.workflow.node import REGISTRY, ConfigError, Node, config_error
from studio.workflow.variables import SPECIAL

CONTAINER_START_TYPES = {"iteration-start", "loop-start"}


@dataclass(frozen=True)
class Edge:
    id: str
    source: str
    target: str
    handle: str = "source"


def _parent_of(raw: dict[str, Any]) -> str | None:
    data = raw.get("data") or {}
    return raw.get("parentId") or data.get("iteration_id") or data.get("loop_id") or None


class Graph:
    """Nodes of one level (the top, or the inside of one iteration/loop) and the edges between them."""

    def __init__(self, nodes: dict[str, Node], edges: list[Edge], root_id: str, all_ids: set[str]) -> None:
        self.nodes = nodes
        self.edges = edges
        self.root_id = root_id
        self.all_ids = all_ids
        self.out_edges: dict[str, list[Edge]] = defaultdict(list)
        self.in_edges: dict[str, list[Edge]] = defaultdict(list)
        for e in edges:
            self.out_edges[e.source].append(e)
            self.in_edges[e.target].append(e)
        self.raw: dict[str, Any] = {}
        self.inner: dict[tuple[str, str | None], Graph] = {}  # the levels inside iterations and loops

    @classmethod
    def from_dsl(cls, graph: dict[str, Any], *, container: str | None = None, root_id: str | None = None,
                 tolerant: bool = True) -> Graph:
        if not isinstance(graph, dict):
            raise ConfigError("workflow.graph must be a mapping with 'nodes' and 'edges'")
        raw_nodes, raw_edges = graph.get("nodes") or [], graph.get("edges") or []
        if not isinstance(raw_nodes, list) or not isinstance(raw_edges, list):
            raise ConfigError("workflow.graph.nodes and workflow.graph.edges must be lists")
        ids = [str(n.get("id")) for n in raw_nodes if isinstance(n, dict)]
        all_ids = set(ids)
        if len(all_ids) != len(ids):
            dupe = next(i for i in ids if ids.count(i) > 1)
            raise ConfigError(f"Node id {dupe!r} is used by more than one node")
        nodes = {}
        built = [n for n in (_build_node(raw, tolerant) for raw in raw_nodes) if n is not None]
        for node in built:
            if node.parent_id == container:
                nodes[node.id] = node
            if node.kind == "container":  # an iteration/loop answers for what its inner nodes write
                node.children = [n for n in built if n.parent_id == node.id]
        edges = _build_edges(raw_edges, all_ids, set(nodes))
        if root_id is None:
            roots = [n.id for n in nodes.values() if n.kind == "root" or n.type in CONTAINER_START_TYPES]
            if not roots:
                raise ConfigError("The graph has no Start node")
            root_id = roots[0]
        elif root_id not in nodes:
            raise ConfigError(f"Container {container!r} starts at missing node {root_id!r}")
        g = cls(nodes, edges, root_id, all_ids)
        g.raw = graph
        g.validate()
        for node in nodes.values():  # the inside of every iteration/loop is checked before anything runs
            if node.kind == "container":
                g.subgraph(node.id, getattr(node.config, "start_node_id", None))
        return g

    def subgraph(self, container_id: str, start_node_id: str | None) -> Graph:
        key = (container_id, start_node_id or None)
        if key not in self.inner:
            self.inner[key] = Graph.from_dsl(self.raw, container=container_id, root_id=start_node_id or None)
        return self.inner[key]

    # -- validation ------------------------------------------------------------------------------
    def validate(self) -> None:
        self._check_cycles()
        for node in self.nodes.values():
            for selector in node.references():
                if not selector or len(selector) < 2:
                    raise ConfigError(f"Node {node.id!r} ({node.title}) has an empty variable reference")
                head = str(selector[0])
                if head not in SPECIAL and head not in self.all_ids:
                    raise ConfigError(
                        f"Node {node.id!r} ({node.title}) references missing variable {'.'.join(map(str, selector))}"
                    )

    def _check_cycles(self) -> None:
        """Kahn's algorithm (no recursion, so long chains are fine); a leftover node lies on or after a cycle."""
        indegree = {n: 0 for n in self.nodes}
        for e in self.edges:
            indegree[e.target] += 1
        ready = [n for n, d in indegree.items() if d == 0]
        while ready:
            for e in self.out_edges.get(ready.pop(), ()):
                indegree[e.target] -= 1
                if indegree[e.target] == 0:
                    ready.append(e.target)
        remaining = {n for n, d in indegree.items() if d > 0}
        if not remaining:
            return
        # Every leftover node has a leftover predecessor, so walking backwards must come round.
        node, path, seen = min(remaining), [], {}
        while node not in seen:
            seen[node] = len(path)
            path.append(node)
            node = next(e.source for e in self.in_edges[node] if e.source in remaining)
        loop = list(reversed(path[seen[node]:] + [node]))
        raise ConfigError(f"The graph has a cycle: {' → '.join(loop)} (only loop and iteration nodes may repeat work)")


def _build_node(raw: Any, tolerant: bool) -> Node | None:
    if not isinstance(raw, dict) or "id" not in raw:
        raise ConfigError("Every node needs an 'id' and 'data'")
    node_id, data = str(raw["id"]), raw.get("data")
    if not isinstance(data, dict):
        raise ConfigError(f"Node {node_id!r} has no 'data' mapping")
    node_type = data.get("type")
    cls = REGISTRY.get(node_type) if isinstance(node_type, str) else None
    if cls is None:
        raise ConfigError(f"Node {node_id!r} ({data.get('title', '')}) has unknown type {node_type!r}")
    try:
        config = cls.Config.parse(data, tolerant=tolerant)
    except PydanticError as exc:
        raise config_error(node_id, data.get("title") or node_type, exc) from None
    return cls(node_id, config, data, _parent_of(raw))


def _build_edges(raw_edges: list[Any], all_ids: set[str], level: set[str]) -> list[Edge]:
    edges = []
    for i, raw in enumerate(raw_edges):
        if not isinstance(raw, dict):
            raise ConfigError(f"Edge #{i} is not a mapping")
        eid = str(raw.get("id") or f"edge-{i}")
        source, target = str(raw.get("source", "")), str(raw.get("target", ""))
        for end in (source, target):
            if end not in all_ids:
                raise ConfigError(f"Edge {eid!r} is dangling: node {end!r} does not exist")
        if source in level and target in level:
            edges.append(Edge(eid, source, target, str(raw.get("sourceHandle") or "source")))
    return edges
