"""Question classifier node: a model picks one class for the query (an enum grammar allows nothing else), and
the run follows the edge whose handle is that class's id."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from studio.workflow.node import Node, NodeConfig, NodeError, NodeResult, RunContext, Selector, register
from studio.workflow.nodes.llm import invoke, prompts
from studio.workflow.nodes.llm.entities import MemoryConfig, ModelConfig
from studio.workflow.variables import selectors_in, to_text

SYSTEM_PROMPT = (
    "You are a text classifier. Read the user's input and choose the one category that fits it best.\n"
    "Categories:\n{categories}{instruction}{histories}\n"
    'Reply with JSON: {{"{key}": "<one of the categories>"}}'
)


class ClassConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    name: str = ""

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, value: Any) -> str:
        return str(value)


class QuestionClassifierConfig(NodeConfig):
    query_variable_selector: list[str]
    model: ModelConfig
    classes: list[ClassConfig] = Field(default_factory=list)
    instruction: str | None = ""
    memory: MemoryConfig | None = None
    vision: dict[str, Any] | None = None  # accepted and kept; local models here read no images


@register
class QuestionClassifierNode(Node):
    type = "question-classifier"
    Config = QuestionClassifierConfig
    kind = "branch"

    def references(self) -> list[Selector]:
        cfg: QuestionClassifierConfig = self.config
        return [cfg.query_variable_selector, *selectors_in(cfg.instruction or "")]

    def _labels(self) -> tuple[str, list[str]]:
        """The JSON key and the values the grammar allows: the class names when they tell the classes
        apart (a small model reads names far better than ids), otherwise the ids."""
        classes = self.config.classes
        names = [c.name.strip() for c in classes]
        if all(names) and len(set(names)) == len(names):
            return "category_name", names
        return "category_id", [c.id for c in classes]

    def run(self, ctx: RunContext) -> NodeResult:
        cfg: QuestionClassifierConfig = self.config
        if not cfg.classes:
            raise NodeError("The question classifier has no classes; add at least one", "QuestionClassifierError")
        query = to_text(ctx.pool.get_or(cfg.query_variable_selector, ""))
        key, labels = self._labels()
        instruction = prompts.render(ctx.pool, cfg.instruction or "").strip()
        system = SYSTEM_PROMPT.format(
            categories="\n".join(f"- {label}" for label in labels), key=key,
            instruction=f"\n\nInstructions:\n{instruction}" if instruction else "",
            histories=prompts.memory_block(ctx, cfg.memory))
        turns = prompts.instruction_turns(cfg.model.mode, system, f"Input: {query}")
        schema = {"type": "object", "properties": {key: {"enum": labels}}, "required": [key],
                  "additionalProperties": False}
        done = invoke.complete(ctx, cfg.model.model_dump(), turns, json_schema=schema)
        chosen = self._choose(done.text, key, labels)
        process = {"model_mode": cfg.model.mode, "prompts": prompts.prompts_for_trace(turns), "usage": done.usage,
                   "finish_reason": done.finish_reason, "llm_text": done.text,
                   "model_provider": cfg.model.provider, "model_name": cfg.model.name}
        outputs = {"class_name": chosen.name, "class_id": chosen.id, "usage": done.usage}
        return NodeResult(outputs=outputs, inputs={"query": query}, process_data=process, handle=chosen.id,
                          tokens=done.total_tokens, metadata=done.metadata)

    def _choose(self, text: str, key: str, labels: list[str]) -> ClassConfig:
        """The class the answer names; the first class when it names none (as Dify falls back)."""
        classes = self.config.classes
        answer = invoke.parse_json_object(invoke.ThinkSplitter.strip(text)) or {}
        value = answer.get(key)
        if value is None:  # a model without grammar support may have used the other key
            value = answer.get("category_id", answer.get("category_name"))
        value = str(value).strip() if value is not None else ""
        for cls_, label in zip(classes, labels):
            if value in (label, cls_.id):
                return cls_
        for cls_ in classes:
            if value and value == cls_.name.strip():
                return cls_
        return classes[0]
