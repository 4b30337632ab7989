"""Composition root: builds settings, store, runtime and services. Only entry points import this module."""

from __future__ import annotations

import logging

from studio.core.settings import Settings
from studio.runtime.gguf_info import GGUFInspector
from studio.runtime.llama import LlamaCppProvider
from studio.sandbox import SandboxRunner
from studio.services import Services
from studio.services.agent import AgentRunner
from studio.services.api_access import ApiAccessService
from studio.services.apps import AppService
from studio.services.bundle import BundleService
from studio.services.chat import ChatService, ConversationService
from studio.services.citations import KnowledgePortAdapter
from studio.services.dsl import DslService
from studio.services.embedders import EmbedderPool
from studio.services.files import FileService
from studio.services.keys import KeyService
from studio.services.knowledge import KnowledgeService
from studio.services.models import ModelService
from studio.services.sandbox import SandboxService
from studio.services.settings import SettingsService
from studio.services.suggestions import SuggestionService
from studio.services.tasks import TaskRunner
from studio.services.templates import TemplateService, bundled_folders
from studio.services.workflow_llm import ModelsLLM
from studio.services.workflow_tools import BuiltinToolPort
from studio.services.workflows import WorkflowService
from studio.store import Store
from studio.store.agent_thoughts import AgentThoughtRepository
from studio.tools import ToolRegistry
from studio.workflow.node import WorkflowLimits
from studio.workflow.runner import WorkflowRunner

log = logging.getLogger(__name__)


def build(settings: Settings | None = None) -> Services:
    """Open (and migrate) the home folder's database and wire the engines behind the services."""
    settings = settings or Settings()
    settings.ensure_dirs()
    store = Store(settings.db_path)
    repos = store.repos
    interrupted = repos.messages.mark_running_interrupted() + repos.runs.mark_running_failed()
    if interrupted:
        log.warning("marked %d unfinished answer(s) or run(s) as interrupted", interrupted)
    prefs = SettingsService(repos, settings)
    threads = prefs.get("n_threads") or settings.n_threads
    provider = LlamaCppProvider(n_ctx=prefs.get("n_ctx") or settings.n_ctx, n_threads=threads)
    prefs.listeners.append(lambda key, value: _apply_preference(provider, settings, key, value))
    apps = AppService(repos)
    models = ModelService(repos, GGUFInspector(settings.cache_dir), provider)
    sandbox_runner = SandboxRunner()
    sandbox = SandboxService(sandbox_runner, prefs)
    tasks = TaskRunner()
    embedders = EmbedderPool(models, settings.cache_dir, lambda: prefs.get("n_threads") or settings.n_threads)
    knowledge = KnowledgeService(repos, settings.lancedb_dir, embedders, tasks)
    tool_registry = ToolRegistry.builtin()
    runner = WorkflowRunner(limits=workflow_limits(prefs), llm=ModelsLLM(models, provider), code=sandbox,
                            knowledge=KnowledgePortAdapter(knowledge), tools=BuiltinToolPort(tool_registry),
                            files_dir=str(settings.home / "files"))
    prefs.listeners.append(lambda key, value: _apply_workflow_limit(runner, prefs, key))
    dsl = DslService(repos, models, runner)
    keys = KeyService(repos, apps)
    return Services(
        apps=apps,
        chat=ChatService(repos, apps, models, provider, knowledge,
                         agent=AgentRunner(repos, provider, tool_registry, AgentThoughtRepository(store))),
        conversations=ConversationService(repos),
        models=models,
        settings=prefs,
        tasks=tasks,
        knowledge=knowledge,
        workflows=WorkflowService(repos, apps, runner),
        dsl=dsl,
        sandbox=sandbox,
        keys=keys,
        files=FileService(repos, settings.home / "files" / "uploads"),
        suggestions=SuggestionService(repos, models, provider),
        api_access=ApiAccessService(prefs, _api_server),
        templates=TemplateService(dsl, [settings.templates_dir] if settings.templates_dir else bundled_folders()),
        bundles=BundleService(apps, dsl, knowledge, models, keys, repos, settings.home,
                              lambda: settings.api_key.get_secret_value()),
        _closers=(knowledge.close, runner.close, sandbox_runner.close, embedders.close, provider.unload_all,
                  store.close),
    )


def _api_server(services, **options):
    """Imported on first use: the web framework costs start-up time the window does not need."""
    from studio.api.server import ApiServer

    return ApiServer(services, **options)


def _apply_preference(provider: LlamaCppProvider, settings: Settings, key: str, value) -> None:
    if key == "n_ctx":
        provider.configure(n_ctx=value)
    elif key == "n_threads":
        provider.configure(n_threads=value or settings.n_threads)


def workflow_limits(prefs: SettingsService) -> WorkflowLimits:
    return WorkflowLimits(
        max_steps=prefs.get("workflow_max_steps"), max_time_s=float(prefs.get("workflow_max_time_s")),
        max_variable_bytes=prefs.get("workflow_max_variable_bytes"), max_workers=prefs.get("workflow_max_workers"),
        max_loop_count=prefs.get("workflow_max_loop_count"), max_parallel=prefs.get("workflow_max_parallel"),
    )


def _apply_workflow_limit(runner: WorkflowRunner, prefs: SettingsService, key: str) -> None:
    if key.startswith("workflow_"):
        runner.limits = workflow_limits(prefs)
