"""Uploaded files: store a client's upload safely on disk, and turn Dify run-request file items into file values.

An upload made with an app's key belongs to that app: only that app can preview it or use it in a run (another app
is told the file does not exist, as Dify does for another tenant's file). Uploads recorded before uploads had an
app (app_id NULL) belong to no app: an API caller reaches them only as the same `user` that uploaded them.
"""

from __future__ import annotations

import logging
import mimetypes
import os
import re
import tempfile
import time
import unicodedata
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from studio.core.entities import UploadedFile
from studio.core.errors import (
    FileAccessDeniedError, FileExtensionBlockedError, FileNotFoundInStoreError, FileTooLargeError, ValidationError,
)
from studio.core.files import make_file

MAX_FILE_BYTES = 15 * 1024 * 1024  # Dify UPLOAD_FILE_SIZE_LIMIT
MAX_IMAGE_BYTES = 10 * 1024 * 1024  # Dify UPLOAD_IMAGE_FILE_SIZE_LIMIT
CHUNK_BYTES = 64 * 1024
MAX_NAME_CHARS = 255
IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "webp", "gif", "svg"})  # Dify's IMAGE_EXTENSIONS
# Files that run as programs when opened: refused, so an upload can never be a double-click away from running.
BLOCKED_EXTENSIONS = frozenset({
    "exe", "bat", "cmd", "com", "scr", "vbs", "vbe", "jse", "wsf", "wsh", "ps1", "psm1", "sh", "bash", "dll",
    "msi", "msp", "jar", "app", "apk", "cpl", "hta", "lnk", "pif", "reg", "scf", "sys", "deb", "rpm", "dmg",
    "pkg", "run", "command", "gadget", "inf", "ins", "isp", "mst",
})
FILE_TYPES = ("image", "document", "audio", "video", "custom")
TRANSFER_METHODS = ("remote_url", "local_file")
# Characters a file name may not hold, by Unicode category: they hide or reorder what the user sees.
_FORBIDDEN_CHARACTERS = {
    "Cc": "a control character",
    "Cf": "an invisible formatting character (zero-width or bidirectional override)",
    "Cs": "an unpaired surrogate",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
}
_TRAILING = re.compile(r"[\s.]+\Z")  # Windows drops trailing dots and spaces: "evil.exe. " opens as evil.exe
_DISK_EXTENSION = re.compile(r"[0-9a-z][0-9a-z_+-]{0,15}")
PART_PREFIX, PART_SUFFIX = ".upload-", ".part"
STALE_PART_SECONDS = 3600
log = logging.getLogger(__name__)


def clean_name(name: str) -> str:
    """The name to check and keep: NFKC-normalised (fullwidth and other compatibility letters become plain ones),
    the basename only, without surrounding spaces or trailing dots, at most 255 characters. A name holding
    control, zero-width or bidirectional-override characters is refused with a ValidationError naming it."""
    name = unicodedata.normalize("NFKC", str(name or ""))
    for char in name:
        problem = _FORBIDDEN_CHARACTERS.get(unicodedata.category(char))
        if problem:
            raise ValidationError(f"The file name contains {problem} (U+{ord(char):04X}); rename the file and "
                                  f"upload it again")
    name = _TRAILING.sub("", name.replace("\\", "/").rsplit("/", 1)[-1].strip())
    if len(name) > MAX_NAME_CHARS:
        stem, dot, ext = name.rpartition(".")
        ext = f".{ext}" if dot and len(ext) < 16 else ""
        name = _TRAILING.sub("", (stem if ext else name)[:MAX_NAME_CHARS - len(ext)]) + ext
    return name


def extension_of(name: str) -> str:
    """The text after the last dot, casefolded ("" without a dot): ".exe" and "a.EXE" both give "exe"."""
    return name.rpartition(".")[2].casefold() if "." in name else ""


def size_limit(extension: str) -> int:
    return MAX_IMAGE_BYTES if extension in IMAGE_EXTENSIONS else MAX_FILE_BYTES


class FileService:
    def __init__(self, repos, files_dir: Path) -> None:
        self._uploads = repos.uploads
        self.files_dir = Path(files_dir)
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self.sweep_partial_uploads()

    def sweep_partial_uploads(self, max_age: float = STALE_PART_SECONDS) -> int:
        """Delete the temp files of uploads that were cut off (a crash or a kill mid-upload) and are older than
        max_age seconds; younger ones may be another Studio process's upload in progress. Returns the count."""
        cutoff, removed = time.time() - max_age, 0
        with os.scandir(self.files_dir) as entries:
            for entry in entries:
                if not (entry.name.startswith(PART_PREFIX) and entry.name.endswith(PART_SUFFIX)):
                    continue
                try:
                    if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < cutoff:
                        os.unlink(entry.path)
                        removed += 1
                except OSError as exc:  # gone already, or not ours to delete: never stop the service for it
                    log.warning("could not remove the partial upload %s: %s", entry.path, exc)
        if removed:
            log.info("removed %d partial upload(s) from %s", removed, self.files_dir)
        return removed

    # -- uploads -----------------------------------------------------------------------------------
    def save(self, name: str, source: BinaryIO, *, user: str, mime_type: str = "",
             app_id: str | None = None) -> UploadedFile:
        """Stream an upload to disk within the size limit, then record it for `app_id` (the app whose key uploaded
        it); nothing is left behind on failure. The stored name is the normalised one (see clean_name)."""
        name = clean_name(name)
        if not name:
            raise ValidationError("The uploaded file has no name")
        extension = extension_of(name)
        if extension in BLOCKED_EXTENSIONS:
            raise FileExtensionBlockedError(f"Files of type .{extension} are blocked because they can run as programs")
        limit = size_limit(extension)
        temp, size = self._receive(source, name, limit)
        file_id = str(uuid.uuid4())
        final = self.files_dir / (f"{file_id}.{extension}" if _DISK_EXTENSION.fullmatch(extension) else file_id)
        try:
            os.replace(temp, final)
            guessed = mimetypes.guess_type(name)[0]
            record = UploadedFile(
                id=file_id, name=name, size=size, extension=extension, user=user or "", path=str(final.resolve()),
                mime_type=(mime_type if mime_type and mime_type != "application/octet-stream" else "")
                or guessed or "application/octet-stream",
                created_at=datetime.now(timezone.utc).replace(tzinfo=None))
            return self._uploads.add(record, app_id=app_id)
        except BaseException:
            _remove(temp)
            _remove(final)
            raise

    def _receive(self, source: BinaryIO, name: str, limit: int) -> tuple[str, int]:
        """Copy the source into a temp file in files_dir (so the rename is atomic), counting bytes as they come."""
        fd, temp = tempfile.mkstemp(dir=self.files_dir, prefix=PART_PREFIX, suffix=PART_SUFFIX)
        size = 0
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(CHUNK_BYTES):
                    size += len(chunk)
                    if size > limit:  # stop reading at once: the rest of an oversized upload is never stored
                        raise FileTooLargeError(
                            f"{name} is larger than the {limit // (1024 * 1024)} MB upload limit"
                            f"{' for images' if limit == MAX_IMAGE_BYTES else ''}")
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            _remove(temp)
            raise
        return temp, size

    def get(self, file_id: str) -> UploadedFile:
        """Any upload, whichever app it belongs to: for Studio itself, never for an API caller (see get_for)."""
        found = self._uploads.get(str(file_id)) if file_id else None
        if found is None:
            raise FileNotFoundInStoreError(f"No uploaded file with id {file_id!r}")
        return found

    def get_for(self, file_id: str, *, app_id: str | None, user: str | None) -> UploadedFile:
        """The upload if the caller may reach it, else FileNotFoundInStoreError, the same as for a missing id (so
        another app's file ids are not confirmed). An upload with an app is reached by that app only; one with no
        app (older uploads, app_id NULL) only when `user` is the user that uploaded it. The caller still checks
        the user for uploads with an app where it matters (run inputs)."""
        found = self._uploads.get_with_app(str(file_id)) if file_id else None
        if found is not None:
            upload, owner = found
            if (upload.user == (user or "")) if owner is None else (owner == app_id):
                return upload
        raise FileNotFoundInStoreError(f"No uploaded file with id {file_id!r}")

    # -- run-request file items --------------------------------------------------------------------
    def to_file_value(self, item: dict, user: str, *, app_id: str | None = None,
                      field: str = "file") -> dict[str, Any]:
        """A Dify request file item ({type, transfer_method, url | upload_file_id}) as a workflow file value, for a
        run of app `app_id` by `user`: a local_file must be an upload that app and user may use (get_for; None
        reaches only uploads with no app). `field` names the item in error messages, e.g. "inputs.report"."""
        if not isinstance(item, dict):
            raise ValidationError(f"{field} must be an object with type and transfer_method")
        declared = item.get("type")
        if declared is not None and declared not in FILE_TYPES:
            raise ValidationError(f"{field}.type must be one of {', '.join(FILE_TYPES)}")
        method = item.get("transfer_method")
        if method == "local_file":
            value = self._local_value(item, user, app_id, field)
        elif method == "remote_url":
            value = _remote_value(item, field)
        else:
            raise ValidationError(f"{field}.transfer_method must be remote_url or local_file")
        if declared and declared != "custom":  # like Dify: the caller's type wins unless it says "custom"
            value["type"] = declared
        return value

    def _local_value(self, item: dict, user: str, app_id: str | None, field: str) -> dict[str, Any]:
        upload_id = item.get("upload_file_id")
        if not isinstance(upload_id, str) or not upload_id.strip():
            raise ValidationError(f"{field}.upload_file_id is required for a local_file")
        upload = self.get_for(upload_id.strip(), app_id=app_id, user=user)
        if upload.user != (user or ""):
            raise FileAccessDeniedError(f"{field}: file {upload.id!r} was uploaded by another user")
        return make_file(name=upload.name, path=upload.path, mime_type=upload.mime_type, size=upload.size,
                         transfer_method="local_file", related_id=upload.id, extension=upload.extension)

    def resolve_inputs(self, variables: list[dict], inputs: dict, user: str, *,
                       app_id: str | None = None) -> dict[str, Any]:
        """Inputs with the Start node's file and file-list values turned into file values (uploads of app `app_id`
        only, as in to_file_value); the rest as given."""
        out = dict(inputs or {})
        for var in variables or []:
            name = var.get("variable") if isinstance(var, dict) else None
            kind = var.get("type") if name else None
            if kind not in ("file", "file-list") or out.get(name) is None:
                continue
            value = out[name]
            if kind == "file":
                out[name] = self.to_file_value(value, user, app_id=app_id, field=f"inputs.{name}")
                continue
            if not isinstance(value, list):
                raise ValidationError(f"inputs.{name} must be a list of files")
            out[name] = [self.to_file_value(v, user, app_id=app_id, field=f"inputs.{name}[{i}]")
                         for i, v in enumerate(value)]
        return out


def _remote_value(item: dict, field: str) -> dict[str, Any]:
    url = item.get("url") or item.get("remote_url")
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError(f"{field}.url must be an http or https URL for a remote_url file")
    return make_file(url=url, transfer_method="remote_url")


def _remove(path: str | os.PathLike) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
