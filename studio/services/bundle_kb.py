"""Knowledge bases in a server bundle: each written as its settings (dataset.json) and its chunks (documents.jsonl),
and rebuilt elsewhere from them with the very same chunks, embedded again by the model it names."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from studio.core.errors import ModelError, StudioError, ValidationError
from studio.core.knowledge import (Dataset, DocumentStatus, EmbeddingChoice, KbDocument, ProcessRule,
                                   RetrievalSettings, Segment)

FORMAT = 1
SETTINGS_FILE = "dataset.json"
DOCUMENTS_FILE = "documents.jsonl"
PAGE = 500  # segments per read while exporting a document


def folder_hash(folder: Path) -> str:
    """The fingerprint of a knowledge base's two files: a server rebuilds the knowledge base only when it changes."""
    digest = hashlib.sha256()
    for name in (SETTINGS_FILE, DOCUMENTS_FILE):
        digest.update(name.encode() + b"\0")
        with (folder / name).open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


# -- writing --------------------------------------------------------------------------------------------------
def dump_dataset(knowledge, dataset: Dataset, folder: Path, warnings: list[str]) -> dict[str, Any]:
    """Write one knowledge base into `folder`; returns its entry for bundle.json. Documents that are not indexed
    (waiting, paused, failed) have no finished chunks, so they are left out with a warning."""
    folder.mkdir(parents=True)
    docs = knowledge.documents(dataset.id)
    kept = [d for d in docs if d.status == DocumentStatus.COMPLETED]
    for doc in docs:
        if doc.status != DocumentStatus.COMPLETED:
            warnings.append(f"Knowledge base {dataset.name}: {doc.name} is {doc.status.value}, so it is not in the "
                            "bundle; finish or remove it and export again to include it")
    settings = {"format": FORMAT, "source_id": dataset.id, "name": dataset.name, "description": dataset.description,
                "embedding": dataset.embedding.model_dump(), "process_rule": dataset.process_rule.to_dify(),
                "retrieval": dataset.retrieval.model_dump(),
                "metadata_fields": [f.model_dump() for f in dataset.metadata_fields],
                "built_in_metadata": dataset.built_in_metadata}
    (folder / SETTINGS_FILE).write_text(json.dumps(settings, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    segments = 0
    with (folder / DOCUMENTS_FILE).open("w", encoding="utf-8") as out:
        for doc in kept:
            line = _document(knowledge, doc)
            segments += len(line["segments"])
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
    return {"source_id": dataset.id, "name": dataset.name, "folder": folder.name, "sha256": folder_hash(folder),
            "documents": len(kept), "segments": segments, "embedding": dataset.embedding.model_dump()}


def _document(knowledge, doc: KbDocument) -> dict[str, Any]:
    segments: list[dict[str, Any]] = []
    while True:
        page = knowledge.segments(doc.id, offset=len(segments), limit=PAGE)
        segments += [_segment(s) for s in page]
        if len(page) < PAGE:
            break
    return {"name": doc.name, "title": doc.title, "metadata": doc.doc_metadata, "enabled": doc.enabled,
            "content_hash": doc.content_hash, "size_bytes": doc.size_bytes, "word_count": doc.word_count,
            "text": knowledge.document_text(doc.id), "segments": segments}


def _segment(seg: Segment) -> dict[str, Any]:
    return {"content": seg.content, "start": seg.start, "end": seg.end, "enabled": seg.enabled,
            "children": [{"content": c.content, "start": c.start, "end": c.end} for c in seg.children]}


# -- reading --------------------------------------------------------------------------------------------------
def read_settings(folder: Path) -> dict[str, Any]:
    path = folder / SETTINGS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValidationError(f"{path} cannot be read: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValidationError(f"{path} is not a knowledge base of this bundle format (format {FORMAT})")
    return data


def _documents(folder: Path):
    path = folder / DOCUMENTS_FILE
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            try:
                doc = json.loads(line)
                if not isinstance(doc, dict) or not isinstance(doc.get("segments"), list):
                    raise ValueError("a document needs a name and a list of segments")
            except ValueError as exc:
                raise ValidationError(f"{path}, line {number}: {exc}") from None
            yield doc


def restore_dataset(knowledge, repo, folder: Path, name: str,
                    on_progress: Callable[[Any], None] | None = None) -> Dataset:
    """A new knowledge base named `name` from a bundle folder: its chunks are stored as they were written and
    embedded here. On any failure the half-built knowledge base is deleted again."""
    settings = read_settings(folder)
    try:
        dataset = knowledge.create(name, description=str(settings.get("description") or ""),
                                   process_rule=ProcessRule.from_dify(settings.get("process_rule")),
                                   embedding=EmbeddingChoice(**(settings.get("embedding") or {})),
                                   retrieval=RetrievalSettings(**(settings.get("retrieval") or {})))
    except (TypeError, ValueError) as exc:  # pydantic's errors are ValueErrors
        raise ValidationError(f"{folder / SETTINGS_FILE}: {exc}") from None
    try:
        fields = settings.get("metadata_fields") or []
        if not isinstance(fields, list) or not all(isinstance(f, dict) for f in fields):
            raise ValidationError(f"{folder / SETTINGS_FILE}: metadata_fields must be a list of fields")
        knowledge.restore_metadata_settings(dataset.id, fields, settings.get("built_in_metadata", True) is not False)
        disabled = [seg_id for doc in _documents(folder) for seg_id in _store_document(repo, dataset, doc)]
        report = knowledge.ingest(dataset.id, on_progress=on_progress)
        problem = report.embedding_error or "; ".join(f"{n}: {why}" for n, why in report.failed)
        if problem or report.cancelled:
            raise ModelError(f"Knowledge base {name} could not be embedded: {problem or 'cancelled'}")
        for seg_id in disabled:
            knowledge.update_segment(seg_id, enabled=False)
    except BaseException:
        knowledge.delete(dataset.id)
        raise
    return knowledge.get(dataset.id)


def _store_document(repo, dataset: Dataset, doc: dict[str, Any]) -> list[str]:
    """Save one document's chunks as the bundle has them (queued to embed); returns its disabled segments' ids."""
    name = str(doc.get("name") or "document")
    row = repo.add_documents(dataset.id, [{
        "id": str(uuid.uuid4()), "name": name, "source_path": f"bundle:{name}",
        "content_hash": str(doc.get("content_hash") or ""), "size_bytes": int(doc.get("size_bytes") or 0)}])[0]
    segments, children, disabled = [], [], []
    for position, seg in enumerate(doc["segments"], start=1):
        seg_id = str(uuid.uuid4())
        try:
            segments.append(_segment_row(dataset.id, row.id, seg_id, position, seg))
            children += [_child_row(row.id, seg_id, n, child) for n, child in enumerate(seg.get("children") or [], 1)]
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise StudioError(f"{name}: chunk {position} is malformed ({type(exc).__name__}: {exc})") from None
        if not seg.get("enabled", True):
            disabled.append(seg_id)
    repo.save_chunks(row.id, text=str(doc.get("text") or ""), title=str(doc.get("title") or ""),
                     metadata=doc.get("metadata") or {}, word_count=int(doc.get("word_count") or 0),
                     segments=segments, children=children)
    if not segments:  # nothing to embed: it would otherwise be read again from a file that is not here
        repo.set_status(row.id, DocumentStatus.COMPLETED)
    if not doc.get("enabled", True):
        repo.set_document_enabled(row.id, False)
    return disabled


def _segment_row(dataset_id: str, document_id: str, seg_id: str, position: int, seg: dict) -> dict[str, Any]:
    content = str(seg["content"])
    return {"id": seg_id, "dataset_id": dataset_id, "document_id": document_id, "position": position,
            "content": content, "start": int(seg.get("start") or 0), "end": int(seg.get("end") or 0),
            "word_count": len(content), "enabled": bool(seg.get("enabled", True)), "indexed": False, "hit_count": 0,
            "index_node_hash": hashlib.sha256(content.encode("utf-8", "surrogatepass")).hexdigest()}


def _child_row(document_id: str, seg_id: str, position: int, child: dict) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "segment_id": seg_id, "document_id": document_id, "position": position,
            "content": str(child["content"]), "start": int(child.get("start") or 0),
            "end": int(child.get("end") or 0), "indexed": False}
