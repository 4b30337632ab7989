"""Knowledge-base rows: datasets, documents, segments and child chunks, and which of them are in the vector index."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Integer, delete, func, insert, select, update
from sqlalchemy.orm import defer
from sqlalchemy.exc import IntegrityError

from studio.core.errors import ConflictError, NotFoundError
from studio.core.knowledge import (PENDING_STATUSES, ChildChunk, Dataset, DocumentStatus, EmbeddingChoice, KbDocument,
                                   MetadataField, ProcessRule, RetrievalSettings, Segment)
from studio.store.orm import ChildChunkRow, DatasetRow, KbDocumentRow, SegmentRow, utcnow

if TYPE_CHECKING:
    from studio.store.database import Store

_CHUNK = 500  # ids per IN (...) clause, well under SQLite's variable limit


def _chunks(ids: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i:i + _CHUNK]


def _dataset(row: DatasetRow, documents: int = 0, segments: int = 0) -> Dataset:
    return Dataset(id=row.id, name=row.name, description=row.description,
                   embedding=EmbeddingChoice(**(row.embedding or {})), dimension=row.dimension,
                   process_rule=ProcessRule(**(row.process_rule or {})),
                   retrieval=RetrievalSettings(**(row.retrieval or {})), index_name=row.index_name,
                   metadata_fields=tuple(MetadataField(**f) for f in row.metadata_fields or ()),
                   built_in_metadata=True if row.built_in_metadata is None else row.built_in_metadata,
                   document_count=documents, segment_count=segments, created_at=row.created_at,
                   updated_at=row.updated_at)


def _document(row: KbDocumentRow, segments: int = 0, indexed: int = 0) -> KbDocument:
    return KbDocument(id=row.id, dataset_id=row.dataset_id, name=row.name, source_path=row.source_path,
                      content_hash=row.content_hash, size_bytes=row.size_bytes, status=DocumentStatus(row.status),
                      error=row.error, position=row.position, title=row.title, doc_metadata=row.doc_metadata or {},
                      word_count=row.word_count, segment_count=segments, indexed_count=indexed, enabled=row.enabled,
                      created_at=row.created_at, completed_at=row.completed_at)


def _child(row: ChildChunkRow) -> ChildChunk:
    return ChildChunk(id=row.id, segment_id=row.segment_id, position=row.position, content=row.content,
                      start=row.start, end=row.end)


def _segment(row: SegmentRow, children: Sequence[ChildChunkRow] = ()) -> Segment:
    return Segment(id=row.id, dataset_id=row.dataset_id, document_id=row.document_id, position=row.position,
                   content=row.content, start=row.start, end=row.end, word_count=row.word_count,
                   enabled=row.enabled, hit_count=row.hit_count, index_node_hash=row.index_node_hash,
                   children=tuple(_child(c) for c in children))


def _docs():
    """Documents without their full text, which only document_text() needs (it can be megabytes)."""
    return select(KbDocumentRow).options(defer(KbDocumentRow.text))


class KnowledgeRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    # -- datasets -----------------------------------------------------------------------------------------
    def create_dataset(self, dataset_id: str, *, name: str, description: str, embedding: dict[str, Any],
                       process_rule: dict[str, Any], retrieval: dict[str, Any], index_name: str) -> Dataset:
        try:
            with self._store.transaction() as s:
                row = DatasetRow(id=dataset_id, name=name, description=description, embedding=embedding,
                                 dimension=0, process_rule=process_rule, retrieval=retrieval, index_name=index_name)
                s.add(row)
                s.flush()
                return _dataset(row)
        except IntegrityError:
            raise ConflictError(f"A knowledge base named {name!r} already exists") from None

    def list_datasets(self) -> list[Dataset]:
        with self._store.transaction() as s:
            docs = dict(s.execute(select(KbDocumentRow.dataset_id, func.count()).group_by(KbDocumentRow.dataset_id)).all())
            segs = dict(s.execute(select(SegmentRow.dataset_id, func.count()).group_by(SegmentRow.dataset_id)).all())
            rows = s.scalars(select(DatasetRow).order_by(DatasetRow.updated_at.desc()))
            return [_dataset(r, docs.get(r.id, 0), segs.get(r.id, 0)) for r in rows]

    def get_dataset(self, dataset_id: str, *, counts: bool = True) -> Dataset:
        """One knowledge base; `counts=False` skips counting its documents and chunks (searches don't need it)."""
        with self._store.transaction() as s:
            row = s.get(DatasetRow, dataset_id)
            if row is None:
                raise NotFoundError(f"Knowledge base {dataset_id!r} not found")
            if not counts:
                return _dataset(row)
            docs = s.scalar(select(func.count()).where(KbDocumentRow.dataset_id == dataset_id)) or 0
            segs = s.scalar(select(func.count()).where(SegmentRow.dataset_id == dataset_id)) or 0
            return _dataset(row, docs, segs)

    def find_dataset(self, name: str, *, counts: bool = True) -> Dataset | None:
        with self._store.transaction() as s:
            row = s.scalars(select(DatasetRow).where(DatasetRow.name == name)).first()
        return None if row is None else self.get_dataset(row.id, counts=counts)

    def update_dataset(self, dataset_id: str, **fields: Any) -> Dataset:
        try:
            with self._store.transaction() as s:
                row = s.get(DatasetRow, dataset_id)
                if row is None:
                    raise NotFoundError(f"Knowledge base {dataset_id!r} not found")
                for key, value in fields.items():
                    setattr(row, key, value)
                row.updated_at = utcnow()
        except IntegrityError:
            raise ConflictError(f"A knowledge base named {fields.get('name')!r} already exists") from None
        return self.get_dataset(dataset_id)

    def delete_dataset(self, dataset_id: str) -> None:
        with self._store.transaction() as s:
            s.execute(delete(DatasetRow).where(DatasetRow.id == dataset_id))

    # -- documents ----------------------------------------------------------------------------------------
    def add_documents(self, dataset_id: str, files: Sequence[dict[str, Any]]) -> list[KbDocument]:
        """Queue files as `waiting` documents in one transaction (each dict: id, name, source_path,
        content_hash, size_bytes)."""
        with self._store.transaction() as s:
            last = s.scalar(select(func.max(KbDocumentRow.position)).where(KbDocumentRow.dataset_id == dataset_id))
            rows = []
            for n, f in enumerate(files, start=(last or 0) + 1):
                row = KbDocumentRow(dataset_id=dataset_id, position=n, status=DocumentStatus.WAITING.value, error="",
                                    title="", doc_metadata={}, text="", word_count=0, enabled=True, **f)
                s.add(row)
                rows.append(row)
            s.flush()
            return [_document(r) for r in rows]

    def list_documents(self, dataset_id: str) -> list[KbDocument]:
        with self._store.transaction() as s:
            counts = dict(s.execute(select(SegmentRow.document_id, func.count()).where(
                SegmentRow.dataset_id == dataset_id).group_by(SegmentRow.document_id)).all())
            indexed = self._indexed_counts(s, dataset_id)
            rows = s.scalars(_docs().where(KbDocumentRow.dataset_id == dataset_id).order_by(KbDocumentRow.position))
            return [_document(r, counts.get(r.id, 0), indexed.get(r.id, 0)) for r in rows]

    def _indexed_counts(self, s, dataset_id: str) -> dict[str, int]:
        """Units in the vector index per document: child chunks where a document has them, else segments."""
        seg = dict(s.execute(select(SegmentRow.document_id, func.count()).where(
            SegmentRow.dataset_id == dataset_id, SegmentRow.indexed.is_(True)).group_by(SegmentRow.document_id)).all())
        child = dict(s.execute(select(ChildChunkRow.document_id, func.count()).join(
            KbDocumentRow, KbDocumentRow.id == ChildChunkRow.document_id).where(
            KbDocumentRow.dataset_id == dataset_id, ChildChunkRow.indexed.is_(True)).group_by(
            ChildChunkRow.document_id)).all())
        return {**seg, **child}

    def get_document(self, document_id: str) -> KbDocument:
        with self._store.transaction() as s:
            row = s.scalars(_docs().where(KbDocumentRow.id == document_id)).first()
            if row is None:
                raise NotFoundError(f"Document {document_id!r} not found")
            count = s.scalar(select(func.count()).where(SegmentRow.document_id == document_id)) or 0
            return _document(row, count)

    def document_text(self, document_id: str) -> str:
        with self._store.transaction() as s:
            return s.scalar(select(KbDocumentRow.text).where(KbDocumentRow.id == document_id)) or ""

    def pending_documents(self, dataset_id: str | None = None) -> list[KbDocument]:
        query = _docs().where(KbDocumentRow.status.in_([st.value for st in PENDING_STATUSES]))
        if dataset_id:
            query = query.where(KbDocumentRow.dataset_id == dataset_id)
        with self._store.transaction() as s:
            return [_document(r) for r in s.scalars(query.order_by(KbDocumentRow.position))]

    def set_status(self, document_id: str, status: DocumentStatus, error: str = "") -> None:
        values: dict[str, Any] = {"status": status.value, "error": error}
        if status == DocumentStatus.COMPLETED:
            values["completed_at"] = utcnow()
        with self._store.transaction() as s:
            s.execute(update(KbDocumentRow).where(KbDocumentRow.id == document_id).values(**values))

    def pause_pending(self, dataset_id: str) -> int:
        with self._store.transaction() as s:
            return s.execute(update(KbDocumentRow).where(
                KbDocumentRow.dataset_id == dataset_id,
                KbDocumentRow.status.in_([DocumentStatus.WAITING.value, DocumentStatus.PARSING.value,
                                          DocumentStatus.INDEXING.value])).values(status="paused")).rowcount

    def retry_embedding_errors(self, dataset_id: str) -> int:
        """Documents that failed while embedding (they have chunks; a file that could not be read has none) go
        back to `indexing`, so the next run embeds what is not marked yet."""
        chunked = select(SegmentRow.document_id).where(SegmentRow.dataset_id == dataset_id)
        with self._store.transaction() as s:
            return s.execute(update(KbDocumentRow).where(
                KbDocumentRow.dataset_id == dataset_id, KbDocumentRow.status == DocumentStatus.ERROR.value,
                KbDocumentRow.id.in_(chunked)).values(status=DocumentStatus.INDEXING.value, error="")).rowcount

    def requeue(self, document_id: str, *, content_hash: str, size_bytes: int, **changes: Any) -> None:
        """A changed file: forget its chunks and parse it again. `changes` may also set name and source_path (a
        document whose content a client replaced)."""
        with self._store.transaction() as s:
            s.execute(delete(SegmentRow).where(SegmentRow.document_id == document_id))
            s.execute(update(KbDocumentRow).where(KbDocumentRow.id == document_id).values(
                content_hash=content_hash, size_bytes=size_bytes, status="waiting", error="", completed_at=None,
                **changes))

    def rename_document(self, document_id: str, name: str) -> None:
        with self._store.transaction() as s:
            s.execute(update(KbDocumentRow).where(KbDocumentRow.id == document_id).values(name=name))

    def save_chunks(self, document_id: str, *, text: str, title: str, metadata: dict[str, Any], word_count: int,
                    segments: Sequence[dict[str, Any]], children: Sequence[dict[str, Any]]) -> None:
        """Replace a document's chunks in one transaction and move it to `indexing`."""
        with self._store.transaction() as s:
            s.execute(delete(SegmentRow).where(SegmentRow.document_id == document_id))
            if segments:
                s.execute(insert(SegmentRow), list(segments))
            if children:
                s.execute(insert(ChildChunkRow), list(children))
            s.execute(update(KbDocumentRow).where(KbDocumentRow.id == document_id).values(
                text=text, title=title, doc_metadata=metadata, word_count=word_count, status="indexing", error=""))

    def delete_document(self, document_id: str) -> None:
        with self._store.transaction() as s:
            s.execute(delete(KbDocumentRow).where(KbDocumentRow.id == document_id))

    def set_document_enabled(self, document_id: str, enabled: bool) -> None:
        with self._store.transaction() as s:
            s.execute(update(KbDocumentRow).where(KbDocumentRow.id == document_id).values(enabled=enabled))

    # -- index units (what the vector index holds: child chunks where present, else segments) ---------------
    def unindexed_units(self, document_id: str) -> list[tuple[str, str]]:
        with self._store.transaction() as s:
            children = s.execute(select(ChildChunkRow.id, ChildChunkRow.content).join(
                SegmentRow, SegmentRow.id == ChildChunkRow.segment_id).where(
                ChildChunkRow.document_id == document_id, ChildChunkRow.indexed.is_(False))
                .order_by(SegmentRow.position, ChildChunkRow.position)).all()
            has_children = children or s.scalar(select(func.count()).where(
                ChildChunkRow.document_id == document_id))
            if has_children:
                return [tuple(r) for r in children]
            return [tuple(r) for r in s.execute(select(SegmentRow.id, SegmentRow.content).where(
                SegmentRow.document_id == document_id, SegmentRow.indexed.is_(False)).order_by(SegmentRow.position))]

    def reset_index(self, dataset_id: str) -> None:
        """Forget what is in the vector index (it is being rebuilt): every chunk is to embed again."""
        with self._store.transaction() as s:
            docs = select(KbDocumentRow.id).where(KbDocumentRow.dataset_id == dataset_id)
            s.execute(update(SegmentRow).where(SegmentRow.dataset_id == dataset_id).values(indexed=False))
            s.execute(update(ChildChunkRow).where(ChildChunkRow.document_id.in_(docs)).values(indexed=False))
            s.execute(update(KbDocumentRow).where(KbDocumentRow.dataset_id == dataset_id,
                                                  KbDocumentRow.status == DocumentStatus.COMPLETED.value)
                      .values(status=DocumentStatus.INDEXING.value))
            s.execute(update(DatasetRow).where(DatasetRow.id == dataset_id).values(dimension=0))

    def mark_indexed(self, unit_ids: Sequence[str]) -> None:
        with self._store.transaction() as s:
            for part in _chunks(list(unit_ids)):
                s.execute(update(SegmentRow).where(SegmentRow.id.in_(part)).values(indexed=True))
                s.execute(update(ChildChunkRow).where(ChildChunkRow.id.in_(part)).values(indexed=True))

    def unit_ids_of_segments(self, segment_ids: Sequence[str]) -> list[str]:
        with self._store.transaction() as s:
            out: list[str] = []
            for part in _chunks(list(segment_ids)):
                children = set(s.scalars(select(ChildChunkRow.id).where(ChildChunkRow.segment_id.in_(part))))
                parents = set(s.scalars(select(ChildChunkRow.segment_id).where(ChildChunkRow.segment_id.in_(part))))
                out += list(children) + [sid for sid in part if sid not in parents]
            return out

    def unit_ids_of_document(self, document_id: str) -> list[str]:
        with self._store.transaction() as s:
            children = list(s.scalars(select(ChildChunkRow.id).where(ChildChunkRow.document_id == document_id)))
            return children or list(s.scalars(select(SegmentRow.id).where(SegmentRow.document_id == document_id)))

    def count_units(self, dataset_id: str) -> tuple[int, int]:
        """(units, indexed units) across the knowledge base."""
        with self._store.transaction() as s:
            total = indexed = 0
            for row in s.execute(select(KbDocumentRow.id).where(KbDocumentRow.dataset_id == dataset_id)):
                kids = s.execute(select(func.count(), func.sum(ChildChunkRow.indexed.cast(Integer))).where(
                    ChildChunkRow.document_id == row[0])).one()
                if kids[0]:
                    total, indexed = total + kids[0], indexed + (kids[1] or 0)
                    continue
                segs = s.execute(select(func.count(), func.sum(SegmentRow.indexed.cast(Integer))).where(
                    SegmentRow.document_id == row[0])).one()
                total, indexed = total + segs[0], indexed + (segs[1] or 0)
            return total, indexed

    # -- segments -----------------------------------------------------------------------------------------
    def list_segments(self, document_id: str, *, keyword: str = "", offset: int = 0,
                      limit: int = 200) -> list[Segment]:
        query = select(SegmentRow).where(SegmentRow.document_id == document_id)
        if keyword:
            query = query.where(SegmentRow.content.contains(keyword))
        with self._store.transaction() as s:
            rows = list(s.scalars(query.order_by(SegmentRow.position).offset(offset).limit(limit)))
            kids = self._children(s, [r.id for r in rows])
            return [_segment(r, kids.get(r.id, ())) for r in rows]

    def _children(self, s, segment_ids: Sequence[str]) -> dict[str, list[ChildChunkRow]]:
        out: dict[str, list[ChildChunkRow]] = {}
        for part in _chunks(list(segment_ids)):
            for c in s.scalars(select(ChildChunkRow).where(ChildChunkRow.segment_id.in_(part))
                               .order_by(ChildChunkRow.position)):
                out.setdefault(c.segment_id, []).append(c)
        return out

    def get_segment(self, segment_id: str) -> Segment:
        with self._store.transaction() as s:
            row = s.get(SegmentRow, segment_id)
            if row is None:
                raise NotFoundError(f"Chunk {segment_id!r} not found")
            return _segment(row, self._children(s, [segment_id]).get(segment_id, ()))

    def resolve_units(self, unit_ids: Sequence[str]) -> dict[str, tuple[Segment, ChildChunk | None]]:
        """Map index hits (segment or child ids) to their segment, and the child that matched if any."""
        with self._store.transaction() as s:
            ids = list(unit_ids)
            child_rows = {c.id: c for part in _chunks(ids) for c in s.scalars(
                select(ChildChunkRow).where(ChildChunkRow.id.in_(part)))}
            seg_ids = list({c.segment_id for c in child_rows.values()} | (set(ids) - set(child_rows)))
            segs = {r.id: r for part in _chunks(seg_ids) for r in s.scalars(
                select(SegmentRow).where(SegmentRow.id.in_(part)))}
            kids = self._children(s, [sid for sid in seg_ids if sid in segs])
            out: dict[str, tuple[Segment, ChildChunk | None]] = {}
            built = {sid: _segment(row, kids.get(sid, ())) for sid, row in segs.items()}
            for uid in ids:
                if uid in child_rows:
                    seg = built.get(child_rows[uid].segment_id)
                    if seg is not None:
                        out[uid] = (seg, next((c for c in seg.children if c.id == uid), None))
                elif uid in built:
                    out[uid] = (built[uid], None)
            return out

    def update_segment(self, segment_id: str, **fields: Any) -> Segment:
        with self._store.transaction() as s:
            row = s.get(SegmentRow, segment_id)
            if row is None:
                raise NotFoundError(f"Chunk {segment_id!r} not found")
            for key, value in fields.items():
                setattr(row, key, value)
        return self.get_segment(segment_id)

    def add_segments(self, dataset_id: str, document_id: str, rows: Sequence[dict[str, Any]]) -> list[Segment]:
        """Chunks written by hand (each dict: id, content, word_count, index_node_hash), after the document's
        last chunk. They come from no place in the document's text, so their start and end are 0."""
        with self._store.transaction() as s:
            last = s.scalar(select(func.max(SegmentRow.position)).where(SegmentRow.document_id == document_id)) or 0
            s.execute(insert(SegmentRow), [{"dataset_id": dataset_id, "document_id": document_id, "position": n,
                                            "start": 0, "end": 0, "enabled": True, "indexed": False,
                                            "hit_count": 0, **row} for n, row in enumerate(rows, start=last + 1)])
        return [self.get_segment(row["id"]) for row in rows]

    def delete_segment(self, segment_id: str) -> None:
        """A chunk and its child chunks (by the foreign key's cascade)."""
        with self._store.transaction() as s:
            s.execute(delete(SegmentRow).where(SegmentRow.id == segment_id))

    def get_child_chunk(self, child_id: str) -> ChildChunk:
        with self._store.transaction() as s:
            row = s.get(ChildChunkRow, child_id)
            if row is None:
                raise NotFoundError(f"Child chunk {child_id!r} not found")
            return _child(row)

    def update_child_chunk(self, child_id: str, *, content: str) -> Segment:
        """A user's edit of a child chunk. Its start/end keep pointing at the region of the document it was cut
        from (so `text[start:end] != content` tells an edited child from an automatic one, like Dify's
        `type="customized"`), and the parent's text stays that region of the document: the parent is what a
        search returns as context, and the document's text is not rewritten by an edit of one child."""
        with self._store.transaction() as s:
            row = s.get(ChildChunkRow, child_id)
            if row is None:
                raise NotFoundError(f"Child chunk {child_id!r} not found")
            row.content = content
            segment_id = row.segment_id
        return self.get_segment(segment_id)

    def add_child_chunk(self, segment_id: str, row: dict[str, Any]) -> ChildChunk:
        """A child chunk written by hand (row: id, content), after the parent's last child. It comes from no place
        in the document's text, so its start and end are 0; it is not yet in the index (mark_indexed)."""
        with self._store.transaction() as s:
            parent = s.get(SegmentRow, segment_id)
            if parent is None:
                raise NotFoundError(f"Chunk {segment_id!r} not found")
            last = s.scalar(select(func.max(ChildChunkRow.position)).where(
                ChildChunkRow.segment_id == segment_id)) or 0
            child = ChildChunkRow(segment_id=segment_id, document_id=parent.document_id, position=last + 1,
                                  start=0, end=0, indexed=False, **row)
            s.add(child)
            s.flush()
            return _child(child)

    def delete_child_chunk(self, child_id: str) -> None:
        with self._store.transaction() as s:
            s.execute(delete(ChildChunkRow).where(ChildChunkRow.id == child_id))

    def add_hits(self, segment_ids: Sequence[str]) -> None:
        with self._store.transaction() as s:
            for part in _chunks(list(segment_ids)):
                s.execute(update(SegmentRow).where(SegmentRow.id.in_(part)).values(
                    hit_count=SegmentRow.hit_count + 1))

    def documents_by_id(self, document_ids: Sequence[str]) -> dict[str, KbDocument]:
        with self._store.transaction() as s:
            return {r.id: _document(r) for part in _chunks(list(document_ids)) for r in s.scalars(
                _docs().where(KbDocumentRow.id.in_(part)))}

    def disabled_document_ids(self, dataset_id: str) -> list[str]:
        with self._store.transaction() as s:
            return list(s.scalars(select(KbDocumentRow.id).where(
                KbDocumentRow.dataset_id == dataset_id, KbDocumentRow.enabled.is_(False))))
