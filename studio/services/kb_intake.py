"""What comes into a knowledge base: files (folders expanded, content hashed), embedding endpoint checks, document
fields for metadata filters, and the lock that lets one run at a time ingest a knowledge base."""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from studio.core.errors import ValidationError
from studio.core.knowledge import EmbeddingChoice, KbDocument
from studio.knowledge.loaders import is_supported


@dataclass
class AddPlan:
    """What adding files did before any ingestion: which were queued and which were left alone, and why."""

    queued: list[KbDocument] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


class IngestLock:
    """An exclusive lock file per knowledge base, so two processes (the GUI and a `studio kb add`) never ingest
    the same knowledge base at once. flock is released by the kernel when its holder dies, even by kill -9."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def held(self) -> bool:
        """Whether some run (in this process or another) holds the lock now."""
        if self.acquire():
            self.release()
            return False
        return True


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def expand(paths: Iterable[str | Path], plan: AddPlan) -> list[Path]:
    """Files and folders → supported files (folders recursively, hidden entries skipped), in a stable order."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path).parts
                if child.is_file() and not any(p.startswith(".") for p in rel) and is_supported(child):
                    out.append(child.resolve())
        elif path.exists() and not path.is_file():
            plan.skipped.append((str(path), "not a regular file"))
        elif path.is_file():
            if is_supported(path):
                out.append(path.resolve())
            else:
                plan.skipped.append((str(path), f"unsupported file type {path.suffix or '(none)'}"))
        else:
            plan.skipped.append((str(path), "no such file or folder"))
    return list(dict.fromkeys(out))


def check_embedding(choice: EmbeddingChoice) -> EmbeddingChoice:
    """A usable embedding choice, or a ValidationError that says what to fix. An endpoint needs an http(s) URL and
    the model name it serves; API keys are not taken here (and never stored with the knowledge base)."""
    model = (choice.model or "").strip()
    if not model:
        raise ValidationError("Choose an embedding model" if choice.provider == "local" else
                              "Give the model name the embedding endpoint serves (e.g. all-MiniLM-L6-v2)")
    if choice.provider != "openai_api_compatible":
        return choice.model_copy(update={"model": model, "base_url": ""})
    url = (choice.base_url or "").strip()
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        parts, host = None, None
    if parts is None or parts.scheme not in ("http", "https") or not host:
        raise ValidationError(f"The embedding endpoint URL must look like http://127.0.0.1:8080/v1, got {url!r}")
    if parts.username or parts.password:
        raise ValidationError("Leave credentials out of the embedding endpoint URL; it is stored as plain text")
    if parts.query or parts.fragment:
        raise ValidationError("The embedding endpoint URL is a base URL such as http://host:8080/v1, without "
                              "? or #")
    return choice.model_copy(update={"model": model, "base_url": url.rstrip("/")})


def doc_fields(doc: KbDocument, built_in: bool = True) -> dict[str, Any]:
    """A document's metadata, with Dify's built-in fields unless the knowledge base has them switched off."""
    if not built_in:
        return dict(doc.doc_metadata)
    return {**doc.doc_metadata, "document_name": doc.name, "source": doc.source_path, "uploader": "",
            "upload_date": doc.created_at.isoformat() if doc.created_at else None,
            "last_update_date": doc.completed_at.isoformat() if doc.completed_at else None}
