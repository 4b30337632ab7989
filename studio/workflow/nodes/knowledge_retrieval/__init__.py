"""Knowledge-retrieval node: searches knowledge bases through ctx.knowledge and outputs Dify's `result` list, best
first. A missing knowledge base is a clear error, never an empty or made-up result."""

from __future__ import annotations

import logging
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from studio.core.errors import StudioError
from studio.core.workflow import RetrievalRequest
from studio.workflow.node import Node, NodeConfig, NodeError, NodeResult, RunContext, Selector, register

log = logging.getLogger(__name__)


class MultipleRetrieval(BaseModel):
    model_config = ConfigDict(extra="ignore")

    top_k: int = 4
    score_threshold: float | None = None
    reranking_mode: str = "reranking_model"
    reranking_enable: bool = True
    reranking_model: dict[str, Any] | None = None
    weights: dict[str, Any] | None = None


class SingleRetrieval(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: dict[str, Any] = Field(default_factory=dict)


class KnowledgeRetrievalConfig(NodeConfig):
    query_variable_selector: list[str] | None = None
    query_attachment_selector: list[str] | None = None
    dataset_ids: list[str] = Field(default_factory=list)
    retrieval_mode: Literal["single", "multiple"] = "multiple"
    multiple_retrieval_config: MultipleRetrieval | None = None
    single_retrieval_config: SingleRetrieval | None = None
    metadata_filtering_mode: Literal["disabled", "automatic", "manual"] | None = "disabled"
    metadata_model_config: dict[str, Any] | None = None
    metadata_filtering_conditions: dict[str, Any] | None = None
    vision: dict[str, Any] | None = None


def _fail(message: str) -> NodeError:
    return NodeError(message, "KnowledgeRetrievalError")


@register
class KnowledgeRetrievalNode(Node):
    type = "knowledge-retrieval"
    Config = KnowledgeRetrievalConfig

    def references(self) -> list[Selector]:
        return [s for s in (self.config.query_variable_selector, self.config.query_attachment_selector) if s]

    def _request(self, query: str, dataset_ids: list[str]) -> RetrievalRequest:
        c = self.config
        multiple = c.multiple_retrieval_config or MultipleRetrieval()
        reranking = {"reranking_enable": multiple.reranking_enable, "reranking_mode": multiple.reranking_mode,
                     "reranking_model": multiple.reranking_model, "weights": multiple.weights}
        metadata = None
        if c.metadata_filtering_mode and c.metadata_filtering_mode != "disabled":
            metadata = {"mode": c.metadata_filtering_mode, "conditions": c.metadata_filtering_conditions,
                        "model": c.metadata_model_config}
        return RetrievalRequest(tuple(dataset_ids), query, c.retrieval_mode, multiple.top_k,
                                multiple.score_threshold, reranking,
                                c.single_retrieval_config.model if c.single_retrieval_config else None, metadata)

    def run(self, ctx: RunContext) -> NodeResult:
        c = self.config
        query = ctx.pool.get_or(c.query_variable_selector) if c.query_variable_selector else None
        inputs = {"query": query}
        if not isinstance(query, str):
            raise _fail("Query variable is not string type.")
        if not query.strip():
            raise _fail("Query is required.")
        if not c.dataset_ids:
            raise _fail("No knowledge base is selected.")
        missing = list(c.dataset_ids) if ctx.knowledge is None else list(ctx.knowledge.missing(c.dataset_ids))
        if len(missing) == len(c.dataset_ids):
            raise _fail(f"knowledge base not found: {', '.join(missing)}")
        available = [d for d in c.dataset_ids if d not in missing]
        try:
            items = ctx.knowledge.retrieve(self._request(query, available), ctx.cancel)
        except StudioError as exc:
            raise _fail(f"Knowledge retrieval failed: {exc}") from None
        items = sorted(items, key=lambda i: (i.get("metadata") or {}).get("score") or 0.0, reverse=True)
        for position, item in enumerate(items, start=1):
            item.setdefault("metadata", {}).setdefault("position", position)
        process_data = {"dataset_ids": available, "missing_dataset_ids": missing} if missing else {}
        return NodeResult(outputs={"result": items}, inputs=inputs, process_data=process_data)
