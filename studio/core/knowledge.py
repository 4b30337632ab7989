"""Knowledge-base domain: Dify's process rules, extracted documents, chunks, and the embedder protocol."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from studio.core.cancel import CancelToken
from studio.core.errors import StudioError, ValidationError

# Dify's bounds (api/services/dataset_service.py and INDEXING_MAX_SEGMENTATION_TOKENS_LENGTH).
MIN_CHUNK = 50
MAX_CHUNK = 4000
SUPPORTED_EXTENSIONS = (".txt", ".md", ".markdown", ".mdx", ".html", ".htm", ".pdf", ".docx", ".csv", ".json")
SEARCH_METHODS = ("semantic_search", "full_text_search", "hybrid_search")
MODE_ALIASES = {"semantic": "semantic_search", "full_text": "full_text_search", "fulltext": "full_text_search",
                "hybrid": "hybrid_search", "keyword": "full_text_search"}


class LoaderError(StudioError):
    """A file could not be read as a document (unreadable, encrypted, empty, unsupported)."""

    code = "unsupported_file"


class Segmentation(BaseModel):
    """How text is cut: the separator first, then recursive splitting down to max_tokens characters."""

    model_config = ConfigDict(extra="ignore")

    separator: str = "\n\n"
    max_tokens: int = 500  # Dify measures this in characters (its `_character_encoder`)
    chunk_overlap: int = 50

    @model_validator(mode="after")
    def _bounds(self) -> Segmentation:
        if not MIN_CHUNK <= self.max_tokens <= MAX_CHUNK:
            raise ValueError(f"chunk size must be between {MIN_CHUNK} and {MAX_CHUNK} characters, "
                             f"got {self.max_tokens}")
        if not 0 <= self.chunk_overlap < self.max_tokens:
            raise ValueError(f"chunk overlap must be between 0 and the chunk size ({self.max_tokens}), "
                             f"got {self.chunk_overlap}")
        return self


class ProcessRule(BaseModel):
    """Dify's process rule: `{mode, rules{pre_processing_rules, segmentation, parent_mode, subchunk_segmentation}}`
    flattened. `hierarchical` makes parent-child chunks: parents by `segmentation` (or the whole document when
    parent_mode is full-doc), children by `subchunk_segmentation`; children are what gets embedded and searched."""

    model_config = ConfigDict(extra="ignore")

    mode: Literal["automatic", "custom", "hierarchical"] = "custom"
    remove_extra_spaces: bool = True
    remove_urls_emails: bool = False
    segmentation: Segmentation = Field(default_factory=Segmentation)
    parent_mode: Literal["paragraph", "full-doc"] = "paragraph"
    subchunk_segmentation: Segmentation = Field(
        default_factory=lambda: Segmentation(separator="\n", max_tokens=200, chunk_overlap=0))

    @classmethod
    def automatic(cls) -> ProcessRule:
        return cls(mode="automatic", segmentation=Segmentation(separator="\n", max_tokens=500, chunk_overlap=50))

    @classmethod
    def from_dify(cls, rule: dict[str, Any] | None) -> ProcessRule:
        """Read Dify's nested process_rule dict (as the datasets API and DSL carry it)."""
        if not rule:
            return cls()
        if not isinstance(rule, dict):
            raise ValidationError("process_rule must be an object")
        mode = rule.get("mode") or "custom"
        if mode == "automatic":
            return cls.automatic()
        rules = rule.get("rules") or {}
        enabled = {r.get("id"): bool(r.get("enabled")) for r in rules.get("pre_processing_rules") or []
                   if isinstance(r, dict)}
        try:
            return cls(mode=mode, remove_extra_spaces=enabled.get("remove_extra_spaces", True),
                       remove_urls_emails=enabled.get("remove_urls_emails", False),
                       segmentation=Segmentation(**(rules.get("segmentation") or {})),
                       parent_mode=rules.get("parent_mode") or "paragraph",
                       subchunk_segmentation=Segmentation(**(rules.get("subchunk_segmentation") or
                                                            {"separator": "\n", "max_tokens": 200,
                                                             "chunk_overlap": 0})))
        except ValueError as exc:
            raise ValidationError(f"invalid process_rule: {exc}") from None

    def to_dify(self) -> dict[str, Any]:
        rules: dict[str, Any] = {
            "pre_processing_rules": [{"id": "remove_extra_spaces", "enabled": self.remove_extra_spaces},
                                     {"id": "remove_urls_emails", "enabled": self.remove_urls_emails}],
            "segmentation": self.segmentation.model_dump(),
        }
        if self.mode == "hierarchical":
            rules["parent_mode"] = self.parent_mode
            rules["subchunk_segmentation"] = self.subchunk_segmentation.model_dump()
        return {"mode": self.mode, "rules": rules}


@dataclass
class LoadedDocument:
    """What a loader extracted from one file: plain text plus metadata (front matter, page count...)."""

    text: str
    title: str
    source: str  # the file's path
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class Chunk:
    """A piece of a document's (cleaned) text. `start`/`end` are character offsets into that text, so
    `text[start:end] == content` holds for every chunk; parents carry their children the same way."""

    content: str
    start: int
    end: int
    children: list[Chunk] = field(default_factory=list)


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors (a numpy float32 array of shape (n, dimension))."""

    @property
    def dimension(self) -> int: ...

    @property
    def name(self) -> str: ...

    def embed(self, texts: Sequence[str], cancel: CancelToken | None = None) -> Any:
        """Embed many texts; long inputs are truncated to what the model accepts, never an error."""
        ...

    def close(self) -> None: ...


class Reranker(Protocol):
    """Scores (query, passage) pairs; higher is more relevant, normalised to 0..1."""

    @property
    def name(self) -> str: ...

    def rerank(self, query: str, passages: Sequence[str], cancel: CancelToken | None = None) -> list[float]: ...

    def close(self) -> None: ...


def normalize_mode(mode: str) -> str:
    """`semantic`, `full_text`, `hybrid` (CLI words) or Dify's `*_search` names → Dify's name."""
    value = MODE_ALIASES.get(mode, mode)
    if value not in SEARCH_METHODS:
        raise ValidationError(f"unknown search mode {mode!r}; use semantic, full_text or hybrid")
    return value


class DocumentStatus(str, Enum):
    """Dify's indexing_status, collapsed to what a desktop run goes through."""

    WAITING = "waiting"
    PARSING = "parsing"
    INDEXING = "indexing"
    COMPLETED = "completed"
    PAUSED = "paused"  # cancelled by the user; resumes with the next run
    ERROR = "error"


PENDING_STATUSES = (DocumentStatus.WAITING, DocumentStatus.PARSING, DocumentStatus.INDEXING, DocumentStatus.PAUSED)


class EmbeddingChoice(BaseModel):
    """Which model embeds a knowledge base: a local GGUF model (by Studio model id) or an OpenAI-compatible
    endpoint (`base_url` + `model`; its API key lives in the OS keyring, never here)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    provider: Literal["local", "openai_api_compatible"] = "local"
    model: str = "all-minilm-l6-v2"
    base_url: str = ""


class RetrievalSettings(BaseModel):
    """Dify's dataset `retrieval_model`."""

    model_config = ConfigDict(extra="ignore")

    search_method: str = "hybrid_search"
    top_k: int = Field(default=4, ge=1, le=100)
    score_threshold_enabled: bool = False
    score_threshold: float = Field(default=0.0, ge=0.0, le=1.0)
    reranking_enable: bool = False
    reranking_mode: Literal["reranking_model", "weighted_score", "reciprocal_rank_fusion"] = "weighted_score"
    reranking_model: dict[str, Any] = Field(default_factory=dict)  # {reranking_provider_name, reranking_model_name}
    # Equal weights measured best across English, Chinese and Korean with the bundled MiniLM (RESULTS.md);
    # Dify's 0.7/0.3 "semantic first" suits stronger multilingual embedding models.
    vector_weight: float = Field(default=0.5, ge=0.0, le=1.0)
    keyword_weight: float = Field(default=0.5, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _method(self) -> RetrievalSettings:
        self.search_method = normalize_mode(self.search_method)
        return self

    @classmethod
    def from_dify(cls, data: dict[str, Any] | None) -> RetrievalSettings:
        data = dict(data or {})
        weights = data.pop("weights", None) or {}
        if isinstance(weights, dict):
            vector = (weights.get("vector_setting") or {}).get("vector_weight")
            keyword = (weights.get("keyword_setting") or {}).get("keyword_weight")
            if vector is not None:
                data["vector_weight"] = vector
            if keyword is not None:
                data["keyword_weight"] = keyword
        data = {k: v for k, v in data.items() if v is not None}
        try:
            return cls(**data)
        except ValueError as exc:
            raise ValidationError(f"invalid retrieval settings: {exc}") from None


class MetadataField(BaseModel):
    """A metadata field declared on a knowledge base; documents hold its values under its name."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    type: Literal["string", "number", "time"] = "string"


class KbTag(BaseModel):
    """A knowledge tag and how many knowledge bases carry it."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    binding_count: int = 0


class Dataset(BaseModel):
    """A knowledge base (Dify calls it a dataset)."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    description: str = ""
    embedding: EmbeddingChoice = Field(default_factory=EmbeddingChoice)
    dimension: int = 0  # set when the first chunk is embedded
    process_rule: ProcessRule = Field(default_factory=ProcessRule)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    index_name: str = ""
    metadata_fields: tuple[MetadataField, ...] = ()
    built_in_metadata: bool = True  # Dify's built-in fields (document_name, upload_date...) usable in filters
    document_count: int = 0
    segment_count: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None


class KbDocument(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    dataset_id: str
    name: str
    source_path: str = ""
    content_hash: str = ""
    size_bytes: int = 0
    status: DocumentStatus = DocumentStatus.WAITING
    error: str = ""
    position: int = 0
    title: str = ""
    doc_metadata: dict[str, Any] = Field(default_factory=dict)
    word_count: int = 0
    segment_count: int = 0
    indexed_count: int = 0
    enabled: bool = True
    created_at: datetime | None = None
    completed_at: datetime | None = None


class Segment(BaseModel):
    """A chunk as Studio stores it. In parent-child knowledge bases the children are what gets embedded; the
    parent is what a search returns."""

    model_config = ConfigDict(frozen=True)

    id: str
    dataset_id: str
    document_id: str
    position: int
    content: str
    start: int = 0
    end: int = 0
    word_count: int = 0
    enabled: bool = True
    hit_count: int = 0
    index_node_hash: str = ""
    children: tuple[ChildChunk, ...] = ()


class ChildChunk(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    segment_id: str
    position: int
    content: str
    start: int = 0
    end: int = 0


Segment.model_rebuild()
