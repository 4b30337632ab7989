"""Labels on knowledge bases: tags (bound to any number of knowledge bases) and declared metadata fields, whose values
documents hold by name in doc_metadata. A field's rename or removal rewrites every document's values in the same
transaction as the declaration, so the two never disagree."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from studio.core.errors import ConflictError, NotFoundError
from studio.core.knowledge import KbTag, MetadataField
from studio.store.orm import DatasetRow, KbDocumentRow, KbTagBindingRow, KbTagRow, utcnow

if TYPE_CHECKING:
    from studio.store.database import Store



class KnowledgeLabelRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    # -- tags ---------------------------------------------------------------------------------------------
    def list_tags(self) -> list[KbTag]:
        with self._store.transaction() as s:
            counts = dict(s.execute(select(KbTagBindingRow.tag_id, func.count())
                                    .group_by(KbTagBindingRow.tag_id)).all())
            return [KbTag(id=r.id, name=r.name, binding_count=counts.get(r.id, 0))
                    for r in s.scalars(select(KbTagRow).order_by(KbTagRow.created_at.desc(), KbTagRow.name))]

    def get_tag(self, tag_id: str) -> KbTag:
        with self._store.transaction() as s:
            row = s.get(KbTagRow, tag_id)
            if row is None:
                raise NotFoundError(f"Tag {tag_id!r} not found")
            count = s.scalar(select(func.count()).where(KbTagBindingRow.tag_id == tag_id)) or 0
            return KbTag(id=row.id, name=row.name, binding_count=count)

    def create_tag(self, name: str) -> KbTag:
        try:
            with self._store.transaction() as s:
                row = KbTagRow(id=str(uuid.uuid4()), name=name, created_at=utcnow())
                s.add(row)
                s.flush()
                return KbTag(id=row.id, name=row.name)
        except IntegrityError:
            raise ConflictError(f"A tag named {name!r} already exists") from None

    def rename_tag(self, tag_id: str, name: str) -> KbTag:
        try:
            with self._store.transaction() as s:
                if s.execute(update(KbTagRow).where(KbTagRow.id == tag_id).values(name=name)).rowcount == 0:
                    raise NotFoundError(f"Tag {tag_id!r} not found")  # never there, or deleted just now
        except IntegrityError:
            raise ConflictError(f"A tag named {name!r} already exists") from None
        return self.get_tag(tag_id)

    def delete_tag(self, tag_id: str) -> None:
        with self._store.transaction() as s:
            if s.execute(delete(KbTagRow).where(KbTagRow.id == tag_id)).rowcount == 0:
                raise NotFoundError(f"Tag {tag_id!r} not found")

    def bind(self, tag_ids: Sequence[str], dataset_id: str) -> None:
        """Bind every tag to the knowledge base (binding one twice is not an error); all or none."""
        try:
            with self._store.transaction() as s:
                if s.get(DatasetRow, dataset_id) is None:
                    raise NotFoundError(f"Knowledge base {dataset_id!r} not found")
                known = set(s.scalars(select(KbTagRow.id).where(KbTagRow.id.in_(list(tag_ids)))))
                missing = [t for t in tag_ids if t not in known]
                if missing:
                    raise NotFoundError(f"Tag {missing[0]!r} not found")
                for tag_id in dict.fromkeys(tag_ids):
                    s.execute(sqlite_insert(KbTagBindingRow).values(tag_id=tag_id, dataset_id=dataset_id,
                                                                    created_at=utcnow()).on_conflict_do_nothing())
        except IntegrityError:  # a tag or the knowledge base was deleted between the check and the insert
            raise NotFoundError("A tag or the knowledge base was deleted while binding; nothing was bound") from None

    def unbind(self, tag_ids: Sequence[str], dataset_id: str) -> None:
        with self._store.transaction() as s:
            s.execute(delete(KbTagBindingRow).where(KbTagBindingRow.dataset_id == dataset_id,
                                                    KbTagBindingRow.tag_id.in_(list(tag_ids))))

    def tags_of(self, dataset_ids: Sequence[str]) -> dict[str, list[KbTag]]:
        """The tags bound to each knowledge base, by name."""
        with self._store.transaction() as s:
            out: dict[str, list[KbTag]] = {d: [] for d in dataset_ids}
            rows = s.execute(select(KbTagBindingRow.dataset_id, KbTagRow).join(
                KbTagRow, KbTagRow.id == KbTagBindingRow.tag_id).where(
                KbTagBindingRow.dataset_id.in_(list(dataset_ids))).order_by(KbTagRow.name)).all()
            for dataset_id, tag in rows:
                out[dataset_id].append(KbTag(id=tag.id, name=tag.name))
            return out

    def tagged(self, tag_ids: Sequence[str]) -> set[str]:
        """Knowledge bases that carry any of the tags."""
        with self._store.transaction() as s:
            return set(s.scalars(select(KbTagBindingRow.dataset_id).where(KbTagBindingRow.tag_id.in_(list(tag_ids)))))

    # -- metadata fields ----------------------------------------------------------------------------------
    def _dataset(self, s, dataset_id: str) -> DatasetRow:
        row = s.get(DatasetRow, dataset_id)
        if row is None:
            raise NotFoundError(f"Knowledge base {dataset_id!r} not found")
        return row

    def add_field(self, dataset_id: str, field: MetadataField,
                  values: Mapping[str, Any] | None = None) -> MetadataField:
        """Declare a field; `values` (by document id) rewrite what documents already hold under its name, in the same
        transaction (a declared number field over front matter text holds numbers)."""
        with self._store.transaction() as s:
            row = self._dataset(s, dataset_id)
            row.metadata_fields = [*(row.metadata_fields or []), field.model_dump()]
            for document_id, value in (values or {}).items():
                doc = s.get(KbDocumentRow, document_id)
                if doc is not None and doc.dataset_id == dataset_id:
                    doc.doc_metadata = {**(doc.doc_metadata or {}), field.name: value}
        return field

    def change_field(self, dataset_id: str, field_id: str, *, old_name: str, new_name: str | None) -> None:
        """Rename a field (new_name) or remove it (None) in the declarations and in every document's values."""
        with self._store.transaction() as s:
            row = self._dataset(s, dataset_id)
            fields = []
            for f in row.metadata_fields or []:
                if f["id"] == field_id:
                    if new_name is None:
                        continue
                    f = {**f, "name": new_name}
                fields.append(f)
            row.metadata_fields = fields
            for doc in s.scalars(select(KbDocumentRow).where(KbDocumentRow.dataset_id == dataset_id)):
                values = dict(doc.doc_metadata or {})
                if old_name not in values:
                    continue
                value = values.pop(old_name)
                if new_name is not None:
                    values[new_name] = value
                doc.doc_metadata = values

    def set_built_in(self, dataset_id: str, enabled: bool) -> None:
        with self._store.transaction() as s:
            self._dataset(s, dataset_id).built_in_metadata = enabled

    def set_document_values(self, dataset_id: str, changes: Sequence[tuple[str, Mapping[str, Any], bool]],
                            keep: Sequence[str] = ()) -> None:
        """For each (document id, values by name, partial): merge the values into the document's (partial) or
        replace them, keeping the names in `keep` (loader bookkeeping); a None value clears one. All documents or
        none."""
        with self._store.transaction() as s:
            for document_id, values, partial in changes:
                doc = s.get(KbDocumentRow, document_id)
                if doc is None or doc.dataset_id != dataset_id:
                    raise NotFoundError(f"Document {document_id!r} not found")
                current = dict(doc.doc_metadata or {})
                base = current if partial else {k: v for k, v in current.items() if k in keep}
                merged = {**base, **values}
                doc.doc_metadata = {k: v for k, v in merged.items() if v is not None}  # null clears a value
