"""Knowledge-base edits that Dify's knowledge API makes one at a time: a document stored from a client's text or
file and queued (with the process rule it asks for), chunks written or deleted by hand, and keeping background
ingestion going when documents wait."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from studio.core.errors import FileTooLargeError, UnsupportedFileTypeError, ValidationError
from studio.core.knowledge import (PENDING_STATUSES, SUPPORTED_EXTENSIONS, ChildChunk, DocumentStatus, KbDocument,
                                   ProcessRule, Segment)
from studio.knowledge.loaders import is_supported
from studio.services.files import CHUNK_BYTES, MAX_FILE_BYTES, clean_name
from studio.services.ingestion import indexed_text

BUSY = (DocumentStatus.WAITING, DocumentStatus.PARSING, DocumentStatus.INDEXING)
_REPLACING = threading.Lock()
_CHILDREN = threading.Lock()  # the last-child check and the delete as one step


MAX_CHUNK_CHARS = 16_000  # a chunk written by hand; Dify's longest automatic chunk is 4,000 tokens


def chunk_text(content: object, what: str = "A chunk") -> str:
    """A chunk's text as a user wrote it, trimmed; refused when empty, too long or holding a NUL."""
    text = (content if isinstance(content, str) else "").strip()
    if not text:
        raise ValidationError(f"{what} needs some content")
    if len(text) > MAX_CHUNK_CHARS:
        raise ValidationError(f"{what} is {len(text):,} characters; the limit is {MAX_CHUNK_CHARS:,}. Split it into "
                              "several chunks")
    if "\x00" in text:
        raise ValidationError(f"{what} cannot contain a NUL character")
    return text


class DocumentBusyError(ValidationError):
    """A document's content cannot change while it is being indexed."""

    code = "document_indexing"  # Dify's DocumentIndexingError


def _store(source: BinaryIO, path: Path, limit: int) -> tuple[str, int]:
    """Copy `source` to `path` atomically within `limit` bytes; returns its sha256 and size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
    digest, size = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(CHUNK_BYTES):
                size += len(chunk)
                if size > limit:
                    raise FileTooLargeError(f"{path.name} is larger than the {limit // (1024 * 1024)} MB limit")
                digest.update(chunk)
                out.write(chunk)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return digest.hexdigest(), size


class KnowledgeEdits:
    """Mixed into KnowledgeService (it supplies _repo, _root, _index, _embedders, get, start_ingestion...)."""

    def _sources(self, dataset_id: str) -> Path:
        """Where documents sent as text or bytes are kept (the files a user adds stay where they are)."""
        return self._root.parent / "files" / "knowledge" / dataset_id

    def add_document(self, ref: str, name: str, source: BinaryIO, filename: str) -> KbDocument:
        """Store `source` as `filename`, queue it as a new document called `name` and index it in the background.
        Unlike add(), the same content may come twice (Dify makes a new document for each upload)."""
        dataset = self.get(ref, counts=False)
        filename = clean_name(filename)
        if not is_supported(filename) or filename.startswith("."):
            raise UnsupportedFileTypeError(f"Studio cannot read {Path(filename).suffix or 'files without an extension'}"
                                           f"; it reads {', '.join(SUPPORTED_EXTENSIONS)}")
        doc_id = str(uuid.uuid4())
        path = self._sources(dataset.id) / doc_id / filename
        try:
            digest, size = _store(source, path, MAX_FILE_BYTES)
        except BaseException:
            shutil.rmtree(path.parent, ignore_errors=True)
            raise
        doc = self._repo.add_documents(dataset.id, [{"id": doc_id, "name": name, "source_path": str(path),
                                                     "content_hash": digest, "size_bytes": size}])[0]
        self.keep_ingesting(dataset.id)
        return doc

    def replace_document(self, document_id: str, *, name: str | None = None, source: BinaryIO | None = None,
                         filename: str | None = None) -> KbDocument:
        """Dify's update-by-text/-file: rename a document and, given `source`, replace its content (stored as
        `filename`), keeping its id. New content is chunked and indexed again in the background; its old chunks go
        in the same transaction that queues it, and the indexer drops their vectors when it reads the new file."""
        doc = self._repo.get_document(document_id)
        if source is None:
            if name is not None and name != doc.name:
                self._repo.rename_document(doc.id, name)
            return self._repo.get_document(doc.id)
        with _REPLACING:  # the busy check and the swap as one step, so two replaces at once cannot both pass
            return self._replace_content(self._repo.get_document(document_id), name, source, filename)

    def _replace_content(self, doc: KbDocument, name: str | None, source: BinaryIO, filename: str | None):
        if doc.status in BUSY and (self.is_ingesting(doc.dataset_id) or self.ingesting_elsewhere(doc.dataset_id)):
            raise DocumentBusyError(f"{doc.name} is being indexed; replace its content once indexing ends")
        filename = clean_name(filename or Path(doc.source_path).name)
        if not is_supported(filename) or filename.startswith("."):
            raise UnsupportedFileTypeError(f"Studio cannot read {Path(filename).suffix or 'files without an extension'}"
                                           f"; it reads {', '.join(SUPPORTED_EXTENSIONS)}")
        folder = self._sources(doc.dataset_id) / doc.id
        stored = folder / f"v{uuid.uuid4().hex[:12]}" / filename  # beside the old file until the swap commits
        try:
            digest, size = _store(source, stored, MAX_FILE_BYTES)
            self._repo.requeue(doc.id, content_hash=digest, size_bytes=size, source_path=str(stored),
                               **({"name": name} if name is not None else {}))
        except BaseException:
            shutil.rmtree(stored.parent, ignore_errors=True)
            raise
        old = Path(doc.source_path)
        if old.parent == folder:  # the first content Studio stored for the client
            old.unlink(missing_ok=True)
        elif old.parent.parent == folder:  # an earlier replacement (a user's own files stay where they are)
            shutil.rmtree(old.parent, ignore_errors=True)
        self.keep_ingesting(doc.dataset_id)
        return self._repo.get_document(doc.id)

    def drop_stored(self, dataset_id: str, document_id: str | None = None) -> None:
        """Remove what add_document stored for a deleted document (or a whole deleted knowledge base)."""
        folder = self._sources(dataset_id)
        shutil.rmtree(folder / document_id if document_id else folder, ignore_errors=True)

    def set_process_rule(self, ref: str, rule: ProcessRule) -> None:
        """How the knowledge base chunks its documents; only while it has none (its chunks follow one rule)."""
        dataset = self.get(ref)
        if dataset.process_rule == rule:
            return
        if dataset.document_count:
            raise ValidationError(f"{dataset.name} already chunks its documents with its own rule; Studio keeps one "
                                  "chunking rule per knowledge base. Leave process_rule out, or use mode automatic")
        self._repo.update_dataset(dataset.id, process_rule=rule.model_dump())

    def keep_ingesting(self, ref: str) -> bool:
        """Start a background run when documents wait and no run (here or in another process) is on it: a run
        that was finishing as a document arrived, or one a crash stopped. True when a run is going."""
        dataset = self.get(ref, counts=False)
        if self.is_ingesting(dataset.id):
            return True
        if not any(d.status in BUSY for d in self._repo.pending_documents(dataset.id)):
            return False
        if not self._lock_of(dataset).held():
            self.start_ingestion(dataset.id)
        return True

    def document(self, document_id: str) -> KbDocument:
        return self._repo.get_document(document_id)

    def segment(self, segment_id: str) -> Segment:
        return self._repo.get_segment(segment_id)

    def _check_editable(self, doc: KbDocument) -> None:
        if doc.status in PENDING_STATUSES or doc.status == DocumentStatus.ERROR:
            raise ValidationError(f"{doc.name} is not indexed yet (it is {doc.status.value}); edit its chunks once "
                                  "indexing has completed")

    def add_segments(self, document_id: str, contents: Sequence[str]) -> list[Segment]:
        """Chunks written by hand: embedded (with the document's title, as ingestion does) and searchable at once."""
        from studio.knowledge.index import IndexRow  # lancedb is slow to import

        doc = self._repo.get_document(document_id)
        self._check_editable(doc)
        if not contents:
            raise ValidationError("Each chunk needs some content")
        texts = [chunk_text(c, f"Chunk {n}") for n, c in enumerate(contents, start=1)]
        dataset = self._repo.get_dataset(doc.dataset_id, counts=False)
        vectors = self._embedders.embedder(dataset.embedding).embed([indexed_text(doc.title, t) for t in texts])
        index = self._index(dataset, int(vectors.shape[1]))
        rows = [{"id": str(uuid.uuid4()), "content": t, "word_count": len(t),
                 "index_node_hash": hashlib.sha256(t.encode()).hexdigest()} for t in texts]
        segments = self._repo.add_segments(dataset.id, doc.id, rows)
        index.add([IndexRow(segment_id=s.id, document_id=doc.id, content=s.content, vector=v)
                   for s, v in zip(segments, vectors)])
        self._repo.mark_indexed([s.id for s in segments])
        return segments

    def add_child_chunk(self, segment_id: str, content: str) -> ChildChunk:
        """A child chunk written by hand under a parent chunk of a parent-child knowledge base: embedded (with the
        document's title, as ingestion does) and searchable at once; a search that finds it returns the parent."""
        from studio.knowledge.index import IndexRow  # lancedb is slow to import

        seg = self._repo.get_segment(segment_id)
        doc = self._repo.get_document(seg.document_id)
        self._check_editable(doc)
        if not seg.children:
            raise ValidationError("Only the chunks of a parent-child knowledge base have child chunks; edit this "
                                  "chunk's own text instead")
        text = chunk_text(content, "A child chunk")
        dataset = self._repo.get_dataset(seg.dataset_id, counts=False)
        vector = self._embedders.embedder(dataset.embedding).embed([indexed_text(doc.title, text)])[0]
        index = self._index(dataset, len(vector))
        child = self._repo.add_child_chunk(seg.id, {"id": str(uuid.uuid4()), "content": text})
        try:
            index.add([IndexRow(segment_id=child.id, document_id=doc.id, content=text, vector=vector,
                                enabled=seg.enabled)])
        except BaseException:
            self._repo.delete_child_chunk(child.id)  # never a row the index does not hold
            raise
        self._repo.mark_indexed([child.id])
        return child

    def delete_child_chunk(self, child_id: str) -> None:
        """Remove one child chunk from the index and the database. A parent keeps at least one child: with none it
        could never be found, so the last one goes with its parent (delete the chunk)."""
        with _CHILDREN:
            child = self._repo.get_child_chunk(child_id)
            seg = self._repo.get_segment(child.segment_id)
            self._check_editable(self._repo.get_document(seg.document_id))
            if len(seg.children) <= 1:
                raise ValidationError("This is the chunk's only child chunk, and a chunk without children cannot be "
                                      "found by a search; delete the parent chunk instead")
            index = self._index(self._repo.get_dataset(seg.dataset_id, counts=False), 0)
            if index is not None:
                index.delete_segments([child.id])
            self._repo.delete_child_chunk(child.id)

    def delete_segment(self, segment_id: str) -> None:
        seg = self._repo.get_segment(segment_id)
        self._check_editable(self._repo.get_document(seg.document_id))
        index = self._index(self._repo.get_dataset(seg.dataset_id, counts=False), 0)
        if index is not None:
            index.delete_segments(self._repo.unit_ids_of_segments([seg.id]))
        self._repo.delete_segment(seg.id)
