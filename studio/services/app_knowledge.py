"""Knowledge for chat and text-generator apps: Dify's `dataset_configs` → retrieval → a context block in the prompt
and `retriever_resources` citations on the answer."""

from __future__ import annotations

import logging
from typing import Any

from studio.core.app_config import render_template
from studio.core.cancel import CancelToken
from studio.core.errors import NotFoundError, ValidationError
from studio.services.citations import resources, settings_from_dify

log = logging.getLogger(__name__)
CONTEXT_SLOT = "{{#context#}}"
_SENTINEL = "\x00studio-context\x00"
# Studio's own wording: where the prompt has no {{#context#}} slot, the passages go in front of it.
CONTEXT_PREAMBLE = ("Answer with the help of the passages inside <context></context>. If they do not hold the "
                    "answer, say that you do not know rather than guessing, and do not mention the passages "
                    "themselves. Reply in the language of the question.\n\n<context>\n{context}\n</context>\n\n")


def attached_datasets(config: dict[str, Any]) -> list[str]:
    """Knowledge base ids from `dataset_configs.datasets.datasets` and old-style `agent_mode.tools` entries."""
    ids: list[str] = []
    block = ((config.get("dataset_configs") or {}).get("datasets") or {}).get("datasets") or []
    tools = (config.get("agent_mode") or {}).get("tools") or []
    for entry in [*block, *tools]:
        ds = entry.get("dataset") if isinstance(entry, dict) else None
        if isinstance(ds, dict) and ds.get("id") and ds.get("enabled", True):
            ids.append(str(ds["id"]))
    return list(dict.fromkeys(ids))


def knowledge_context(knowledge, config: dict[str, Any], query: str,
                      cancel: CancelToken) -> tuple[str, list[dict[str, Any]]]:
    """Search the app's knowledge bases for `query`; returns (context text, citations). No attachment → ("", [])."""
    ids = attached_datasets(config)
    if not ids or knowledge is None or not query.strip():
        return "", []
    refs = []
    for ref in ids:
        try:
            refs.append(knowledge.get(ref, counts=False).id)
        except NotFoundError:
            raise ValidationError(f"The app uses knowledge base {ref!r}, which does not exist; remove it from "
                                  "the app's context settings") from None
    dc = config.get("dataset_configs") or {}
    first = knowledge.get(refs[0], counts=False)
    settings = settings_from_dify(dc, int(dc.get("top_k") or 4),
                                  dc.get("score_threshold") if dc.get("score_threshold_enabled") else None,
                                  first.retrieval.search_method, knowledge)
    conditions = dc.get("metadata_filtering_conditions") if dc.get("metadata_filtering_mode") == "manual" else None
    records = knowledge.search(refs, query, settings=settings, metadata_conditions=conditions, cancel=cancel)
    context = "\n\n".join(r.segment.content for r in records)
    shown = (config.get("retriever_resource") or {}).get("enabled", True)
    return context, resources(records) if shown else []


def with_context(template: str, inputs: dict[str, Any], context: str) -> str:
    """Fill the prompt template; the context goes into its {{#context#}} slot, or in front when it has none."""
    if CONTEXT_SLOT in template:
        return render_template(template.replace(CONTEXT_SLOT, _SENTINEL), inputs).replace(_SENTINEL, context)
    rendered = render_template(template, inputs)
    return CONTEXT_PREAMBLE.format(context=context) + rendered if context else rendered
