"""Ingestion: read, clean and chunk every pending document, then embed the chunks in batches into the index.

SQLite is the record of progress. A document's chunks are saved in one transaction before any is embedded, and each
embedded batch is marked in SQLite right after LanceDB commits it, so a run killed at any instant resumes with the
chunks that are not marked: leftovers of an unmarked batch are deleted from LanceDB first, so nothing is doubled.

When the embedder fails (an endpoint that is down, a model that is missing), the documents it did not finish are
marked `error` with its message and keep their chunks; the next run (`studio kb resume`, or adding files) picks
them up again and embeds only what is not marked yet.
"""

from __future__ import annotations

import hashlib
import logging
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from studio.core.cancel import CancelToken
from studio.core.errors import CancelledError, StudioError
from studio.core.knowledge import Dataset, DocumentStatus, KbDocument, LoaderError
from studio.knowledge.loaders import load
from studio.knowledge.splitter import chunk_document

log = logging.getLogger(__name__)
BATCH = 64  # chunks per embed call and per LanceDB commit: ~2 s of work, so a kill loses little


@dataclass
class IngestProgress:
    phase: str = "reading"  # reading | embedding | optimizing | done
    files_done: int = 0
    files_total: int = 0
    current_file: str = ""
    chunks_done: int = 0
    chunks_total: int = 0
    elapsed_s: float = 0.0
    eta_s: float | None = None
    errors: list[tuple[str, str]] = field(default_factory=list)

    @property
    def fraction(self) -> float:
        """Overall progress: reading counts for a tenth, embedding for the rest."""
        read = self.files_done / self.files_total if self.files_total else 1.0
        embed = self.chunks_done / self.chunks_total if self.chunks_total else (1.0 if self.phase != "reading"
                                                                                else 0.0)
        return min(1.0, 0.1 * read + 0.9 * embed)


@dataclass
class IngestReport:
    documents: int = 0
    chunks: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    cancelled: bool = False
    elapsed_s: float = 0.0
    embedding_error: str = ""  # why embedding stopped; those documents keep their chunks and are retried next run


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def indexed_text(title: str, content: str) -> str:
    """What is embedded for a chunk: its document's title, then the chunk. A chunk alone often never names its
    subject ("Set it to true to…"); with the title, queries about the subject find it. The full-text index holds
    the chunk alone, so a quoted phrase matches only chunks that contain it."""
    return f"{title}\n\n{content}" if title and not content.startswith(title) else content


def _words(text: str) -> int:
    return len(text.split())


class Ingestion:
    def __init__(self, repo, index_for: Callable[[Dataset, int], object], embedders) -> None:
        self._repo = repo  # KnowledgeRepository
        self._index_for = index_for  # (dataset, dimension) -> KnowledgeIndex
        self._embedders = embedders  # EmbedderPool

    def run(self, dataset: Dataset, cancel: CancelToken,
            on_progress: Callable[[IngestProgress], None] | None = None) -> IngestReport:
        started = time.monotonic()
        progress = IngestProgress()
        report = IngestReport()
        notify = on_progress or (lambda p: None)
        self._repo.retry_embedding_errors(dataset.id)
        docs = self._repo.pending_documents(dataset.id)
        progress.files_total = report.documents = len(docs)
        notify(progress)
        parsed: list[tuple[KbDocument, bool]] = []
        try:
            parsed += self._read_all(dataset, docs, cancel, progress, notify)
            self._embed_all(dataset, parsed, cancel, progress, notify, started)
        except CancelledError:
            self._repo.pause_pending(dataset.id)
            report.cancelled = True
        except StudioError as exc:  # the embedder failed: no traceback, each unfinished document says why
            report.embedding_error = exc.message
            self._fail_unfinished(dataset, parsed, exc.message, progress)
        progress.phase = "done"
        progress.elapsed_s = report.elapsed_s = time.monotonic() - started
        report.failed = list(progress.errors)
        report.chunks = progress.chunks_done
        notify(progress)
        return report

    def _fail_unfinished(self, dataset: Dataset, parsed, message: str, progress: IngestProgress) -> None:
        log.warning("embedding for knowledge base %s stopped: %s", dataset.name, message)
        for doc, _ in parsed:
            if self._repo.get_document(doc.id).status == DocumentStatus.COMPLETED:
                continue
            self._repo.set_status(doc.id, DocumentStatus.ERROR, message)
            progress.errors.append((doc.name, message))

    # -- phase 1: read, clean, chunk -----------------------------------------------------------------------
    def _read_all(self, dataset, docs, cancel, progress, notify) -> list[tuple[KbDocument, bool]]:
        parsed: list[tuple[KbDocument, bool]] = []  # (document, resumed: it may have rows in LanceDB)
        for doc in docs:
            if cancel.cancelled:
                raise CancelledError(cancel.reason)
            progress.current_file = doc.name
            notify(progress)
            if self._repo.get_document(doc.id).segment_count:
                parsed.append((doc, True))
            elif self._read(dataset, doc, progress):
                parsed.append((doc, False))
            progress.files_done += 1
        return parsed

    def _read(self, dataset: Dataset, doc: KbDocument, progress: IngestProgress) -> bool:
        self._repo.set_status(doc.id, DocumentStatus.PARSING)
        try:
            loaded = load(doc.source_path)
            text, chunks = chunk_document(loaded, dataset.process_rule)
            if not chunks:
                raise LoaderError(f"{doc.name}: no text left after cleaning")
        except (LoaderError, StudioError) as exc:
            self._repo.set_status(doc.id, DocumentStatus.ERROR, exc.message)
            progress.errors.append((doc.name, exc.message))
            return False
        except Exception as exc:  # noqa: BLE001 - one bad file must never stop the batch
            log.exception("reading %s failed", doc.source_path)
            message = f"{doc.name}: could not be read ({type(exc).__name__}: {exc})"
            self._repo.set_status(doc.id, DocumentStatus.ERROR, message)
            progress.errors.append((doc.name, message))
            return False
        segments, children = self._rows(dataset, doc, chunks)
        if dataset.dimension:
            self._index_for(dataset, dataset.dimension).delete_document(doc.id)
        self._repo.save_chunks(doc.id, text=text, title=loaded.title, metadata=loaded.metadata,
                               word_count=_words(text), segments=segments, children=children)
        return True

    @staticmethod
    def _rows(dataset: Dataset, doc: KbDocument, chunks) -> tuple[list[dict], list[dict]]:
        segments, children = [], []
        for position, chunk in enumerate(chunks, start=1):
            seg_id = str(uuid.uuid4())
            segments.append({"id": seg_id, "dataset_id": dataset.id, "document_id": doc.id, "position": position,
                             "content": chunk.content, "start": chunk.start, "end": chunk.end,
                             "word_count": len(chunk.content), "enabled": True, "indexed": False, "hit_count": 0,
                             "index_node_hash": _hash(chunk.content)})
            for n, child in enumerate(chunk.children, start=1):
                children.append({"id": str(uuid.uuid4()), "segment_id": seg_id, "document_id": doc.id,
                                 "position": n, "content": child.content, "start": child.start,
                                 "end": child.end, "indexed": False})
        return segments, children

    # -- phase 2: embed and index --------------------------------------------------------------------------
    def _embed_all(self, dataset, parsed, cancel, progress, notify, started) -> None:
        progress.phase = "embedding"
        work: list[tuple[str, str, KbDocument]] = []
        remaining: dict[str, int] = {}
        for doc, resumed in parsed:
            doc = self._repo.get_document(doc.id)  # parsing gave it its title
            units = self._repo.unindexed_units(doc.id)
            if resumed and units and dataset.dimension:
                # A batch embedded and committed to LanceDB just before a crash is not marked in SQLite yet.
                self._index_for(dataset, dataset.dimension).delete_segments([u for u, _ in units])
            if not units:
                self._repo.set_status(doc.id, DocumentStatus.COMPLETED)
                continue
            remaining[doc.id] = len(units)
            work += [(uid, content, doc) for uid, content in units]
        progress.chunks_total = len(work)
        notify(progress)
        if not work:
            return
        self._embed_batches(dataset, work, remaining, cancel, progress, notify, started)

    def _embed_batches(self, dataset, work, remaining, cancel, progress, notify, started) -> None:
        """Embed batch N+1 while a writer thread appends batch N to LanceDB and marks it in SQLite (those writes
        cost ~12% of the time when done in between). Marks stay in batch order, so resume stays exact."""
        embedder = self._embedders.embedder(dataset.embedding)
        index = None
        embed_started = time.monotonic()
        pending = None
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="studio-ingest-write") as writer:
            try:
                for start in range(0, len(work), BATCH):
                    if cancel.cancelled:
                        raise CancelledError(cancel.reason)
                    batch = work[start:start + BATCH]
                    progress.current_file = batch[-1][2].name
                    vectors = embedder.embed([indexed_text(doc.title, content) for _, content, doc in batch], cancel)
                    index = index or self._index_for(dataset, int(vectors.shape[1]))
                    if pending is not None:
                        pending.result()  # a failed write stops the run here
                    pending = writer.submit(self._write, index, batch, vectors, remaining)
                    progress.chunks_done += len(batch)
                    progress.elapsed_s = time.monotonic() - started
                    rate = progress.chunks_done / max(1e-6, time.monotonic() - embed_started)
                    progress.eta_s = (progress.chunks_total - progress.chunks_done) / rate if rate else None
                    notify(progress)
            finally:
                _settle(pending)
        progress.phase = "optimizing"
        notify(progress)
        index.optimize()

    def _write(self, index, batch, vectors, remaining: dict[str, int]) -> None:
        from studio.knowledge.index import IndexRow  # lancedb is slow to import; only ingestion needs it

        index.add([IndexRow(segment_id=uid, document_id=doc.id, content=content, vector=vec)
                   for (uid, content, doc), vec in zip(batch, vectors)])
        self._repo.mark_indexed([uid for uid, _, _ in batch])
        for _, _, doc in batch:
            remaining[doc.id] -= 1
            if remaining[doc.id] == 0:
                self._repo.set_status(doc.id, DocumentStatus.COMPLETED)


def _settle(pending) -> None:
    """Wait for the last write. If the run is already failing, its error wins and this one is only logged."""
    if pending is None:
        return
    if sys.exc_info()[0] is None:
        pending.result()
        return
    try:
        pending.result()
    except Exception:  # noqa: BLE001 - the exception in flight is the one to report
        log.exception("the last index write failed while the run was stopping")
