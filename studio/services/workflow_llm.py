"""The WorkflowLLM port for LLM-based workflow nodes: a DSL model reference resolved to a local runtime."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from pydantic import ValidationError as PydanticError

from studio.core.app_config import CompletionParams
from studio.core.cancel import CancelToken
from studio.core.entities import ChatTurn, GenerationChunk, GenerationParams
from studio.core.errors import ValidationError


class ModelsLLM:
    def __init__(self, models, provider) -> None:
        self._models = models
        self._provider = provider

    def stream(self, model: dict[str, Any], turns: Sequence[ChatTurn], cancel: CancelToken, *,
               json_schema: dict[str, Any] | None = None, stop: Sequence[str] = ()) -> Iterator[GenerationChunk]:
        model = model or {}
        info = self._models.resolve_chat_model(str(model.get("name") or ""))
        raw = dict(model.get("completion_params") or {})
        try:
            p = CompletionParams.model_validate(
                {k: raw[k] for k in ("temperature", "top_p", "max_tokens", "stop") if raw.get(k) is not None})
        except PydanticError as exc:
            err = exc.errors()[0]
            raise ValidationError(f"completion_params.{err['loc'][0]}: {err['msg']}") from None
        params = GenerationParams(temperature=p.temperature, top_p=p.top_p, max_tokens=p.max_tokens,
                                  stop=tuple([*p.stop, *stop]), seed=raw.get("seed"), json_schema=json_schema)
        system_first = 1 if turns and turns[0].role == "system" else 0
        return self._provider.stream_chat(info, turns, params, cancel, keep_first=system_first)
