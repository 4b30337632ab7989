"""Agent apps (Dify `agent-chat`): the model picks tools step by step, the tools run, and then it answers.

Each step is two greedy generations under JSON-schema grammars: first {"action": <an open tool or "final_answer">},
then, for a tool with parameters the model fills, that tool's input object. Asked apart, even the tiny bundled
model names the right tool; shown whole calls, it copies whichever example it saw. Steps are stored in Dify's shape
({"action", "action_input"}). When the model picks final_answer, or after `max_iteration` tool calls (Dify's default
10), the answer is written as plain streamed text with the tool results after the question, under the app's own
parameters. Both Dify strategies (function_call and react) run this way: llama.cpp has no native tool calls. Every
step is stored (Dify's message_agent_thoughts) and yielded as an AgentThought event between the answer's
MessageStarted and MessageFinished; the message itself is stored like a chat answer."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from studio.core.cancel import CancelToken
from studio.core.entities import App, ChatTurn, MessageStatus
from studio.core.errors import StudioError, ValidationError
from studio.core.events import AgentThought, ChatEvent, MessageFinished, MessageStarted, TextChunk
from studio.core.workflow import ToolMessage
from studio.services.chat import _Answer, _title  # the chat answer's bookkeeping, shared on purpose
from studio.tools import Tool, ToolRegistry, provider_key

log = logging.getLogger(__name__)
FINAL = "final_answer"
DEFAULT_MAX_ITERATION = 10  # Dify's default
MAX_ITERATION_LIMIT = 99  # Dify caps it here too
STEP_MAX_TOKENS = 384  # one step is a short JSON object; its strings are capped by the grammar
OBSERVATION_MAX_CHARS = 2000  # what the model is shown of a tool's result (the stored observation is whole)


@dataclass(frozen=True)
class AgentTool:
    """An enabled tool of the app, with the values its settings give (Dify's form parameters)."""

    tool: Tool
    presets: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.tool.name

    def labels(self) -> dict[str, Any]:
        return {self.name: {"en_US": self.tool.label, "zh_Hans": self.tool.label}}


@dataclass(frozen=True)
class AgentPlan:
    tools: tuple[AgentTool, ...]
    max_iteration: int = DEFAULT_MAX_ITERATION
    strategy: str = "function_call"


def plan_of(config: dict[str, Any], registry: ToolRegistry) -> AgentPlan:
    """The app's `agent_mode`: its enabled tools (a tool Studio lacks is a ValidationError naming it, raised
    before anything runs) and max_iteration. Knowledge-base entries are the chat's retrieval, not tools."""
    mode = config.get("agent_mode") or {}
    tools: list[AgentTool] = []
    for entry in mode.get("tools") or []:
        if not isinstance(entry, dict) or "tool_name" not in entry or not entry.get("enabled", True):
            continue
        tool = registry.find(str(entry.get("provider_type") or "builtin"), str(entry.get("provider_id") or ""),
                             str(entry["tool_name"]))
        if tool is None:
            provider = provider_key(str(entry.get("provider_id") or entry.get("provider_name") or ""))
            raise ValidationError(f"Tool {provider}/{entry['tool_name']} is not available in Studio; disable it in "
                                  "the app's tools to run this agent")
        if all(t.name != tool.name for t in tools):
            presets = {k: _unwrap(v) for k, v in (entry.get("tool_parameters") or {}).items()}
            tools.append(AgentTool(tool, {k: v for k, v in presets.items() if v not in (None, "")}))
    return AgentPlan(tuple(tools), _max_iteration(mode.get("max_iteration")), str(mode.get("strategy") or ""))


def _unwrap(value: Any) -> Any:
    return value.get("value") if isinstance(value, dict) and "value" in value else value


def _max_iteration(value: Any) -> int:
    if value is None or value == "":
        return DEFAULT_MAX_ITERATION
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise ValidationError(f"agent_mode.max_iteration must be a number, not {value!r}") from None
    return max(1, min(n, MAX_ITERATION_LIMIT))


# -- what the model is shown and allowed to write ---------------------------------------------------------------
def choice_schema(choices: list[AgentTool]) -> dict[str, Any]:
    """The first half of a step: which open tool to call, or final_answer."""
    return {"type": "object", "properties": {"action": {"enum": [*(t.name for t in choices), FINAL]}},
            "required": ["action"], "additionalProperties": False}


def input_schema(agent_tool: AgentTool) -> dict[str, Any]:
    """The second half: the chosen tool's input (its open parameters, each held to its own pattern)."""
    return _input_schema(agent_tool)


def _input_schema(agent_tool: AgentTool) -> dict[str, Any]:
    schema = agent_tool.tool.input_schema()
    open_params = {k: v for k, v in schema["properties"].items() if k not in agent_tool.presets}
    return {**schema, "properties": open_params, "required": [r for r in schema["required"] if r in open_params]}


def _example_input(agent_tool: AgentTool) -> dict[str, Any]:
    samples = {"number": 1, "boolean": True}
    return {p.name: p.options[0] if p.options else samples.get(p.type, "...")
            for p in agent_tool.tool.model_parameters() if p.name not in agent_tool.presets and p.required}


def _tool_line(agent_tool: AgentTool) -> str:
    params = [p for p in agent_tool.tool.model_parameters() if p.name not in agent_tool.presets]
    fields = ", ".join(f'"{p.name}": <{p.description or p.type}{"" if p.required else ", optional"}>'
                       for p in params)
    return f"- {agent_tool.name}: {agent_tool.tool.description} Input: {{{fields}}}"


def _example_call(agent_tool: AgentTool) -> str:
    """One request and the input that answers it: the tool's own example (its preset parameters left out), else
    placeholder values."""
    request, values = agent_tool.tool.example or ("", _example_input(agent_tool))
    shown = json.dumps({k: v for k, v in values.items() if k not in agent_tool.presets}, ensure_ascii=False)
    return f"For example, for {request!r}: {shown}" if request else f"For example: {shown}"


def choice_system(base: str, choices: list[AgentTool]) -> str:
    """Picking a tool is asked on its own, with the tools' descriptions only: a small model shown calls with inputs
    copies the first (or last) one it sees, whatever the request, but names the right tool when only asked that."""
    tools = "\n".join(f"- {t.name}: {t.tool.description}" for t in choices)
    rules = (f"Tools:\n{tools}\n\nReply with the name of the tool the request needs, or {FINAL} when no tool is "
             'needed or the observations already answer it. A tool\'s result comes back as "Observation: ...".')
    return f"{base}\n\n{rules}" if base else rules


def input_system(base: str, agent_tool: AgentTool) -> str:
    rules = (f"Call the tool {_tool_line(agent_tool)[2:]}\n{_example_call(agent_tool)}\n"
             "Reply with the tool's input for the user's request, as one JSON object.")
    return f"{base}\n\n{rules}" if base else rules


def observation_text(messages: list[ToolMessage]) -> str:
    """A tool's messages as the text the model reads (and the step stores)."""
    parts: list[str] = []
    for m in messages:
        if m.kind in ("text", "link"):
            parts.append(str(m.value))
        elif m.kind == "variable":
            parts.append(f"\n{m.name}: {json.dumps(m.value, ensure_ascii=False, default=str)}\n")
        elif m.kind == "json":
            parts.append(f"\n{json.dumps(m.value, ensure_ascii=False, default=str)}\n")
        elif m.kind == "file" and isinstance(m.value, dict):
            parts.append(f"\n[file: {m.value.get('filename') or m.value.get('url') or ''}]\n")
    return "".join(parts).strip()


@dataclass
class _Call:
    tool: AgentTool
    values: dict[str, Any]
    observation: str

    def key(self) -> tuple[str, str]:
        return self.tool.name, json.dumps(self.values, sort_keys=True, default=str)


class _Turn:
    """One agent answer in progress: the request, the calls made so far, and the token totals."""

    def __init__(self, run, plan: AgentPlan, message_id: str, answer: _Answer) -> None:
        self.run, self.plan, self.message_id, self.answer = run, plan, message_id, answer
        self.calls: list[_Call] = []
        self.prompt_tokens = self.completion_tokens = self.dropped = 0
        self.finish_reason = ""
        system = run.turns[0].content if run.keep_first else ""
        self.base_system, self.history, self.query = system, list(run.turns[run.keep_first:-1]), run.turns[-1]

    def open_tools(self) -> list[AgentTool]:
        """Tools still worth calling: one whose input the model cannot vary gives nothing new a second time."""
        done = {c.tool.name for c in self.calls}
        return [t for t in self.plan.tools if t.name not in done or _input_schema(t)["properties"]]

    def step_turns(self, system: str) -> list[ChatTurn]:
        """The conversation for a step: each call so far as the choice the model made and what came back."""
        turns = [ChatTurn(role="system", content=system), *self.history, self.query]
        for call in self.calls:
            turns.append(ChatTurn(role="assistant", content=json.dumps({"action": call.tool.name})))
            turns.append(ChatTurn(role="user", content=f"Observation: {call.observation[:OBSERVATION_MAX_CHARS]}\n"
                                  f"If this answers my request, reply {FINAL}."))
        return turns

    def final_turns(self) -> list[ChatTurn]:
        query = self.query.content
        found = [(c.tool.tool.label, c.observation[:OBSERVATION_MAX_CHARS]) for c in self.calls if c.observation]
        if found:  # small models answer best with the facts after the question, each under its tool's label
            facts = [f"{name}: {fact}" for name, fact in found]
            query = f"{query}\n\n({facts[0]})" if len(facts) == 1 else \
                f"{query}\n\n" + "\n".join(f"- {f}" for f in facts)
        system = [ChatTurn(role="system", content=self.base_system)] if self.base_system else []
        return [*system, *self.history, ChatTurn(role="user", content=query)]

    def count(self, chunk) -> int:
        self.prompt_tokens += chunk.prompt_tokens
        self.completion_tokens += chunk.completion_tokens
        self.dropped = max(self.dropped, chunk.dropped_turns)
        return chunk.prompt_tokens + chunk.completion_tokens

    def store(self):
        self.answer.fields.update(message_tokens=self.prompt_tokens, answer_tokens=self.completion_tokens)
        return self.answer.store()


class AgentRunner:
    """Runs agent-chat turns for ChatService; stores answers like chat does and each step beside them."""

    def __init__(self, repos, provider, registry: ToolRegistry, thoughts) -> None:
        self._conversations = repos.conversations
        self._messages = repos.messages
        self._provider = provider
        self.registry = registry
        self._thoughts = thoughts  # AgentThoughtRepository

    def plan(self, app: App) -> AgentPlan:
        return plan_of(app.config, self.registry)

    def thoughts(self, message_ids: list[str]) -> dict[str, list[AgentThought]]:
        """{message_id: its stored steps in order}, for the messages that have any (Dify's agent_thoughts)."""
        return self._thoughts.for_messages(list(message_ids))

    def run(self, run, plan: AgentPlan, cancel: CancelToken) -> Iterator[ChatEvent]:
        """`run` is ChatService's validated request; from here on every outcome is stored."""
        conv = run.conversation or self._conversations.create(
            run.app.id, name=_title(run.title), inputs=run.inputs, user=run.user)
        msg = self._messages.start(conv.id, run.app.id, query=run.query, inputs=run.inputs, model_id=run.model.id)
        turn = _Turn(run, plan, msg.id, _Answer(msg.id, self._messages))
        turn.answer.fields["retriever_resources"] = list(run.resources)
        try:
            yield MessageStarted(conversation_id=conv.id, message_id=msg.id, model_id=run.model.id)
            yield from self._loop(turn, cancel)
        except StudioError as exc:
            turn.answer.fields.update(status=MessageStatus.ERROR, error=exc.message)
        finally:
            final = turn.store()  # also when our consumer walks away: the text so far is kept
        yield MessageFinished(message=final, dropped_turns=turn.dropped, finish_reason=turn.finish_reason)

    def _loop(self, turn: _Turn, cancel: CancelToken) -> Iterator[ChatEvent]:
        for _ in range(turn.plan.max_iteration):
            choices = turn.open_tools()
            if not choices:
                break
            picked, tokens = self._step(turn, choices, cancel)
            if cancel.cancelled:
                turn.finish_reason = "cancelled"
                return
            if picked is None:
                break
            tool, values = picked
            if any(c.key() == _Call(tool, values, "").key() for c in turn.calls):
                break  # the same call again would only repeat its result: answer with what is known
            yield self._call(turn, tool, values, tokens, cancel)
            if cancel.cancelled:
                turn.finish_reason = "cancelled"
                return
        yield from self._final(turn, cancel)

    def _step(self, turn: _Turn, choices: list[AgentTool],
              cancel: CancelToken) -> tuple[tuple[AgentTool, dict[str, Any]] | None, int]:
        """The model's next step in two grammar-held halves: which tool (or final_answer), then that tool's input.
        None for final_answer, or for a step the model could not finish."""
        raw, tokens = self._json(turn, choice_system(turn.base_system, choices), choice_schema(choices), cancel)
        tool = _parse_choice(raw, choices)
        if tool is None or cancel.cancelled:
            return None, tokens
        if not _input_schema(tool)["properties"]:
            return (tool, {}), tokens
        raw, more = self._json(turn, input_system(turn.base_system, tool), input_schema(tool), cancel)
        values = _parse_input(raw)
        return ((tool, values) if values is not None else None), tokens + more

    def _json(self, turn: _Turn, system: str, schema: dict[str, Any], cancel: CancelToken) -> tuple[str, int]:
        """Greedy text held to `schema` (the conversation so far after `system`), and its token count."""
        params = turn.run.params.model_copy(update={"temperature": 0.0, "max_tokens": STEP_MAX_TOKENS, "stop": (),
                                                   "json_schema": schema})
        stream = self._provider.stream_chat(turn.run.model, turn.step_turns(system), params, cancel, keep_first=1)
        raw, tokens = [], 0
        try:
            for chunk in stream:
                if chunk.done:
                    tokens = turn.count(chunk)
                    break
                raw.append(chunk.text)
        finally:
            stream.close()
        return "".join(raw), tokens

    def _call(self, turn: _Turn, tool: AgentTool, values: dict[str, Any], tokens: int,
              cancel: CancelToken) -> AgentThought:
        observation = self._observe(tool, values, cancel)
        turn.calls.append(_Call(tool, values, observation))
        return self._thoughts.add(AgentThought(
            id="", message_id=turn.message_id, position=len(turn.calls), tool=tool.name,
            tool_input=json.dumps({tool.name: values}, ensure_ascii=False, default=str),
            observation=json.dumps({tool.name: observation}, ensure_ascii=False), tool_labels=tool.labels(),
            tokens=tokens))

    @staticmethod
    def _observe(tool: AgentTool, values: dict[str, Any], cancel: CancelToken) -> str:
        """What the tool says; a failure is what it says too (Dify: "tool invoke error: ...")."""
        try:
            return observation_text(list(tool.tool.invoke({**tool.presets, **values}, cancel)))
        except StudioError as exc:
            return f"tool invoke error: {exc.message}"
        except Exception as exc:  # a bug in a tool must not end the answer
            log.exception("tool %s failed", tool.name)
            return f"tool invoke error: {exc}"

    def _final(self, turn: _Turn, cancel: CancelToken) -> Iterator[ChatEvent]:
        turns = turn.final_turns()
        keep_first = 1 if turns[0].role == "system" else 0
        stream = self._provider.stream_chat(turn.run.model, turns, turn.run.params, cancel, keep_first=keep_first)
        tokens = 0
        try:
            for chunk in stream:
                if chunk.done:
                    tokens = turn.count(chunk)
                    turn.finish_reason = chunk.finish_reason
                    stopped = chunk.finish_reason == "cancelled"
                    turn.answer.fields["status"] = MessageStatus.STOPPED if stopped else MessageStatus.NORMAL
                    break
                turn.answer.add(chunk.text)
                yield TextChunk(chunk.text)
        finally:
            stream.close()
        yield self._thoughts.add(AgentThought(id="", message_id=turn.message_id, position=len(turn.calls) + 1,
                                              thought="".join(turn.answer.parts), tokens=tokens))


def _loads(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        log.info("agent step was not complete JSON (%d characters); answering instead", len(raw))
        return None


def _parse_choice(raw: str, choices: list[AgentTool]) -> AgentTool | None:
    step = _loads(raw)
    action = step.get("action") if isinstance(step, dict) else None
    return next((t for t in choices if t.name == action), None)


def _parse_input(raw: str) -> dict[str, Any] | None:
    values = _loads(raw)
    if not isinstance(values, dict):
        return None
    # a small model pads its strings ("12 * 7 "); the padding is never part of the value
    return {k: v.strip() if isinstance(v, str) else v for k, v in values.items()}
