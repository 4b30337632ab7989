"""LLM node: renders chat or completion prompts (variables, Jinja2, context, memory), streams the model's text,
and outputs text, reasoning, usage and optional structured output, as Dify's llm node does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import Field

from studio.core.entities import ChatTurn
from studio.workflow.node import Node, NodeConfig, NodeError, NodeResult, RunContext, Selector, StreamChunk, register
from studio.workflow.nodes.llm import invoke, prompts
from studio.workflow.nodes.llm.entities import (
    ChatMessage, CompletionTemplate, ContextConfig, MemoryConfig, ModelConfig, PromptConfig, RolePrefix,
)
from studio.workflow.variables import selectors_in


class LLMConfig(NodeConfig):
    model: ModelConfig
    prompt_template: list[ChatMessage] | CompletionTemplate = Field(default_factory=list)
    prompt_config: PromptConfig | None = None
    memory: MemoryConfig | None = None
    context: ContextConfig | None = None
    vision: dict[str, Any] | None = None  # accepted and kept; local models here read no images
    variables: list[Any] = Field(default_factory=list)  # legacy, unused
    structured_output: dict[str, Any] | None = None
    # Dify 1.1 wrote structured_output_enabled; 1.2+ writes structured_output_switch_on. Either turns it on.
    structured_output_enabled: bool = False
    structured_output_switch_on: bool = False
    reasoning_format: Literal["tagged", "separated"] | None = "tagged"


@register
class LLMNode(Node):
    type = "llm"
    Config = LLMConfig

    # -- validation ---------------------------------------------------------------------------------
    def references(self) -> list[Selector]:
        cfg: LLMConfig = self.config
        refs: list[Selector] = []
        template = cfg.prompt_template
        for msg in template if isinstance(template, list) else [template]:
            if msg.edition_type != "jinja2":
                refs.extend(selectors_in(msg.text))
        if cfg.prompt_config:
            refs.extend(v.value_selector for v in cfg.prompt_config.jinja2_variables if v.value_selector)
        if cfg.context and cfg.context.enabled and cfg.context.variable_selector:
            refs.append(cfg.context.variable_selector)
        if cfg.memory and cfg.memory.query_prompt_template:
            refs.extend(selectors_in(cfg.memory.query_prompt_template))
        return refs

    def streams(self) -> tuple[str, ...]:
        return ("text",)

    # -- run -------------------------------------------------------------------------------------------
    def run(self, ctx: RunContext) -> Iterator[StreamChunk | NodeResult]:
        cfg: LLMConfig = self.config
        inputs: dict[str, Any] = {}
        turns = self._turns(ctx, inputs)
        schema = self._schema()
        process = {"model_mode": cfg.model.mode, "prompts": prompts.prompts_for_trace(turns),
                   "model_provider": cfg.model.provider, "model_name": cfg.model.name}
        splitter = invoke.ThinkSplitter() if cfg.reasoning_format == "separated" else None
        visible: list[str] = []
        try:
            done = yield from self._generate(ctx, turns, schema, splitter, visible)
        except NodeError as exc:  # the trace of a failed call still shows what was sent
            exc.partial = getattr(exc, "partial", None) or NodeResult(outputs={}, inputs=inputs, process_data=process)
            raise
        text = "".join(visible).rstrip() if splitter else done.text
        process.update(usage=done.usage, finish_reason=done.finish_reason)
        outputs: dict[str, Any] = {"text": text, "reasoning_content": splitter.reasoning if splitter else "",
                                   "usage": done.usage, "finish_reason": done.finish_reason}
        if schema is not None:
            outputs["structured_output"] = self._parse_structured(text, done, inputs, process)
        yield NodeResult(outputs=outputs, inputs=inputs, process_data=process, tokens=done.total_tokens,
                         metadata=done.metadata)

    def _generate(self, ctx: RunContext, turns: list[ChatTurn], schema: dict[str, Any] | None,
                  splitter: invoke.ThinkSplitter | None, visible: list[str]):
        """Stream the model's text as `text` chunks (without <think> blocks when separated); return the end."""
        done = None
        for item in invoke.stream(ctx, self.config.model.model_dump(), turns, json_schema=schema):
            if isinstance(item, invoke.Completion):
                done = item
                continue
            piece = splitter.feed(item) if splitter else item
            if piece:
                visible.append(piece)
                yield StreamChunk("text", piece)
        if splitter and (tail := splitter.flush()):
            visible.append(tail)
            yield StreamChunk("text", tail)
        return done

    # -- prompts ---------------------------------------------------------------------------------------
    def _turns(self, ctx: RunContext, inputs: dict[str, Any]) -> list[ChatTurn]:
        cfg: LLMConfig = self.config
        context = prompts.fetch_context(ctx.pool, cfg.context) if cfg.context else None
        if context is not None:
            inputs["#context#"] = context
        if cfg.prompt_config:
            for var in cfg.prompt_config.jinja2_variables:
                inputs[var.variable] = ctx.pool.get_or(var.value_selector, "") if var.value_selector else ""
        with_memory = cfg.memory is not None and ctx.mode == "advanced-chat"
        pairs = prompts.history_pairs(ctx, cfg.memory) if with_memory else []
        if isinstance(cfg.prompt_template, list):
            turns = self._chat_turns(ctx, inputs, context, pairs, with_memory)
        else:
            turns = [ChatTurn(role="user", content=self._completion_text(ctx, inputs, context, pairs, with_memory))]
        turns = [t for t in turns if t.content]
        if not turns:
            raise NodeError("No prompt found in the LLM configuration. Write a prompt before running the node.",
                            "NoPromptFoundError")
        return turns

    def _message_text(self, ctx: RunContext, msg: ChatMessage | CompletionTemplate, inputs: dict[str, Any],
                      context: str | None) -> str:
        if msg.edition_type == "jinja2":
            variables = self.config.prompt_config.jinja2_variables if self.config.prompt_config else []
            return prompts.render_jinja2(ctx.pool, msg.jinja2_text or "", variables)
        return prompts.render(ctx.pool, prompts.fill_context(msg.text, context), strict=True, used=inputs)

    def _chat_turns(self, ctx: RunContext, inputs: dict[str, Any], context: str | None,
                    pairs: list[tuple[str, str]], with_memory: bool) -> list[ChatTurn]:
        """Dify's order: the template's messages, then the history, then the query as the last user turn.
        A #histories# slot in a message takes the history as text instead (Studio's addition)."""
        cfg: LLMConfig = self.config
        prefix = cfg.memory.role_prefix if cfg.memory and cfg.memory.role_prefix else RolePrefix()
        memory_text = prompts.history_text(pairs, prefix.user, prefix.assistant)
        inline = False
        turns: list[ChatTurn] = []
        for msg in cfg.prompt_template:
            text = self._message_text(ctx, msg, inputs, context)
            if prompts.has_histories(text):
                inline = True
                text = prompts.fill_histories(text, memory_text)
            turns.append(ChatTurn(role=msg.role, content=text))
        if with_memory:
            if not inline:
                turns.extend(prompts.history_turns(pairs))
            query = prompts.render(ctx.pool, cfg.memory.query_prompt_template or "{{#sys.query#}}",
                                   strict=True, used=inputs)
            if query:
                turns.append(ChatTurn(role="user", content=query))
        return turns

    def _completion_text(self, ctx: RunContext, inputs: dict[str, Any], context: str | None,
                         pairs: list[tuple[str, str]], with_memory: bool) -> str:
        """One prompt; the history goes into its #histories# slot, or before it when there is no slot."""
        cfg: LLMConfig = self.config
        text = self._message_text(ctx, cfg.prompt_template, inputs, context)
        memory_text = ""
        if with_memory:
            prefix = cfg.memory.role_prefix or RolePrefix()
            memory_text = prompts.history_text(pairs, prefix.user, prefix.assistant)
        if prompts.has_histories(text):
            return prompts.fill_histories(text, memory_text)
        return f"{memory_text}\n{text}" if memory_text else text

    # -- structured output -----------------------------------------------------------------------------
    def _schema(self) -> dict[str, Any] | None:
        cfg: LLMConfig = self.config
        if not (cfg.structured_output_switch_on or cfg.structured_output_enabled) or cfg.structured_output is None:
            return None
        schema = cfg.structured_output.get("schema")
        if isinstance(schema, str):
            try:
                schema = json.loads(schema)
            except ValueError:
                raise NodeError("The structured output schema is not valid JSON", "LLMNodeError") from None
        if not isinstance(schema, dict) or not schema:
            raise NodeError("Structured output is on but has no JSON schema; add one or turn it off",
                            "LLMNodeError")
        return schema

    @staticmethod
    def _parse_structured(text: str, done: invoke.Completion, inputs: dict[str, Any],
                          process: dict[str, Any]) -> dict[str, Any]:
        parsed = invoke.parse_json_object(invoke.ThinkSplitter.strip(text))
        if parsed is None:
            cut = " (the answer hit max_tokens)" if done.finish_reason == "length" else ""
            error = NodeError(f"Failed to parse structured output{cut}: {text[:300]}", "OutputParserError")
            error.partial = NodeResult(outputs={}, inputs=inputs, process_data=process, tokens=done.total_tokens,
                                       metadata=done.metadata)
            raise error
        return parsed
