"""Reading and writing the bytes behind workflow file values (core.files): local paths, remote URLs, saved outputs."""

from __future__ import annotations

import logging
import mimetypes
import os
import tempfile
import uuid
from typing import Any


from studio.core.files import make_file

log = logging.getLogger(__name__)
DOWNLOAD_MAX_BYTES = 100 * 1024 * 1024


class FileReadError(Exception):
    """The bytes of a file value cannot be had (missing path, unreachable URL, too large)."""


def load_bytes(file: dict[str, Any], *, max_bytes: int = DOWNLOAD_MAX_BYTES, timeout: float = 60.0) -> bytes:
    """The content of a file value: read from `path`, or downloaded from `url` for remote files."""
    path = file.get("path") or ""
    url = file.get("url") or file.get("remote_url") or ""
    if path:
        try:
            if os.path.getsize(path) > max_bytes:
                raise FileReadError(f"File {file.get('name') or path} is larger than {max_bytes} bytes")
            with open(path, "rb") as fh:
                return fh.read()
        except OSError as exc:
            raise FileReadError(f"Cannot read file {file.get('name') or path}: {exc.strerror or exc}") from None
    if url:
        return _download(url, max_bytes, timeout)
    raise FileReadError(f"File {file.get('name') or file.get('id') or ''} has neither a local path nor a URL".strip())


def _download(url: str, max_bytes: int, timeout: float) -> bytes:
    import httpx  # only when a file must be fetched: it costs start-up time otherwise

    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=timeout) as response:
            response.raise_for_status()
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise FileReadError(f"File at {url} is larger than {max_bytes} bytes")
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.HTTPError as exc:
        raise FileReadError(f"Error downloading file {url}: {exc}") from None


def files_dir(configured: str) -> str:
    """Where workflow outputs are saved: the run's files folder, or a temp folder when none was given."""
    folder = configured or os.path.join(tempfile.gettempdir(), "studio-workflow-files")
    os.makedirs(folder, exist_ok=True)
    return folder


def save_bytes(folder: str, content: bytes, *, name: str = "", mime_type: str = "",
               transfer_method: str = "tool_file") -> dict[str, Any]:
    """Write bytes under `folder` (atomically) and return the file value that points at them."""
    mime_type = mime_type or (mimetypes.guess_type(name)[0] if name else None) or "application/octet-stream"
    ext = os.path.splitext(name)[1] or mimetypes.guess_extension(mime_type.split(";")[0].strip()) or ".bin"
    file_id = str(uuid.uuid4())
    path = os.path.join(files_dir(folder), f"{file_id}{ext}")
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    file = make_file(name=name or f"{file_id}{ext}", path=path, mime_type=mime_type, size=len(content),
                     transfer_method=transfer_method, related_id=file_id, extension=ext)
    file["id"] = file_id
    return file
