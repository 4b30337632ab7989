"""`studio chat APP --query …`: one turn with a Chatbot or an Agent, or one run of a Text generator, streamed to
stdout (an agent's tool steps go to stderr)."""

from __future__ import annotations

import json
import sys

from studio.cli.interrupt import watch
from studio.cli.output import parse_pairs, print_json
from studio.core.cancel import CancelToken
from studio.core.entities import AppMode, MessageStatus
from studio.core.errors import ValidationError
from studio.core.events import AgentThought, MessageFinished, MessageStarted, TextChunk


def register(sub) -> None:
    p = sub.add_parser("chat", help="send a query to an app and stream the answer")
    p.add_argument("app", metavar="APP", help="app id or name")
    p.add_argument("--query", "-q", default="", help="the user's message (optional for text generators)")
    p.add_argument("--conversation", metavar="ID", help="continue this conversation (chatbots only)")
    p.add_argument("--input", "-i", action="append", metavar="NAME=VALUE", help="an input form value (repeatable)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object with answer, conversation_id (chatbots and agents), message_id, usage "
                        "and, for agents, agent_thoughts")
    p.set_defaults(handler=_chat)


def _chat(services, args) -> int:
    app = services.apps.resolve(args.app)
    inputs = parse_pairs(args.input)
    # A text generator answers one prompt: it has no conversation to continue, so none is shown or accepted.
    chat_like = app.mode != AppMode.COMPLETION
    if not chat_like and args.conversation:
        raise ValidationError(f"--conversation is for chatbots; {app.name} is a text generator, which keeps no "
                              "conversation")
    cancel = watch(CancelToken())
    if not chat_like:
        events = services.chat.complete(app.id, inputs, query=args.query, cancel=cancel)
    else:
        events = services.chat.send(app.id, args.query, inputs=inputs, conversation_id=args.conversation,
                                    cancel=cancel)
    thoughts: list[AgentThought] = []
    finished = None
    try:
        finished = _show(events, args.json, chat_like, thoughts)
    except KeyboardInterrupt:
        cancel.cancel()
        for event in events:  # drain: the answer so far is stored as stopped
            if isinstance(event, MessageFinished):
                finished = event
        print("\nstopped", file=sys.stderr)
        return 130
    msg = finished.message
    if cancel.cancelled:
        print("\nstopped", file=sys.stderr)
        return 130
    if args.json:
        print_json(_result(finished, thoughts if app.mode == AppMode.AGENT_CHAT else None, chat_like))
    else:
        sys.stdout.write("\n")
    if msg.status == MessageStatus.ERROR:
        print(f"error: {msg.error}", file=sys.stderr)
        return 1
    return 0


def _show(events, quiet: bool, chat_like: bool, thoughts: list[AgentThought]) -> MessageFinished | None:
    """Stream the answer to stdout (unless `quiet`, for --json) and return its final record; agent steps are
    collected into `thoughts` and named on stderr, so the answer stays alone on stdout for pipes."""
    finished = None
    for event in events:
        if isinstance(event, TextChunk) and not quiet:
            sys.stdout.write(event.text)
            sys.stdout.flush()
        elif isinstance(event, AgentThought):
            thoughts.append(event)
            if event.tool and not quiet:
                print(_step_line(event), file=sys.stderr)
        elif isinstance(event, MessageFinished):
            finished = event
        elif isinstance(event, MessageStarted) and chat_like and not quiet:
            print(f"conversation {event.conversation_id}", file=sys.stderr)
    return finished


def _result(finished: MessageFinished, thoughts: list[AgentThought] | None, chat_like: bool) -> dict:
    msg = finished.message
    return {
        "answer": msg.answer,
        **({"conversation_id": msg.conversation_id} if chat_like else {}),
        "message_id": msg.id,
        "status": msg.status.value,
        "model": msg.model_id,
        "usage": {
            "prompt_tokens": msg.message_tokens,
            "completion_tokens": msg.answer_tokens,
            "total_tokens": msg.message_tokens + msg.answer_tokens,
            "latency": round(msg.latency_ms / 1000, 3),
            "time_to_first_token": round(msg.first_token_ms / 1000, 3),
            "tokens_per_second": round(finished.tokens_per_second, 1),
        },
        **({"error": msg.error} if msg.error else {}),
        **({"agent_thoughts": [_thought(t) for t in thoughts]} if thoughts is not None else {}),
    }


def _thought(thought: AgentThought) -> dict:
    """One agent step as the service API's `agent_thoughts` item has it."""
    return {"id": thought.id, "position": thought.position, "thought": thought.thought, "tool": thought.tool,
            "tool_input": thought.tool_input, "observation": thought.observation}


def _step_line(thought: AgentThought) -> str:
    """`used current_time {} -> 2025-01-31 12:00:00`: the step's input and result without Dify's tool-name keys."""
    args, result = thought.input_value(), thought.observation_value()
    args = args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)
    return f"used {thought.tool} {args} -> {result}"
