"""The Knowledge page: the list of knowledge bases and one base's view, its ingestion runs, and resuming after a crash."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QStackedWidget, QWidget

from studio.core.knowledge import Dataset
from studio.services.ingestion import IngestProgress, IngestReport
from studio.ui.knowledge.create_dialog import CreateKnowledgeDialog
from studio.ui.knowledge.dataset_view import DatasetView
from studio.ui.knowledge.documents import plan_text
from studio.ui.knowledge.jobs import IngestJob
from studio.ui.knowledge.kb_list import DatasetList
from studio.ui.knowledge.tags_dialog import TagsDialog
from studio.ui.theme import confirm_box

log = logging.getLogger(__name__)


class KnowledgePage(QStackedWidget):
    """Index 0 lists the knowledge bases; index 1 shows one. Every service call runs on a worker via the bridge."""

    def __init__(self, services, bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services, self.bridge = services, bridge
        self.datasets: list[Dataset] = []
        self.jobs: dict[str, IngestJob] = {}
        self.loaded_once = self.checked_interrupted = False
        self.dialog: QWidget | None = None
        self.list_view = DatasetList()
        self.view = DatasetView(services, bridge)
        self.addWidget(self.list_view)
        self.addWidget(self.view)
        self.list_view.create_requested.connect(self.create_dataset)
        self.list_view.open_requested.connect(self.open_dataset)
        self.list_view.delete_requested.connect(self.delete_dataset)
        self.list_view.tags_requested.connect(self.edit_tags)
        self.view.back_requested.connect(self.close_dataset)
        self.view.add_requested.connect(self.add_paths)
        docs = self.view.documents
        docs.resume_requested.connect(lambda: self.view.dataset and self.start(self.view.dataset.id))
        docs.cancel_requested.connect(self.cancel)
        docs.changed.connect(self.refresh)
        self.view.settings.saved.connect(self._settings_saved)
        self.view.settings.rebuilt.connect(self._rebuilt)

    # -- the list ----------------------------------------------------------------------------------
    def activated(self) -> None:
        """Nothing is read until the page is first shown, so start-up stays fast."""
        if not self.loaded_once:
            self.refresh()
        if not self.checked_interrupted:
            self.checked_interrupted = True
            self.bridge.call(self.services.knowledge.interrupted, self._resume_interrupted, lambda _m: None)

    def refresh(self) -> None:
        knowledge = self.services.knowledge

        def read():
            datasets = knowledge.list()
            bound = knowledge.tags_of([d.id for d in datasets])
            return datasets, {k: [t.name for t in v] for k, v in bound.items()}, [t.name for t in knowledge.tags()]
        self.bridge.call(read, self._listed, self.list_view.show_message)

    def _listed(self, result) -> None:
        datasets, tags, all_tags = result
        self.loaded_once = True
        self.datasets = datasets
        states = {i: self._state(j.last) for i, j in self.jobs.items() if j.running}
        self.list_view.show_datasets(datasets, states, tags, all_tags)
        current = self.view.dataset
        fresh = next((d for d in datasets if current is not None and d.id == current.id), None)
        if fresh is not None:
            self.view.set_info(fresh)

    @staticmethod
    def _state(progress: IngestProgress | None) -> str:
        return f"Indexing · {progress.fraction:.0%}" if progress is not None else "Indexing…"

    def _resume_interrupted(self, datasets: list[Dataset]) -> None:
        """Documents left half-done by a crash or a kill carry on by themselves, as Dify's workers would."""
        if not datasets:
            return
        names = ", ".join(f"“{d.name}”" for d in datasets)
        self.list_view.show_message(f"Resuming indexing of {names}: it was left unfinished when Studio last closed.")
        for dataset in datasets:
            self.start(dataset.id)

    def create_dataset(self) -> CreateKnowledgeDialog:
        dialog = CreateKnowledgeDialog(lambda values: self._create(dialog, values), self)
        self.bridge.call(self.services.models.list, dialog.set_models, lambda _m: None)
        return self._show_dialog(dialog)

    def _create(self, dialog: CreateKnowledgeDialog, values: dict) -> None:
        def created(dataset: Dataset) -> None:
            dialog.done_ok()
            self.refresh()
            self.open_dataset(dataset)

        name = values.pop("name")
        self.bridge.call(lambda: self.services.knowledge.create(name, **values), created, dialog.show_error)

    def delete_dataset(self, dataset: Dataset) -> QMessageBox:
        box = confirm_box(self, "Delete knowledge", f"Delete “{dataset.name}” with its {dataset.document_count} "
                          "document(s) and all their chunks?\nApps that use it will no longer find it. This cannot "
                          "be undone.", "Delete", lambda: self._delete(dataset))
        return self._show_dialog(box)

    def _delete(self, dataset: Dataset) -> None:
        def deleted(_r) -> None:
            self.list_view.show_message(f"Deleted “{dataset.name}”.")
            if self.view.dataset is not None and self.view.dataset.id == dataset.id:
                self.close_dataset()
            self.refresh()

        self.bridge.call(lambda: self.services.knowledge.delete(dataset.id), deleted, self.list_view.show_message)

    def edit_tags(self, dataset: Dataset) -> TagsDialog:
        dialog = TagsDialog(self.services, self.bridge.call, dataset, self)
        dialog.finished.connect(lambda _r: dialog.changed and self.refresh())
        return self._show_dialog(dialog)

    def _show_dialog(self, dialog):
        self.dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    # -- one knowledge base ------------------------------------------------------------------------
    def open_dataset(self, dataset: Dataset) -> DatasetView:
        self.view.show_dataset(dataset)
        self.setCurrentWidget(self.view)
        job = self.jobs.get(dataset.id)
        strip = self.view.documents.progress
        if job is not None and job.running:
            strip.starting()
            if job.last is not None:
                strip.show_progress(job.last)
        elif job is not None and job.report is not None:
            strip.finished(job.report)
            strip.show()
        self.view.set_running(job is not None and job.running)
        return self.view

    def close_dataset(self) -> None:
        self.view.close_chunks()
        self.setCurrentWidget(self.list_view)
        self.refresh()

    def close_current(self) -> bool:
        """Ctrl+W: back from a chunk list or a knowledge base; False when there is nothing to close."""
        if self.currentWidget() is not self.view:
            return False
        if self.view.docs_stack.currentWidget() is self.view.chunks:
            self.view.close_chunks()
        else:
            self.close_dataset()
        return True

    def add_paths(self, paths: list[str]) -> None:
        dataset = self.view.dataset
        if dataset is None:
            return
        docs = self.view.documents
        docs.show_message("Checking the files…")
        self.bridge.call(lambda: self.services.knowledge.add(dataset.id, paths),
                         lambda plan: self._added(dataset, plan), lambda m: docs.show_message(m, error=True))

    def _added(self, dataset: Dataset, plan) -> None:
        docs = self.view.documents
        if self.view.dataset is not None and self.view.dataset.id == dataset.id:
            docs.show_message(plan_text(plan))
            docs.refresh()
        if plan.queued or plan.replaced or plan.resumed:
            self.start(dataset.id)
            self.refresh()  # the header and the card count the new documents

    def _settings_saved(self, dataset: Dataset) -> None:
        if self._showing(dataset.id):
            self.view.set_info(dataset)
            self.view.retrieval.set_dataset(dataset)
        self.refresh()

    def _rebuilt(self, dataset: Dataset) -> None:
        """The index is dropped and every document queued again: the usual run re-embeds them, with progress and
        Cancel on the Documents tab."""
        if self._showing(dataset.id):
            self.view.set_info(dataset)
            self.view.close_chunks()
            self.view.tabs.setCurrentIndex(0)
            self.view.documents.show_message(f"Rebuilding the index with {dataset.embedding.model}…")
            self.view.documents.refresh()
        self.start(dataset.id)
        self.refresh()

    # -- ingestion runs ----------------------------------------------------------------------------
    def start(self, dataset_id: str) -> IngestJob:
        job = self.jobs.get(dataset_id)
        if job is None:
            job = self.jobs[dataset_id] = IngestJob(self.services, self.bridge, dataset_id, self)
            job.progressed.connect(lambda p, i=dataset_id: self._progressed(i, p))
            job.finished.connect(lambda r, i=dataset_id: self._finished(i, r))
            job.failed.connect(lambda m, i=dataset_id: self._failed(i, m))
        if job.running:
            return job
        job.start()
        self.list_view.grid.set_state(dataset_id, self._state(None))
        if self._showing(dataset_id):
            self.view.documents.progress.starting()
            self.view.set_running(True)
        return job

    def cancel(self) -> None:
        job = self.jobs.get(self.view.dataset.id) if self.view.dataset is not None else None
        if job is not None and job.running:
            job.cancel()
            self.view.documents.progress.cancelling()

    def _showing(self, dataset_id: str) -> bool:
        return self.view.dataset is not None and self.view.dataset.id == dataset_id

    def _progressed(self, dataset_id: str, progress: IngestProgress) -> None:
        self.list_view.grid.set_state(dataset_id, self._state(progress))
        self.list_view.grid.viewport().update()
        if not self._showing(dataset_id):
            return
        job, strip = self.jobs[dataset_id], self.view.documents.progress
        strip.show_progress(progress)
        if job.cancel_requested:
            strip.cancelling()
        # The table is re-read only when a file or a batch of chunks is done, not on every report.
        key = (progress.phase, progress.files_done, progress.chunks_done)
        if key != job.shown_key:
            job.shown_key = key
            self.view.documents.refresh()

    def _finished(self, dataset_id: str, report: IngestReport) -> None:
        self.list_view.grid.set_state(dataset_id, "")
        if self._showing(dataset_id):
            self.view.documents.progress.finished(report)
            self.view.set_running(False)
            self.view.documents.refresh()
            self.view.metadata.refresh()  # new documents bring their front matter
            self.view.retrieval.refresh_fields()
        self.refresh()

    def _failed(self, dataset_id: str, message: str) -> None:
        self.list_view.grid.set_state(dataset_id, "")
        if self._showing(dataset_id):
            self.view.documents.progress.failed(message)
            self.view.set_running(False)
            self.view.documents.refresh()
        else:
            self.list_view.show_message(message)
        self.refresh()

    def shutdown(self) -> None:
        """The services cancel running ingestion when they close; here only the UI's timers stop."""
        self.view.shutdown()
        for job in self.jobs.values():
            job.stop_timer()
