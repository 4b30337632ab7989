"""Tags and metadata fields of knowledge bases, as Dify's knowledge API manages them. Tags are shared by all knowledge
bases. Metadata fields are declared per knowledge base and their values live on documents by name; names that
documents carry without a declaration (front matter) are fields too, with the name as their id, so a field a
document brought in can be renamed, removed or set like a declared one."""

from __future__ import annotations

import threading
import unicodedata
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from studio.core.errors import ConflictError, NotFoundError, ValidationError
from studio.core.knowledge import Dataset, KbDocument, KbTag, MetadataField
from studio.core.text import require_text
from studio.services.citations import HIDDEN_METADATA

BUILT_IN_FIELDS = (("document_name", "string"), ("uploader", "string"), ("upload_date", "time"),
                   ("last_update_date", "time"), ("source", "string"))
FIELD_TYPES = ("string", "number", "time")
MAX_TAG_NAME = 50  # Dify's limit
MAX_FIELD_NAME = 255
# Unix seconds from year 1 to year 9999, what a date can be
TIME_RANGE = (-62135596800, 253402300799)
# A field's checks (is the name free? what is it called now?) and its change happen as one step: two renames at
# once must not leave documents' values under a name no declaration has.
_FIELD_EDITS = threading.RLock()


def _clean(name: Any, what: str, limit: int) -> str:
    if not isinstance(name, str):
        raise ValidationError(f"A {what} name must be text")
    name = unicodedata.normalize("NFC", name.strip())
    if not name:
        raise ValidationError(f"A {what} needs a name")
    if len(name) > limit:
        raise ValidationError(f"A {what} name cannot exceed {limit} characters")
    if any(unicodedata.category(c).startswith("C") for c in name):
        raise ValidationError(f"A {what} name cannot contain control characters")
    require_text(name, f"{what} name")
    return name


def value_kind(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "string"
    return "number"


def _typed(field: str, kind: str, value: Any) -> Any:
    """A value as a field of `kind` stores it: numbers as numbers, times as Unix seconds (Dify's form), text as
    text; None clears it. Anything else is refused naming the field."""
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        raise ValidationError(f"Metadata {field!r} takes {'text' if kind == 'string' else 'a ' + kind}, "
                              f"not a{'n object' if isinstance(value, dict) else ' list'}")
    if isinstance(value, bool):
        raise ValidationError(f"Metadata {field!r} takes {'text' if kind == 'string' else 'a ' + kind}, "
                              "not true/false")
    if kind == "string":
        text = value if isinstance(value, str) else str(value)
        require_text(text, f"metadata {field}")
        if "\x00" in text:
            raise ValidationError(f"Metadata {field!r} cannot contain a NUL character")
        return text
    if not isinstance(value, (int, float, str)):
        raise ValidationError(f"Metadata {field!r} takes a {kind}")
    number: float | int | None
    if isinstance(value, (int, float)):
        number = value
    else:
        text = value.strip()
        try:
            number = float(text)
        except (ValueError, OverflowError):
            number = None
            if kind == "time":
                try:
                    when = datetime.fromisoformat(text)
                    number = (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()
                except ValueError:
                    pass
        if number is None:
            raise ValidationError(f"Metadata {field!r} takes a {kind}; {str(value)[:40]!r} is not one"
                                  + (" (give a date like 2024-05-01, or Unix seconds)" if kind == "time" else ""))
    try:
        as_float = float(number)
    except OverflowError:  # an integer past what a float holds
        as_float = float("inf")
    if as_float != as_float or as_float in (float("inf"), float("-inf")):
        raise ValidationError(f"Metadata {field!r} takes a finite {kind}")
    if kind == "time":
        if not TIME_RANGE[0] <= as_float <= TIME_RANGE[1]:
            raise ValidationError(f"Metadata {field!r} takes a time between year 1 and year 9999 (Unix seconds)")
        return int(as_float)
    if isinstance(number, int):
        return number
    return int(as_float) if as_float.is_integer() and abs(as_float) < 2**53 else as_float


def metadata_fields_of(dataset: Dataset, docs: Sequence[KbDocument]) -> list[dict[str, Any]]:
    """Declared fields first (in the order they were declared), then the names documents carry without a
    declaration; each with its type and how many documents hold a value for it."""
    counts: dict[str, int] = {}
    kinds: dict[str, str] = {}
    for doc in docs:
        for key, value in doc.doc_metadata.items():
            if key not in HIDDEN_METADATA:
                counts[key] = counts.get(key, 0) + 1
                kinds.setdefault(key, value_kind(value))
    declared = [{"id": f.id, "name": f.name, "type": f.type, "count": counts.get(f.name, 0)}
                for f in dataset.metadata_fields]
    names = {f.name for f in dataset.metadata_fields}
    return declared + [{"id": k, "name": k, "type": kinds[k], "count": n} for k, n in sorted(counts.items())
                       if k not in names]


class KnowledgeLabels:
    """Mixed into KnowledgeService (it supplies _labels, _repo and get)."""

    # -- tags ---------------------------------------------------------------------------------------------
    def tags(self) -> list[KbTag]:
        return self._labels.list_tags()

    def create_tag(self, name: str) -> KbTag:
        return self._labels.create_tag(_clean(name, "tag", MAX_TAG_NAME))

    def rename_tag(self, tag_id: str, name: str) -> KbTag:
        return self._labels.rename_tag(tag_id, _clean(name, "tag", MAX_TAG_NAME))

    def delete_tag(self, tag_id: str) -> None:
        self._labels.delete_tag(tag_id)

    def bind_tags(self, tag_ids: Sequence[str], ref: str) -> None:
        self._labels.bind(list(tag_ids), self.get(ref, counts=False).id)

    def unbind_tags(self, tag_ids: Sequence[str], ref: str) -> None:
        self._labels.unbind(list(tag_ids), self.get(ref, counts=False).id)

    def tags_of(self, dataset_ids: Sequence[str]) -> dict[str, list[KbTag]]:
        return self._labels.tags_of(list(dataset_ids))

    def tagged(self, tag_ids: Sequence[str]) -> set[str]:
        return self._labels.tagged(list(tag_ids))

    # -- metadata fields ----------------------------------------------------------------------------------
    def metadata_fields(self, ref: str) -> list[dict[str, Any]]:
        dataset = self.get(ref, counts=False)
        return metadata_fields_of(dataset, self._repo.list_documents(dataset.id))

    @staticmethod
    def _field(dataset: Dataset, docs: Sequence[KbDocument], field_id: str) -> MetadataField:
        """A field by its id: a declared one (also by its name), else a name the documents carry."""
        for f in dataset.metadata_fields:
            if f.id == field_id:
                return f
        for f in dataset.metadata_fields:
            if f.name == field_id:
                return f
        if field_id not in HIDDEN_METADATA:
            for doc in docs:
                if field_id in doc.doc_metadata:
                    return MetadataField(id=field_id, name=field_id, type=value_kind(doc.doc_metadata[field_id]))
        raise NotFoundError(f"Metadata field {field_id!r} not found in {dataset.name}")

    @staticmethod
    def _check_free(dataset: Dataset, docs: Sequence[KbDocument], name: str, *, adopt: bool) -> None:
        if name in dict(BUILT_IN_FIELDS) or name in HIDDEN_METADATA:
            raise ConflictError(f"{name!r} is a built-in metadata field")
        if any(f.name == name for f in dataset.metadata_fields):
            raise ConflictError(f"A metadata field named {name!r} already exists")
        if not adopt and any(name in d.doc_metadata for d in docs):
            raise ConflictError(f"Documents already carry a metadata field named {name!r}")

    def add_metadata_field(self, ref: str, name: str, kind: str) -> MetadataField:
        """Declare a field. A name documents already carry is declared with the values they hold."""
        with _FIELD_EDITS:
            dataset = self.get(ref, counts=False)
            if kind not in FIELD_TYPES:
                raise ValidationError(f"A metadata field's type is one of {', '.join(FIELD_TYPES)}, not {kind!r}")
            name = _clean(name, "metadata field", MAX_FIELD_NAME)
            docs = self._repo.list_documents(dataset.id)
            self._check_free(dataset, docs, name, adopt=True)
            values = {}  # what documents already hold under the name, as the new type stores it
            for doc in docs:
                if doc.doc_metadata.get(name) is not None:
                    try:
                        values[doc.id] = _typed(name, kind, doc.doc_metadata[name])
                    except ValidationError as exc:
                        raise ValidationError(f"{doc.name} already holds {name}, and it does not fit a {kind} field: "
                                              f"{exc.message}") from None
            field = MetadataField(id=str(uuid.uuid4()), name=name, type=kind)
            return self._labels.add_field(dataset.id, field, values)

    def rename_metadata_field(self, ref: str, field_id: str, name: str) -> MetadataField:
        with _FIELD_EDITS:
            dataset = self.get(ref, counts=False)
            docs = self._repo.list_documents(dataset.id)
            field = self._field(dataset, docs, field_id)
            name = _clean(name, "metadata field", MAX_FIELD_NAME)
            if name == field.name:
                return field
            self._check_free(dataset, docs, name, adopt=False)
            self._labels.change_field(dataset.id, field.id, old_name=field.name, new_name=name)
            return field.model_copy(update={"name": name, "id": field.id if field.id != field.name else name})

    def delete_metadata_field(self, ref: str, field_id: str) -> None:
        """Remove a field and every document's value for it."""
        with _FIELD_EDITS:
            dataset = self.get(ref, counts=False)
            field = self._field(dataset, self._repo.list_documents(dataset.id), field_id)
            self._labels.change_field(dataset.id, field.id, old_name=field.name, new_name=None)

    def set_built_in_metadata(self, ref: str, enabled: bool) -> None:
        self._labels.set_built_in(self.get(ref, counts=False).id, enabled)

    def restore_metadata_settings(self, ref: str, fields: Sequence[Mapping[str, Any]], built_in: bool) -> None:
        """The declared fields and built-in switch of a knowledge base brought in from a bundle."""
        dataset = self.get(ref, counts=False)
        with _FIELD_EDITS:
            for f in fields:
                try:
                    field = MetadataField(**f)
                except (TypeError, ValueError) as exc:
                    raise ValidationError(f"metadata field {f!r}: {exc}") from None
                self._labels.add_field(dataset.id, field)
        self._labels.set_built_in(dataset.id, bool(built_in))

    def set_document_metadata(self, ref: str, operations: Sequence[tuple[str, Sequence[Mapping[str, Any]], bool]]):
        """Dify's POST /documents/metadata: for each (document id, [{id, name, value}], partial_update), set those
        values (typed by their field), merged into the document's (partial) or replacing them. All or nothing."""
        with _FIELD_EDITS:
            dataset = self.get(ref, counts=False)
            docs = self._repo.list_documents(dataset.id)  # read once: the lookups below do not hit the database
            changes = []
            for document_id, items, partial in operations:
                values: dict[str, Any] = {}
                for item in items:
                    field_id = item.get("id") or item.get("name")
                    if not isinstance(field_id, str) or not field_id:
                        raise ValidationError("Each metadata item needs the id of a metadata field")
                    try:
                        field = self._field(dataset, docs, field_id)
                    except NotFoundError:
                        if field_id in dict(BUILT_IN_FIELDS):
                            raise ValidationError(f"{field_id!r} is a built-in field; Studio fills it in") from None
                        raise
                    values[field.name] = _typed(field.name, field.type, item.get("value"))
                changes.append((document_id, values, bool(partial)))
            self._labels.set_document_values(dataset.id, changes, keep=HIDDEN_METADATA)
