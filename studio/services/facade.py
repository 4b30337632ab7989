"""Services: the bundle of use cases that app.py builds and every entry point receives."""

from __future__ import annotations

from dataclasses import dataclass

from studio.services.api_access import ApiAccessService
from studio.services.apps import AppService
from studio.services.bundle import BundleService
from studio.services.chat import ChatService, ConversationService
from studio.services.dsl import DslService
from studio.services.files import FileService
from studio.services.keys import KeyService
from studio.services.knowledge import KnowledgeService
from studio.services.models import ModelService
from studio.services.sandbox import SandboxService
from studio.services.settings import SettingsService
from studio.services.suggestions import SuggestionService
from studio.services.tasks import TaskRunner
from studio.services.templates import TemplateService
from studio.services.workflows import WorkflowService


@dataclass
class Services:
    apps: AppService
    chat: ChatService
    conversations: ConversationService
    models: ModelService
    settings: SettingsService
    tasks: TaskRunner
    workflows: WorkflowService
    dsl: DslService
    sandbox: SandboxService
    knowledge: KnowledgeService
    keys: KeyService
    files: FileService
    suggestions: SuggestionService | None = None
    api_access: ApiAccessService | None = None
    templates: TemplateService | None = None
    bundles: BundleService | None = None  # server bundles: export one, set one up to serve
    _closers: tuple = ()

    def close(self) -> None:
        if self.api_access is not None:
            self.api_access.stop()
        self.knowledge.close()
        self.tasks.shutdown()
        for close in self._closers:
            close()
