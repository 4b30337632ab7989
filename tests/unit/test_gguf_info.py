"""GGUF header reading: the bundled model's metadata, and clear errors for bad files."""

import pytest

from studio.core.errors import ModelError
from studio.runtime.gguf_info import GGUFInspector


@pytest.fixture(scope="module")
def smollm():
    [model] = [m for m in GGUFInspector().bundled_models() if "smollm2" in m.id]
    return model


def test_bundled_smollm2_metadata(smollm):
    assert smollm.source == "bundled"
    assert smollm.architecture == "llama"
    assert smollm.quantization == "Q4_1"
    assert smollm.context_length == 8192
    assert 130e6 < smollm.parameters < 140e6
    assert "<|im_start|>" in smollm.chat_template
    assert smollm.size_bytes > 90e6


@pytest.mark.parametrize("content, message", [
    (b"", "not a GGUF model file"),
    (b"PK\x03\x04 a zip file", "not a GGUF model file"),
    (b"GGUF\x03\x00\x00\x00\x01", "truncated"),
    (b"GGUF\x09\x00\x00\x00" + b"\x00" * 16, "version 9"),
])
def test_bad_files_are_named(tmp_path, content, message):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(content)
    with pytest.raises(ModelError, match=message):
        GGUFInspector().inspect(str(bad))


def test_truncated_copy_of_real_model(tmp_path, smollm):
    cut = tmp_path / "cut.gguf"
    with open(smollm.path, "rb") as src:
        cut.write_bytes(src.read(300_000))
    with pytest.raises(ModelError, match="cut.gguf"):
        GGUFInspector().inspect(str(cut))


def test_missing_path_and_directory(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        GGUFInspector().inspect(str(tmp_path / "nope.gguf"))
    with pytest.raises(ModelError, match="Not a file"):
        GGUFInspector().inspect(str(tmp_path))
