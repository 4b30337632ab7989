"""Writes an app as Dify DSL: the current version, secrets blanked unless asked, no credentials, and every key
of the file it was imported from kept, so that an import followed by an export differs only where the user
changed something."""

from __future__ import annotations

import copy
from typing import Any

import yaml

from studio.core.app_config import normalise_config
from studio.core.entities import App
from studio.core.errors import StudioError
from studio.dsl.loader import CURRENT_DSL_VERSION, GRAPH_MODES
from studio.dsl.refs import graph_nodes

_MISSING = object()


def overlay(original: Any, baseline: Any, current: Any) -> Any:
    """A three-way merge: `current` is what Studio holds now, `baseline` what it held right after importing
    `original`. Where current still equals baseline, the original's value is kept as written (defaults
    Studio filled in do not leak into the export); where the user changed something, current wins."""
    if current == baseline:
        return original
    if not (isinstance(current, dict) and isinstance(baseline, dict) and isinstance(original, dict)):
        return current
    merged: dict[str, Any] = {}
    for key, value in current.items():
        if key in baseline:
            kept = overlay(original.get(key, _MISSING), baseline[key], value)
            if kept is not _MISSING:
                merged[key] = kept
        else:
            merged[key] = value
    for key, value in original.items():  # what Studio dropped at import (not what the user deleted)
        if key not in baseline and key not in merged:
            merged[key] = value
    return merged


def _app_block(app: App, source_app: dict[str, Any]) -> dict[str, Any]:
    block = {k: v for k, v in source_app.items() if k not in ("name", "mode", "icon", "icon_background",
                                                               "description")}
    block.setdefault("use_icon_as_answer_icon", False)
    block.update(name=app.name, mode=app.mode.value, icon=app.icon, icon_background=app.icon_background,
                 description=app.description)
    return block


def blank_secrets(workflow: dict[str, Any], include_secrets: bool, warnings: list[str]) -> None:
    """Dify's export rules for a graph: secret environment values and tool credentials stay home."""
    for var in workflow.get("environment_variables") or []:
        if isinstance(var, dict) and var.get("value_type") == "secret" and var.get("value"):
            if include_secrets:
                warnings.append(f"The secret environment variable {var.get('name')} is written in plain text")
            else:
                var["value"] = ""
                warnings.append(f"The secret environment variable {var.get('name')} was left blank")
    if include_secrets:
        return
    for node in graph_nodes({"workflow": workflow}):
        data = node.get("data") if isinstance(node.get("data"), dict) else {}
        data.pop("credential_id", None)
        tools = ((data.get("agent_parameters") or {}).get("tools") or {}).get("value")
        for tool in tools if isinstance(tools, list) else []:
            if isinstance(tool, dict):
                tool.pop("credential_id", None)


def _model_config(config: dict[str, Any], source: dict[str, Any] | None) -> dict[str, Any]:
    current = copy.deepcopy(config)
    original = (source or {}).get("model_config")
    if isinstance(original, dict):
        try:
            current = overlay(original, normalise_config(copy.deepcopy(original)), current)
        except (StudioError, ValueError, TypeError):  # the source no longer validates (an older Studio's rules): write what is held now
            pass
    agent = current.get("agent_mode")
    tools = agent.get("tools") if isinstance(agent, dict) else None
    for tool in tools if isinstance(tools, list) else []:
        if isinstance(tool, dict):
            tool.pop("credential_id", None)  # Dify drops these always
    return copy.deepcopy(current)


def export_document(app: App, source: dict[str, Any] | None = None, *,
                    include_secrets: bool = False) -> tuple[dict[str, Any], list[str]]:
    """The DSL mapping for `app` and the warnings to show (blanked or exposed secrets)."""
    source = source if isinstance(source, dict) else {}
    warnings: list[str] = []
    data = {k: copy.deepcopy(v) for k, v in source.items()
            if k not in ("version", "kind", "app", "workflow", "model_config", "dependencies")}
    data.update(version=CURRENT_DSL_VERSION, kind="app", app=_app_block(app, source.get("app") or {}))
    config = app.config or {}
    if app.mode in GRAPH_MODES:
        workflow = copy.deepcopy(config.get("workflow") or {})
        workflow.setdefault("conversation_variables", [])
        workflow.setdefault("environment_variables", [])
        blank_secrets(workflow, include_secrets, warnings)
        data["workflow"] = workflow
        data["dependencies"] = copy.deepcopy(config.get("dependencies") or source.get("dependencies") or [])
    else:
        data["model_config"] = _model_config(config, source)
        data["dependencies"] = copy.deepcopy(source.get("dependencies") or [])
    return data, warnings


def dump(data: dict[str, Any]) -> str:
    """YAML as Dify writes it: keys sorted, unicode kept."""
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=True)
