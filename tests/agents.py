"""Small agent apps (Dify `agent-chat`) for the tests, written as Dify DSL so they import like users' files."""

from __future__ import annotations

import yaml

BUNDLED_MODEL = "smollm2-135m-instruct.q4_1"
TIME = {"provider_type": "builtin", "provider_id": "time", "provider_name": "time", "tool_name": "current_time",
        "tool_label": "Current Time", "tool_parameters": {"format": "%Y-%m-%d %H:%M:%S", "timezone": "UTC"},
        "enabled": True}
MATHS = {"provider_type": "builtin", "provider_id": "maths", "provider_name": "maths",
         "tool_name": "eval_expression", "tool_label": "Eval Math Expression", "tool_parameters": {}, "enabled": True}
# A Dify tool Studio does not have: it needs the network and a key.
SEARCH = {"provider_type": "builtin", "provider_id": "langgenius/google/google", "provider_name": "google",
          "tool_name": "google_search", "tool_parameters": {}, "enabled": True}


def agent_dsl(name: str = "Helper agent", tools=(TIME, MATHS), *, max_iteration: int = 5, max_tokens: int = 48,
              prompt: str = "You are a helpful assistant. Use the tools.") -> str:
    """An agent over the bundled model, answering greedily so runs repeat."""
    return yaml.safe_dump({
        "version": "0.5.0", "kind": "app",
        "app": {"name": name, "mode": "agent-chat", "icon": "🕰️", "icon_background": "#FFEAD5"},
        "model_config": {
            "pre_prompt": prompt, "user_input_form": [], "opening_statement": "",
            "model": {"provider": "local", "name": BUNDLED_MODEL, "mode": "chat",
                      "completion_params": {"temperature": 0.0, "max_tokens": max_tokens}},
            "agent_mode": {"enabled": True, "strategy": "function_call", "max_iteration": max_iteration,
                           "prompt": None, "tools": [dict(t) for t in tools]},
        },
    }, sort_keys=False, allow_unicode=True)


def import_agent(services, **options):
    return services.dsl.import_text(agent_dsl(**options)).app
