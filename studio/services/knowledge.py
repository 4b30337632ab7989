"""Knowledge-base use cases: create and edit knowledge bases, add files (deduplicated by content hash), run and
resume ingestion in the background, edit chunks, and search (hit testing, chat context, the workflow node)."""

from __future__ import annotations

import hashlib
import logging
import threading
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError as PydanticError

from studio.core.cancel import CancelToken
from studio.core.errors import ConflictError, NotFoundError, ValidationError
from studio.core.text import require_text
from studio.core.knowledge import (Dataset, DocumentStatus, EmbeddingChoice, KbDocument,
                                   ProcessRule, RetrievalSettings, Segment, Segmentation)
from studio.knowledge import metadata as metadata_filter
from studio.services.kb_edits import KnowledgeEdits, chunk_text
from studio.services.kb_labels import KnowledgeLabels
from studio.services.kb_intake import AddPlan, IngestLock, check_embedding, doc_fields, expand, file_hash
from studio.services.ingestion import IngestProgress, IngestReport, Ingestion, indexed_text
from studio.services.retrieval import Record, Retriever

log = logging.getLogger(__name__)
MAX_NAME = 40  # Dify's dataset name limit


class KnowledgeService(KnowledgeEdits, KnowledgeLabels):
    def __init__(self, repos, lancedb_dir: Path, embedders, tasks) -> None:
        self._repo = repos.knowledge
        self._labels = repos.kb_labels
        self._root = Path(lancedb_dir)
        self._embedders = embedders
        self._tasks = tasks
        self._lock = threading.Lock()
        self._indexes: dict[str, Any] = {}  # dataset id -> KnowledgeIndex
        self._running: dict[str, Any] = {}  # dataset id -> Task
        self._ingestion = Ingestion(self._repo, self._index, embedders)
        self._retriever = Retriever(self._repo, lambda d: self._index(d, 0), embedders)

    # -- knowledge bases ----------------------------------------------------------------------------------
    def create(self, name: str, *, description: str = "", process_rule: ProcessRule | dict | None = None,
               chunk_size: int | None = None, overlap: int | None = None, separator: str | None = None,
               embedding: EmbeddingChoice | None = None, retrieval: RetrievalSettings | None = None) -> Dataset:
        name = self._check_name(name)
        rule = self._rule(process_rule, chunk_size, overlap, separator)
        embedding = check_embedding(embedding or EmbeddingChoice())
        dataset_id = str(uuid.uuid4())
        return self._repo.create_dataset(
            dataset_id, name=name, description=description, embedding=embedding.model_dump(),
            process_rule=rule.model_dump(), retrieval=(retrieval or RetrievalSettings()).model_dump(),
            index_name=f"kb_{dataset_id.replace('-', '')}")

    def _check_name(self, name: str, own_id: str | None = None) -> str:
        """Trimmed and NFC-normalised; no control characters; unique regardless of letter case."""
        name = unicodedata.normalize("NFC", (name or "").strip())
        if not name:
            raise ValidationError("A knowledge base needs a name")
        if any(unicodedata.category(c).startswith("C") for c in name):
            raise ValidationError("A knowledge base name cannot contain tabs, line breaks or other control characters")
        if len(name) > MAX_NAME:
            raise ValidationError(f"The name is {len(name)} characters long; the limit is {MAX_NAME}")
        clash = next((d for d in self._repo.list_datasets() if d.name.casefold() == name.casefold()
                      and d.id != own_id), None)
        if clash is not None:
            raise ConflictError(f"A knowledge base named {clash.name!r} already exists")
        return name

    @staticmethod
    def _rule(rule, chunk_size, overlap, separator) -> ProcessRule:
        if isinstance(rule, dict):
            rule = ProcessRule.from_dify(rule) if "rules" in rule or "mode" in rule else ProcessRule(**rule)
        rule = rule or ProcessRule()
        if chunk_size is None and overlap is None and separator is None:
            return rule
        seg = rule.segmentation
        if overlap is None and chunk_size is not None:
            overlap = min(seg.chunk_overlap, chunk_size // 10)  # a small chunk size with the default overlap
        try:
            new = Segmentation(separator=seg.separator if separator is None else separator,
                               max_tokens=seg.max_tokens if chunk_size is None else chunk_size,
                               chunk_overlap=seg.chunk_overlap if overlap is None else overlap)
        except PydanticError as exc:
            raise ValidationError(exc.errors()[0]["msg"].removeprefix("Value error, ")) from None
        mode = "custom" if rule.mode == "automatic" else rule.mode
        return rule.model_copy(update={"segmentation": new, "mode": mode})

    def list(self) -> list[Dataset]:
        return self._repo.list_datasets()

    def get(self, ref: str, *, counts: bool = True) -> Dataset:
        """A knowledge base by id or by name (with its document and chunk counts unless `counts=False`)."""
        try:
            return self._repo.get_dataset(ref, counts=counts)
        except NotFoundError:
            found = self._repo.find_dataset(ref, counts=counts)
            if found is None:
                raise NotFoundError(f"No knowledge base named or with id {ref!r}") from None
            return found

    def update(self, ref: str, *, name: str | None = None, description: str | None = None,
               retrieval: RetrievalSettings | None = None) -> Dataset:
        dataset = self.get(ref, counts=False)
        fields: dict[str, Any] = {}
        if name is not None:
            fields["name"] = self._check_name(name, dataset.id)
        if description is not None:
            fields["description"] = description
        if retrieval is not None:
            fields["retrieval"] = retrieval.model_dump()
        return self._repo.update_dataset(dataset.id, **fields)

    def _stop_ingestion(self, dataset: Dataset, doing: str) -> None:
        """Stop this process's run on the knowledge base; refuse while another process is indexing it."""
        self.cancel_ingestion(dataset.id, wait=True)
        if self._lock_of(dataset).held():
            raise ConflictError(f"Cannot {doing} {dataset.name} while another Studio run is indexing it; stop that "
                                "run first")

    def delete(self, ref: str) -> None:
        dataset = self.get(ref, counts=False)
        self._stop_ingestion(dataset, "delete")
        index = self._index(dataset, 0)
        self._repo.delete_dataset(dataset.id)
        with self._lock:
            self._indexes.pop(dataset.id, None)
        if index is not None:
            index.drop()
        self._lock_of(dataset).path.unlink(missing_ok=True)

    def rebuild(self, ref: str, embedding: EmbeddingChoice | None = None) -> Dataset:
        """Drop the knowledge base's vector and full-text index and queue every chunk to embed again (optionally
        with another embedding model); the chunks in SQLite are kept. Run ingest/start_ingestion afterwards."""
        dataset = self.get(ref, counts=False)
        embedding = None if embedding is None else check_embedding(embedding)
        self._stop_ingestion(dataset, "rebuild")
        index = self._index(dataset, 0)
        with self._lock:
            self._indexes.pop(dataset.id, None)
        if index is not None:
            index.drop()
        self._repo.reset_index(dataset.id)
        if embedding is not None:
            self._repo.update_dataset(dataset.id, embedding=embedding.model_dump())
        return self._repo.get_dataset(dataset.id)

    def _index(self, dataset: Dataset, dimension: int):
        """The dataset's LanceDB table; created on first use with the embedder's dimension."""
        with self._lock:
            found = self._indexes.get(dataset.id)
            if found is not None:
                return found
            stored = self._repo.get_dataset(dataset.id, counts=False).dimension
            if not stored and not dimension:
                return None
            if not stored:
                self._repo.update_dataset(dataset.id, dimension=dimension)
            from studio.knowledge.index import KnowledgeIndex  # lancedb takes ~2 s to import: only when needed

            index = self._indexes[dataset.id] = KnowledgeIndex(self._root, dataset.index_name, stored or dimension)
            return index

    # -- documents and ingestion --------------------------------------------------------------------------
    def add(self, ref: str, paths: Sequence[str | Path]) -> AddPlan:
        """Queue files (and folders' files) for ingestion. An unchanged file is a no-op; a changed one replaces
        its old chunks; a file whose content is already in the knowledge base under another path is skipped."""
        dataset = self.get(ref, counts=False)
        plan = AddPlan()
        existing = self._repo.list_documents(dataset.id)
        by_path = {d.source_path: d for d in existing}
        # A failed document is no reason to skip another file with the same bytes (two empty files, say).
        by_hash = {d.content_hash: d for d in existing if d.status != DocumentStatus.ERROR and d.size_bytes}
        new: list[dict[str, Any]] = []
        for path in expand(paths, plan):
            try:
                digest, size = file_hash(path), path.stat().st_size
            except OSError as exc:
                plan.skipped.append((str(path), f"cannot be read: {exc.strerror or exc}"))
                continue
            self._plan_one(dataset, path, digest, size, by_path, by_hash, plan, new)
        if new:
            plan.queued += self._repo.add_documents(dataset.id, new)
        return plan

    def _plan_one(self, dataset, path, digest, size, by_path, by_hash, plan, new) -> None:
        old = by_path.get(str(path))
        if old is not None:
            if old.content_hash != digest:
                self._repo.requeue(old.id, content_hash=digest, size_bytes=size)
                plan.replaced.append(str(path))
            elif old.status == DocumentStatus.COMPLETED:
                plan.unchanged.append(str(path))
            elif old.status == DocumentStatus.ERROR:
                self._repo.requeue(old.id, content_hash=digest, size_bytes=size)
                plan.resumed.append(str(path))
            else:
                plan.resumed.append(str(path))
            return
        if size and (digest in by_hash or any(f["content_hash"] == digest for f in new)):
            same = by_hash.get(digest)
            plan.duplicates.append(f"{path} (same content as {same.name if same else 'another file here'})")
            return
        new.append({"id": str(uuid.uuid4()), "name": path.name, "source_path": str(path), "content_hash": digest,
                    "size_bytes": size})

    def ingest(self, ref: str, cancel: CancelToken | None = None,
               on_progress: Callable[[IngestProgress], None] | None = None) -> IngestReport:
        """Ingest every pending document now, on this thread (the CLI's way; the GUI uses start_ingestion)."""
        dataset = self.get(ref, counts=False)
        return self._locked_run(dataset, cancel or CancelToken(), on_progress)

    def _lock_of(self, dataset: Dataset) -> IngestLock:
        return IngestLock(self._root / f"{dataset.index_name}.lock")

    def _locked_run(self, dataset: Dataset, cancel: CancelToken, on_progress) -> IngestReport:
        lock = self._lock_of(dataset)
        if not lock.acquire():
            raise ConflictError(f"{dataset.name} is being indexed by another Studio run; wait for it to finish "
                                "or stop it, then try again")
        try:
            return self._ingestion.run(self._repo.get_dataset(dataset.id), cancel, on_progress)
        finally:
            lock.release()

    def ingesting_elsewhere(self, ref: str) -> bool:
        """Whether a run outside this service (another process) is indexing the knowledge base now."""
        dataset = self.get(ref, counts=False)
        return not self.is_ingesting(dataset.id) and self._lock_of(dataset).held()

    def start_ingestion(self, ref: str, on_progress: Callable[[IngestProgress], None] | None = None,
                        on_done: Callable[[IngestReport | Exception], None] | None = None):
        """Run ingestion on the task runner; at most one run per knowledge base (a running one is returned)."""
        dataset = self.get(ref, counts=False)
        with self._lock:
            task = self._running.get(dataset.id)
            if task is not None and not task.done:
                return task

            def work(cancel: CancelToken):
                try:
                    while True:
                        report = self._locked_run(dataset, cancel, on_progress)
                        if report.cancelled or not self._has_waiting(dataset.id):
                            break
                except Exception as exc:  # noqa: BLE001 - reported to the caller's callback
                    log.exception("ingestion of %s failed", dataset.name)
                    if on_done:
                        on_done(exc)
                    raise
                if on_done:
                    on_done(report)
                return report

            task = self._running[dataset.id] = self._tasks.submit(work)
            return task

    def _has_waiting(self, dataset_id: str) -> bool:
        return any(d.status != DocumentStatus.PAUSED for d in self._repo.pending_documents(dataset_id))

    def cancel_ingestion(self, dataset_id: str, wait: bool = False) -> None:
        with self._lock:
            task = self._running.get(dataset_id)
        if task is not None and not task.done:
            task.cancel()
            if wait:
                try:
                    task.future.result(timeout=60)
                except Exception:  # noqa: BLE001 - its failure was already logged
                    pass

    def is_ingesting(self, dataset_id: str) -> bool:
        with self._lock:
            task = self._running.get(dataset_id)
            return task is not None and not task.done

    def interrupted(self) -> list[Dataset]:
        """Knowledge bases with documents left mid-way by a crash (not paused by the user)."""
        ids = {d.dataset_id for d in self._repo.pending_documents() if d.status != DocumentStatus.PAUSED}
        found = [self._repo.get_dataset(i) for i in sorted(ids)]
        return [d for d in found if not self.is_ingesting(d.id) and not self._lock_of(d).held()]

    def documents(self, ref: str) -> list[KbDocument]:
        return self._repo.list_documents(self.get(ref, counts=False).id)

    def delete_document(self, document_id: str) -> None:
        doc = self._repo.get_document(document_id)
        index = self._index(self._repo.get_dataset(doc.dataset_id), 0)
        if index is not None:
            index.delete_document(doc.id)
        self._repo.delete_document(doc.id)

    def set_document_enabled(self, document_id: str, enabled: bool) -> KbDocument:
        self._repo.set_document_enabled(document_id, enabled)
        return self._repo.get_document(document_id)

    def document_text(self, document_id: str) -> str:
        return self._repo.document_text(document_id)

    # -- chunks -------------------------------------------------------------------------------------------
    def segments(self, document_id: str, *, keyword: str = "", offset: int = 0, limit: int = 200) -> list[Segment]:
        return self._repo.list_segments(document_id, keyword=keyword, offset=offset, limit=limit)

    def update_segment(self, segment_id: str, *, content: str | None = None, enabled: bool | None = None) -> Segment:
        """Edit a chunk's text (re-embedded at once) or switch it on or off for retrieval."""
        seg = self._repo.get_segment(segment_id)
        dataset = self._repo.get_dataset(seg.dataset_id)
        index = self._index(dataset, 0)
        if content is not None:
            if not content.strip():
                raise ValidationError("A chunk cannot be empty; disable or delete it instead")
            content = chunk_text(content)
            if seg.children:
                raise ValidationError("Edit the child chunks of a parent-child chunk, not the parent")
            text = indexed_text(self._repo.get_document(seg.document_id).title, content)
            vector = self._embedders.embedder(dataset.embedding).embed([text])[0]
            index = index or self._index(dataset, len(vector))
            index.update_content(seg.id, content, vector)
            seg = self._repo.update_segment(segment_id, content=content, word_count=len(content),
                                            index_node_hash=hashlib.sha256(content.encode()).hexdigest())
        if enabled is not None:
            if index is not None:
                index.set_enabled(self._repo.unit_ids_of_segments([seg.id]), enabled)
            seg = self._repo.update_segment(segment_id, enabled=enabled)
        return seg

    def update_child_chunk(self, child_id: str, *, content: str) -> Segment:
        """Edit one child chunk of a parent-child knowledge base: its new text is embedded at once (with the
        document's title, as ingestion does) and replaces the old one in the index. The parent's text is left as
        it is (see KnowledgeRepository.update_child_chunk); returns the parent with its children."""
        child = self._repo.get_child_chunk(child_id)
        if not (content or "").strip():
            raise ValidationError("A child chunk cannot be empty; disable its parent chunk instead")
        content = chunk_text(content, "A child chunk")
        seg = self._repo.get_segment(child.segment_id)
        dataset = self._repo.get_dataset(seg.dataset_id)
        text = indexed_text(self._repo.get_document(seg.document_id).title, content)
        vector = self._embedders.embedder(dataset.embedding).embed([text])[0]
        self._index(dataset, len(vector)).update_content(child.id, content, vector)
        return self._repo.update_child_chunk(child.id, content=content)

    def has_reranker(self, model_id: str) -> bool:
        return bool(model_id) and self._embedders.has_reranker(model_id)

    # -- search -------------------------------------------------------------------------------------------
    def search(self, refs: str | Sequence[str], query: str, *, mode: str | None = None, top_k: int | None = None,
               score_threshold: float | None = None, settings: RetrievalSettings | None = None,
               metadata_conditions: dict[str, Any] | None = None, cancel: CancelToken | None = None) -> list[Record]:
        """Hit testing: the knowledge base's own retrieval settings, overridden by the arguments given."""
        datasets = [self.get(r, counts=False) for r in ([refs] if isinstance(refs, str) else refs)]
        query = (query or "").strip()
        if not query:
            raise ValidationError("Type a query to search for")
        require_text(query, "query")
        base = settings or datasets[0].retrieval
        update: dict[str, Any] = {}
        if mode is not None:
            update["search_method"] = mode
        if top_k is not None:
            update["top_k"] = top_k
        if score_threshold is not None:
            update.update(score_threshold_enabled=True, score_threshold=score_threshold)
        try:
            chosen = RetrievalSettings(**{**base.model_dump(), **update})
        except ValueError as exc:
            raise ValidationError(f"invalid search settings: {exc}") from None
        allowed = self._filter(datasets, metadata_conditions)
        return self._retriever.search(datasets, query, chosen, allowed, cancel)

    def _filter(self, datasets: Sequence[Dataset], conditions) -> dict[str, list[str] | None] | None:
        metadata_filter.check_conditions(conditions)
        if not conditions or not conditions.get("conditions"):
            return None
        out: dict[str, list[str] | None] = {}
        for dataset in datasets:
            out[dataset.id] = [d.id for d in self._repo.list_documents(dataset.id)
                               if metadata_filter.matches(doc_fields(d, dataset.built_in_metadata), conditions)]
        return out

    def close(self) -> None:
        with self._lock:
            running = list(self._running.values())
        for task in running:
            task.cancel()
