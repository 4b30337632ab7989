"""Model catalog use cases: bundled and user-added GGUF models, their metadata, and the default."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from studio.core.cancel import CancelToken
from studio.core.entities import ChatTurn, GenerationChunk, GenerationParams, ModelInfo, ModelKind
from studio.core.errors import ModelError, NotFoundError, ValidationError

log = logging.getLogger(__name__)
DEFAULT_CHAT_KEY = "default_chat_model"


class ModelService:
    def __init__(self, repos, inspector, provider) -> None:
        self._repo = repos.models
        self._settings = repos.settings
        self._inspector = inspector
        self._provider = provider

    def list(self) -> list[ModelInfo]:
        """Bundled models, then user-added ones; a file that went missing is listed with its error."""
        models = list(self._inspector.bundled_models())
        for model_id, path in self._repo.list():
            try:
                info = self._inspector.inspect(path, source="user").model_copy(update={"id": model_id})
            except ModelError as exc:
                info = ModelInfo(id=model_id, name=Path(path).stem, path=path, source="user", error=exc.message)
            models.append(info)
        return models

    def get(self, model_id: str) -> ModelInfo:
        for model in self.list():
            if model.id == model_id:
                return model
        raise NotFoundError(f"No model with id {model_id!r}")

    def add(self, path: str) -> ModelInfo:
        """Add a GGUF file from disk after reading its header; a corrupt or missing file is refused."""
        if not path or not str(path).strip():
            raise ValidationError("Choose a GGUF file to add")
        info = self._inspector.inspect(str(path), source="user")
        taken = {m.id for m in self.list()}
        model_id, n = info.id, 2
        while model_id in taken:
            model_id, n = f"{info.id}-{n}", n + 1
        self._repo.add(model_id, info.path)
        return info.model_copy(update={"id": model_id})

    def remove(self, model_id: str) -> None:
        model = self.get(model_id)
        if model.source == "bundled":
            raise ValidationError(f"{model.name} is bundled with Studio and cannot be removed")
        self._repo.remove(model_id)
        if self._settings.get(DEFAULT_CHAT_KEY) == model_id:
            self._settings.set(DEFAULT_CHAT_KEY, None)

    def default_chat_model(self) -> ModelInfo:
        chosen = self._settings.get(DEFAULT_CHAT_KEY)
        models = [m for m in self.list() if m.kind == ModelKind.CHAT]
        for model in models:
            if model.id == chosen and not model.error:
                return model
        for model in models:
            if not model.error:
                return model
        raise ModelError("No chat model is installed. Run `make install`, or add a GGUF file on the Models page.")

    def set_default_chat_model(self, model_id: str) -> ModelInfo:
        model = self.get(model_id)
        if model.error:
            raise ModelError(f"{model.name} cannot be the default: {model.error}")
        if model.kind != ModelKind.CHAT:
            raise ValidationError(f"{model.name} is an embedding model, not a chat model")
        self._settings.set(DEFAULT_CHAT_KEY, model_id)
        return model

    def resolve_chat_model(self, name: str) -> ModelInfo:
        """The model an app names, or the default when it names none."""
        if not name:
            return self.default_chat_model()
        for model in self.list():
            if name in (model.id, model.name):
                if model.error:
                    raise ModelError(f"Model {model.name} is unavailable: {model.error}")
                return model
        raise ModelError(f"The app's model {name!r} is not installed; pick another model in the app's settings.")

    def chat(self, model_id: str, turns: list[ChatTurn], params: GenerationParams,
             cancel: CancelToken) -> Iterator[GenerationChunk]:
        """A local chat model on its own, with no app around it (the API's opt-in raw models): nothing is stored.
        The model is checked here; the generation runs when the stream is read."""
        model = self.get(model_id)
        if model.kind != ModelKind.CHAT:
            raise ValidationError(f"{model.name} is {model.kind.value} model, not a chat model")
        if model.error:
            raise ModelError(f"Model {model.name} is unavailable: {model.error}")
        if not turns or turns[-1].role != "user":
            raise ValidationError("The last message must be the user's")
        keep_first = 1 if turns[0].role == "system" else 0
        return self._provider.stream_chat(model, turns, params, cancel, keep_first=keep_first)

    def load(self, model_id: str) -> ModelInfo:
        """Load a model into memory now (a check that it works); raises ModelError with the reason."""
        model = self.get(model_id)
        if model.error:
            raise ModelError(model.error)
        self._provider.load(model)
        return model
