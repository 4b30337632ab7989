"""Copyable request examples for an app (curl and the openai SDK); they name $STUDIO_API_KEY, never a real token."""

from __future__ import annotations

import json
from typing import Any

from studio.core.entities import App, AppMode

KEY_VARIABLE = "STUDIO_API_KEY"
EXAMPLE_USER = "abc-123"
EXAMPLE_QUERY = "What can you do?"
CHAT_MODES = (AppMode.CHAT, AppMode.AGENT_CHAT, AppMode.ADVANCED_CHAT)
FORM_TYPES = ("text-input", "paragraph", "select", "number", "file", "file-list")
UPLOAD_ID = "<id from POST /files/upload>"


def endpoint(mode: AppMode) -> str:
    """The Dify service API path that runs an app of this mode."""
    if mode in CHAT_MODES:
        return "/chat-messages"
    if mode == AppMode.WORKFLOW:
        return "/workflows/run"
    return "/completion-messages"


def input_fields(app: App) -> list[dict[str, Any]]:
    """The app's input form as flat dicts (type, variable, label, options, default) in form order."""
    config = app.config or {}
    if app.mode in (AppMode.WORKFLOW, AppMode.ADVANCED_CHAT):
        nodes = ((config.get("workflow") or {}).get("graph") or {}).get("nodes") or []
        start = next((n.get("data") or {} for n in nodes if (n.get("data") or {}).get("type") == "start"), {})
        fields = [dict(v) for v in start.get("variables") or [] if isinstance(v, dict)]
    else:
        fields = []
        for item in config.get("user_input_form") or []:
            if isinstance(item, dict) and len(item) == 1:
                (kind, body), = item.items()
                fields.append({**(body if isinstance(body, dict) else {}), "type": kind})
    return [f for f in fields if f.get("variable") and f.get("type", "text-input") in FORM_TYPES]


def example_value(field: dict[str, Any]) -> Any:
    """A value that passes the field's checks where possible: its default, the first option, or a placeholder."""
    if field.get("type") in ("file", "file-list"):
        kinds = field.get("allowed_file_types") or ["document"]
        item = {"type": kinds[0] if kinds[0] != "custom" else "document", "transfer_method": "local_file",
                "upload_file_id": UPLOAD_ID}
        return [item] if field["type"] == "file-list" else item
    if field.get("default") not in (None, ""):
        return field["default"]
    if field.get("type") == "select" and field.get("options"):
        return field["options"][0]
    if field.get("type") == "number":
        return 1
    return f"<{field.get('label') or field['variable']}>"


def example_inputs(app: App) -> dict[str, Any]:
    return {f["variable"]: example_value(f) for f in input_fields(app)}


def request_body(app: App) -> dict[str, Any]:
    """The JSON body Dify's API reference shows for this app's endpoint, in streaming mode."""
    body: dict[str, Any] = {"inputs": example_inputs(app)}
    if app.mode in CHAT_MODES:
        body["query"] = EXAMPLE_QUERY
    body["response_mode"] = "streaming"
    if app.mode in CHAT_MODES:
        body["conversation_id"] = ""
    body["user"] = EXAMPLE_USER
    return body


def _shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def curl_example(app: App, base_url: str) -> str:
    """A curl command in Dify's documented layout; the key comes from the environment (double quotes expand it)."""
    body = json.dumps(request_body(app), indent=4, ensure_ascii=False)
    return "\n".join([
        f"curl -X POST {_shell_quote(base_url.rstrip('/') + endpoint(app.mode))} \\",
        f'  --header "Authorization: Bearer ${KEY_VARIABLE}" \\',
        "  --header 'Content-Type: application/json' \\",
        f"  --data-raw {_shell_quote(body)}",
    ])


def python_example(app: App, base_url: str) -> str | None:
    """An openai SDK snippet against the OpenAI-compatible endpoint, where a chat app is a model; None otherwise."""
    if app.mode not in CHAT_MODES:
        return None
    return "\n".join([
        "import os",
        "",
        "from openai import OpenAI",
        "",
        "client = OpenAI(",
        f"    base_url={json.dumps(base_url.rstrip('/'))},",
        f'    api_key=os.environ["{KEY_VARIABLE}"],',
        ")",
        "stream = client.chat.completions.create(",
        f"    model={json.dumps(app.id)},  # {json.dumps(app.name, ensure_ascii=False)}",
        "    messages=[",
        f'        {{"role": "user", "content": {json.dumps(EXAMPLE_QUERY)}}},',
        "    ],",
        "    stream=True,",
        ")",
        "for chunk in stream:",
        "    text = chunk.choices[0].delta.content",
        '    print(text or "", end="", flush=True)',
    ])
