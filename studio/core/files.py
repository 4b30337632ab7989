"""The file value that flows through workflows: Dify's File as a plain mapping, with helpers to make and recognise one.

A file value is a dict with these keys (Dify's file attributes, plus Studio's local `path`):

- `dify_model_identity`: always "__dify__file__" (how Dify tells a file from an object)
- `id`: a unique id; `related_id`: the upload or tool-file id it came from, if any
- `name`: the file name with its extension ("report.pdf"); `extension`: ".pdf" (with the dot, as Dify keeps it)
- `mime_type`: "application/pdf"; `size`: bytes (-1 when unknown)
- `type`: image | document | audio | video | custom (Dify's FileType)
- `transfer_method`: local_file | remote_url | tool_file (Dify's FileTransferMethod)
- `url`: the remote URL for remote_url files, else ""
- `path`: where the bytes are on this machine for local_file/tool_file files, else ""

Only `transfer_method` and one of `path`/`url` are required to read a file; the rest is metadata.
"""

from __future__ import annotations

import mimetypes
import os
import uuid
from typing import Any

FILE_IDENTITY = "__dify__file__"
TRANSFER_METHODS = ("local_file", "remote_url", "tool_file")

_IMAGE = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".svg", ".bmp", ".tif", ".tiff", ".ico", ".heic"}
_DOCUMENT = {".txt", ".markdown", ".md", ".mdx", ".pdf", ".html", ".htm", ".xlsx", ".xls", ".doc", ".docx", ".csv",
             ".eml", ".msg", ".pptx", ".ppt", ".xml", ".epub", ".json", ".yaml", ".yml", ".vtt", ".properties"}
_AUDIO = {".mp3", ".m4a", ".wav", ".webm", ".amr", ".mpga", ".ogg", ".flac", ".aac"}
_VIDEO = {".mp4", ".mov", ".mpeg", ".mpg", ".avi", ".mkv"}


def file_type(extension: str, mime_type: str = "") -> str:
    """Dify's FileType for an extension (with or without the dot), falling back to the MIME family."""
    ext = normalise_extension(extension)
    for kind, exts in (("image", _IMAGE), ("document", _DOCUMENT), ("audio", _AUDIO), ("video", _VIDEO)):
        if ext in exts:
            return kind
    family = (mime_type or "").split("/", 1)[0]
    return family if family in ("image", "audio", "video") else "custom"


def normalise_extension(extension: str | None) -> str:
    ext = (extension or "").strip().lower()
    return ext if not ext or ext.startswith(".") else f".{ext}"


def make_file(*, name: str = "", path: str = "", url: str = "", mime_type: str = "", size: int = -1,
              transfer_method: str = "local_file", related_id: str | None = None, extension: str = "") -> dict[str, Any]:
    """Build a file value; the extension and MIME type are guessed from the name when not given."""
    if not name:
        name = os.path.basename(path) if path else url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    extension = normalise_extension(extension or os.path.splitext(name)[1])
    mime_type = mime_type or (mimetypes.guess_type(name)[0] or "application/octet-stream")
    if size < 0 and path and os.path.exists(path):
        size = os.path.getsize(path)
    return {
        "dify_model_identity": FILE_IDENTITY,
        "id": str(uuid.uuid4()),
        "related_id": related_id,
        "name": name,
        "extension": extension,
        "mime_type": mime_type,
        "size": size,
        "type": file_type(extension, mime_type),
        "transfer_method": transfer_method,
        "url": url,
        "path": path,
    }


def is_file(value: Any) -> bool:
    """True for a file value (a mapping with a transfer method, or Dify's identity marker)."""
    return isinstance(value, dict) and (value.get("dify_model_identity") == FILE_IDENTITY
                                        or "transfer_method" in value)


def is_file_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(is_file(v) for v in value)
