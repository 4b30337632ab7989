"""Uploads through the real FileService: streamed to disk within limits, and Dify file items turned into values."""

import io
import os
import sqlite3
import time
import unicodedata

import pytest

from studio.core.errors import (
    FileAccessDeniedError, FileExtensionBlockedError, FileNotFoundInStoreError, FileTooLargeError, ValidationError,
)
from studio.core.files import FILE_IDENTITY
from studio.services.files import MAX_FILE_BYTES, MAX_IMAGE_BYTES, clean_name

APP_A, APP_B = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"


def uploads_dir(home):
    return home / "files" / "uploads"


def test_save_streams_to_disk_and_records_the_file(home, services):
    data = b"%PDF-1.4 hello" * 10_000
    up = services.files.save("report.PDF", io.BytesIO(data), user="alice")
    assert (up.name, up.size, up.extension, up.mime_type, up.user) == ("report.PDF", len(data), "pdf",
                                                                       "application/pdf", "alice")
    path = uploads_dir(home) / f"{up.id}.pdf"
    assert up.path == str(path.resolve()) and path.read_bytes() == data
    assert services.files.get(up.id) == up
    assert [p.name for p in uploads_dir(home).iterdir()] == [path.name]  # no temp file left
    plain = services.files.save("notes", io.BytesIO(b"x"), user="alice", mime_type="text/plain")
    assert plain.extension == "" and plain.mime_type == "text/plain" and plain.path.endswith(plain.id)


def test_client_names_never_choose_the_path(home, services):
    for name in ("../../etc/evil.txt", "..\\..\\evil.txt", "..\uff0f..\uff0fetc\uff0fevil.txt"):  # ／ is NFKC "/"
        up = services.files.save(name, io.BytesIO(b"hi"), user="u")
        assert up.name == "evil.txt" and up.path.startswith(str(uploads_dir(home).resolve()))
    assert clean_name("C:\\Users\\me\\doc.docx") == "doc.docx"
    long = clean_name("a" * 400 + ".pdf")
    assert len(long) == 255 and long.endswith(".pdf")
    assert clean_name("a" * 250 + ". . .pdf") == "a" * 250 + ".pdf"  # no trailing dot left where it was cut
    for empty in ("", "   ", "dir/", "..", ". . .", "\uff0e\uff0e", "\u3000"):
        with pytest.raises(ValidationError, match="no name"):
            services.files.save(empty, io.BytesIO(b"x"), user="u")
    odd = services.files.save("notes.txt:stream", io.BytesIO(b"x"), user="u")  # never a path with a colon
    assert odd.extension == "txt:stream" and os.path.basename(odd.path) == odd.id


def test_names_are_normalised_and_stored_that_way(services):
    cases = {"\uff52\uff45\uff50\uff4f\uff52\uff54\uff0e\uff50\uff44\uff46": ("report.pdf", "pdf"),  # fullwidth
             "cafe\u0301.TXT": ("caf\u00e9.TXT", "txt"), "  notes.md . ": ("notes.md", "md"),
             "\u2460.csv": ("1.csv", "csv"), "data.\U0001d41c\U0001d42c\U0001d42f": ("data.csv", "csv")}
    for raw, (name, extension) in cases.items():
        up = services.files.save(raw, io.BytesIO(b"x"), user="u")
        assert (up.name, up.extension) == (name, extension)
        assert services.files.get(up.id).name == name and up.path.endswith(f"{up.id}.{extension}")


def test_blocked_extensions_cannot_be_disguised(home, services):
    for name in ("evil.exe.", "evil.exe ", "evil.exe. . .", "evil.exe\u3000", "evil.exe\u00a0", "evil.EXE",
                 "evil.\uff45\uff58\uff45", "evil.\U0001d41e\U0001d431\U0001d41e", "evil.\u212fxe", ".exe",
                 "evil\uff0eexe", "b.\uff22\uff21\uff34\uff0e"):
        with pytest.raises(FileExtensionBlockedError, match="blocked") as err:
            services.files.save(name, io.BytesIO(b"MZ"), user="u")
        assert err.value.code == "file_extension_blocked", name
    assert list(uploads_dir(home).iterdir()) == []


def test_hidden_and_control_characters_are_refused(home, services):
    cases = {"evil\u200b.exe": "zero-width", "a.ex\u200de": "zero-width", "invoice\u202efdp.exe": "bidirectional",
             "x\u2066.txt": "bidirectional", "\ufeffnotes.txt": "invisible", "bad\x00.txt": "control character",
             "tab\t.txt": "control character", "line\n.txt": "control character", "c1\x85.txt": "control",
             "sep\u2028.txt": "line separator"}
    for name, problem in cases.items():
        with pytest.raises(ValidationError, match=problem) as err:
            services.files.save(name, io.BytesIO(b"x"), user="u")
        bad = next(c for c in name if unicodedata.category(c) in ("Cc", "Cf", "Zl"))
        assert err.value.code == "invalid_param" and "file name contains" in err.value.message
        assert f"(U+{ord(bad):04X})" in err.value.message, name
    assert list(uploads_dir(home).iterdir()) == []


def _part(folder, name: str, age: float):
    path = folder / name
    path.write_bytes(b"half an upload")
    os.utime(path, (time.time() - age, time.time() - age))
    return path


def test_stale_partial_uploads_are_swept_when_the_service_starts(home):
    from studio.app import build
    from studio.core.settings import Settings

    first = build(Settings(home=home))
    try:
        kept = first.files.save("kept.txt", io.BytesIO(b"k"), user="u")
    finally:
        first.close()
    folder = uploads_dir(home)
    stale = [_part(folder, ".upload-abc.part", 7200), _part(folder, ".upload-def.part", 3 * 86400)]
    fresh = _part(folder, ".upload-now.part", 60)  # maybe another Studio process's upload in progress
    others = [_part(folder, "notes.part", 7200), _part(folder, ".upload-x.txt", 7200)]
    (folder / ".upload-dir.part").mkdir()
    os.utime(folder / ".upload-dir.part", (time.time() - 7200,) * 2)
    restarted = build(Settings(home=home))
    try:
        assert not any(p.exists() for p in stale)
        assert fresh.exists() and all(p.exists() for p in others) and (folder / ".upload-dir.part").is_dir()
        assert restarted.files.get(kept.id).path == kept.path and os.path.exists(kept.path)
        assert restarted.files.sweep_partial_uploads(max_age=0) == 1 and not fresh.exists()
        assert restarted.files.sweep_partial_uploads() == 0
    finally:
        restarted.close()


def test_size_limits_leave_nothing_behind(home, services, tmp_path):
    big = tmp_path / "big.bin"
    with big.open("wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)
    with big.open("rb") as f:
        with pytest.raises(FileTooLargeError, match="larger than the 15 MB upload limit") as err:
            services.files.save("big.csv", f, user="u")
        assert f.tell() <= MAX_FILE_BYTES + 64 * 1024  # reading stopped at the limit
    assert err.value.code == "file_too_large"
    with pytest.raises(FileTooLargeError, match="10 MB upload limit for images"):
        services.files.save("photo.png", io.BytesIO(b"\0" * (MAX_IMAGE_BYTES + 1)), user="u")
    assert list(uploads_dir(home).iterdir()) == []
    exact = services.files.save("photo.png", io.BytesIO(b"\0" * MAX_IMAGE_BYTES), user="u")
    assert exact.size == MAX_IMAGE_BYTES and exact.mime_type == "image/png"


def test_executables_are_blocked(home, services):
    for name in ("setup.EXE", "run.sh", "x.ps1", "lib.dll", "app.jar", "install.msi", "a.bat"):
        with pytest.raises(FileExtensionBlockedError, match="blocked") as err:
            services.files.save(name, io.BytesIO(b"MZ"), user="u")
        assert err.value.code == "file_extension_blocked"
    assert list(uploads_dir(home).iterdir()) == []


def test_uploads_belong_to_the_app_that_uploaded_them(home, services):
    up = services.files.save("a.txt", io.BytesIO(b"a"), user="u", app_id=APP_A)
    with sqlite3.connect(home / "studio.db") as db:  # the real database file records the app
        assert db.execute("SELECT app_id, user, name FROM upload_files WHERE id = ?", (up.id,)).fetchone() == (
            APP_A, "u", "a.txt")
    assert services.files.get_for(up.id, app_id=APP_A, user="u") == up
    item = {"type": "document", "transfer_method": "local_file", "upload_file_id": up.id}
    assert services.files.to_file_value(item, "u", app_id=APP_A)["path"] == up.path
    variables = [{"variable": "doc", "type": "file"}, {"variable": "docs", "type": "file-list"}]
    for other in (APP_B, None):
        with pytest.raises(FileNotFoundInStoreError, match=f"No uploaded file with id '{up.id}'") as err:
            services.files.get_for(up.id, app_id=other, user="u")
        assert err.value.code == "file_not_found"
        with pytest.raises(FileNotFoundInStoreError):
            services.files.to_file_value(item, "u", app_id=other)
        with pytest.raises(FileNotFoundInStoreError):
            services.files.resolve_inputs(variables, {"doc": item}, "u", app_id=other)
        with pytest.raises(FileNotFoundInStoreError):
            services.files.resolve_inputs(variables, {"docs": [item]}, "u", app_id=other)
    with pytest.raises(FileAccessDeniedError):  # the right app, another user
        services.files.to_file_value(item, "someone else", app_id=APP_A)


def test_uploads_without_an_app_are_reached_only_by_their_user(home, services):
    old = services.files.save("old.txt", io.BytesIO(b"o"), user="dave")  # as before uploads had an app
    with sqlite3.connect(home / "studio.db") as db:
        assert db.execute("SELECT app_id FROM upload_files WHERE id = ?", (old.id,)).fetchone() == (None,)
    item = {"transfer_method": "local_file", "upload_file_id": old.id}
    for app_id in (APP_A, APP_B, None):
        assert services.files.get_for(old.id, app_id=app_id, user="dave") == old
        assert services.files.to_file_value(item, "dave", app_id=app_id)["related_id"] == old.id
        for user in ("eve", None, ""):
            with pytest.raises(FileNotFoundInStoreError):
                services.files.get_for(old.id, app_id=app_id, user=user)
        with pytest.raises(FileNotFoundInStoreError):
            services.files.to_file_value(item, "eve", app_id=app_id)


def test_unknown_upload(services):
    with pytest.raises(FileNotFoundInStoreError, match="No uploaded file with id 'nope'") as err:
        services.files.get("nope")
    assert err.value.code == "file_not_found"


def test_local_and_remote_items_become_file_values(services):
    up = services.files.save("cat.png", io.BytesIO(b"\x89PNG"), user="alice")
    value = services.files.to_file_value({"type": "image", "transfer_method": "local_file",
                                          "upload_file_id": up.id, "path": "/etc/passwd"}, "alice")
    assert value["dify_model_identity"] == FILE_IDENTITY and value["path"] == up.path  # the client's path is ignored
    assert (value["related_id"], value["name"], value["extension"], value["type"], value["size"]) == (
        up.id, "cat.png", ".png", "image", 4)
    assert services.files.to_file_value({"type": "document", "transfer_method": "local_file",
                                         "upload_file_id": up.id}, "alice")["type"] == "document"
    assert services.files.to_file_value({"type": "custom", "transfer_method": "local_file",
                                         "upload_file_id": up.id}, "alice")["type"] == "image"
    remote = services.files.to_file_value({"type": "document", "transfer_method": "remote_url",
                                           "url": "https://example.com/a/report.pdf?x=1"}, "bob")
    assert (remote["url"], remote["name"], remote["path"], remote["transfer_method"]) == (
        "https://example.com/a/report.pdf?x=1", "report.pdf", "", "remote_url")


def test_bad_file_items_name_the_field(services):
    up = services.files.save("cat.png", io.BytesIO(b"\x89PNG"), user="alice", app_id=APP_A)
    with pytest.raises(FileAccessDeniedError, match="uploaded by another user") as err:
        services.files.to_file_value({"transfer_method": "local_file", "upload_file_id": up.id}, "mallory",
                                     app_id=APP_A)
    assert err.value.code == "file_access_denied"
    with pytest.raises(FileNotFoundInStoreError):
        services.files.to_file_value({"transfer_method": "local_file", "upload_file_id": "missing"}, "alice",
                                     app_id=APP_A)
    cases = [
        ({"type": "image", "transfer_method": "ftp"}, "files[0].transfer_method must be remote_url or local_file"),
        ({"type": "image"}, "files[0].transfer_method must be remote_url or local_file"),
        ({"type": "picture", "transfer_method": "local_file"}, "files[0].type must be one of image, document"),
        ({"transfer_method": "local_file"}, "files[0].upload_file_id is required"),
        ({"transfer_method": "remote_url", "url": "file:///etc/passwd"}, "files[0].url must be an http or https"),
        ({"transfer_method": "remote_url"}, "files[0].url must be an http or https"),
        ("not a dict", "files[0] must be an object"),
    ]
    for item, message in cases:
        with pytest.raises(ValidationError, match=message.replace("[", r"\[").replace("]", r"\]")):
            services.files.to_file_value(item, "alice", field="files[0]")


def test_resolve_inputs_converts_only_file_variables(services):
    a = services.files.save("a.txt", io.BytesIO(b"a"), user="u", app_id=APP_A)
    b = services.files.save("b.txt", io.BytesIO(b"b"), user="u", app_id=APP_A)
    variables = [{"variable": "doc", "type": "file"}, {"variable": "docs", "type": "file-list"},
                 {"variable": "q", "type": "text-input"}, {"variable": "none", "type": "file"}]
    item = {"type": "document", "transfer_method": "local_file"}
    inputs = {"doc": {**item, "upload_file_id": a.id}, "q": {"kept": "as is"}, "none": None,
              "docs": [{**item, "upload_file_id": a.id}, {**item, "upload_file_id": b.id}]}
    out = services.files.resolve_inputs(variables, inputs, "u", app_id=APP_A)
    assert out["doc"]["path"] == a.path and [d["path"] for d in out["docs"]] == [a.path, b.path]
    assert out["q"] == {"kept": "as is"} and out["none"] is None
    assert inputs["doc"] == {**item, "upload_file_id": a.id}  # the caller's dict is untouched
    with pytest.raises(ValidationError, match="inputs.docs must be a list of files"):
        services.files.resolve_inputs(variables, {"docs": inputs["doc"]}, "u", app_id=APP_A)
    with pytest.raises(ValidationError, match=r"inputs.docs\[1\].transfer_method"):
        services.files.resolve_inputs(variables, {"docs": [inputs["doc"], {"type": "document"}]}, "u", app_id=APP_A)
    with pytest.raises(FileAccessDeniedError):
        services.files.resolve_inputs(variables, inputs, "someone else", app_id=APP_A)
