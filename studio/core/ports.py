"""Ports: the small protocols through which services and engines meet without importing each other."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable

from studio.core.cancel import CancelToken
from studio.core.code import CodeRequest, CodeResult, LanguageInfo
from studio.core.entities import ChatTurn, GenerationChunk, GenerationParams, ModelInfo


@runtime_checkable
class ChatModelProvider(Protocol):
    """Something that turns chat turns into streamed text: local llama.cpp, or an HTTP endpoint."""

    def stream_chat(
        self,
        model: ModelInfo,
        turns: Sequence[ChatTurn],
        params: GenerationParams,
        cancel: CancelToken,
        *,
        keep_first: int = 1,
    ) -> Iterator[GenerationChunk]:
        """Stream a reply. When the turns overflow the context, the oldest turns after the first
        `keep_first` are dropped (reported in the final chunk's `dropped_turns`); if that is not
        enough, PromptTooLongError is raised before any text is generated."""
        ...

    def count_tokens(self, model: ModelInfo, text: str) -> int: ...

    def unload_all(self) -> None: ...


class ModelInspector(Protocol):
    """Reads a model file's header into a ModelInfo; raises ModelError for a missing or corrupt file."""

    def inspect(self, path: str, *, source: str = "user") -> ModelInfo: ...

    def bundled_models(self) -> list[ModelInfo]: ...


class CodeExecutor(Protocol):
    """Runs a code node's code in isolation (the sandbox engine); a workflow node gets one in its run context."""

    def run(self, request: CodeRequest) -> CodeResult:
        """Run `main(**inputs)`; every failure, hostile or not, comes back as a result with `ok=False`."""
        ...

    def languages(self) -> list[LanguageInfo]: ...
