"""Uploads through the real FileService: streamed to disk within limits, and Dify file items turned into values."""

import io

import pytest

from studio.core.errors import (
    FileAccessDeniedError, FileExtensionBlockedError, FileNotFoundInStoreError, FileTooLargeError, ValidationError,
)
from studio.core.files import FILE_IDENTITY
from studio.services.files import MAX_FILE_BYTES, MAX_IMAGE_BYTES, clean_name


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
    up = services.files.save("../../etc/evil\x00\n.txt", io.BytesIO(b"hi"), user="u")
    assert up.name == "evil.txt" and up.path.startswith(str(uploads_dir(home).resolve()))
    assert clean_name("C:\\Users\\me\\doc.docx") == "doc.docx"
    long = clean_name("a" * 400 + ".pdf")
    assert len(long) == 255 and long.endswith(".pdf")
    for empty in ("", "   ", "dir/", "..", "\x01\x02"):
        with pytest.raises(ValidationError, match="no name"):
            services.files.save(empty, io.BytesIO(b"x"), user="u")


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
    up = services.files.save("cat.png", io.BytesIO(b"\x89PNG"), user="alice")
    with pytest.raises(FileAccessDeniedError, match="uploaded by another user") as err:
        services.files.to_file_value({"transfer_method": "local_file", "upload_file_id": up.id}, "mallory")
    assert err.value.code == "file_access_denied"
    with pytest.raises(FileNotFoundInStoreError):
        services.files.to_file_value({"transfer_method": "local_file", "upload_file_id": "missing"}, "alice")
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
    a = services.files.save("a.txt", io.BytesIO(b"a"), user="u")
    b = services.files.save("b.txt", io.BytesIO(b"b"), user="u")
    variables = [{"variable": "doc", "type": "file"}, {"variable": "docs", "type": "file-list"},
                 {"variable": "q", "type": "text-input"}, {"variable": "none", "type": "file"}]
    item = {"type": "document", "transfer_method": "local_file"}
    inputs = {"doc": {**item, "upload_file_id": a.id}, "q": {"kept": "as is"}, "none": None,
              "docs": [{**item, "upload_file_id": a.id}, {**item, "upload_file_id": b.id}]}
    out = services.files.resolve_inputs(variables, inputs, "u")
    assert out["doc"]["path"] == a.path and [d["path"] for d in out["docs"]] == [a.path, b.path]
    assert out["q"] == {"kept": "as is"} and out["none"] is None
    assert inputs["doc"] == {**item, "upload_file_id": a.id}  # the caller's dict is untouched
    with pytest.raises(ValidationError, match="inputs.docs must be a list of files"):
        services.files.resolve_inputs(variables, {"docs": inputs["doc"]}, "u")
    with pytest.raises(ValidationError, match=r"inputs.docs\[1\].transfer_method"):
        services.files.resolve_inputs(variables, {"docs": [inputs["doc"], {"type": "document"}]}, "u")
    with pytest.raises(FileAccessDeniedError):
        services.files.resolve_inputs(variables, inputs, "someone else")
