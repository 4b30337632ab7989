"""The LanceDB store of one knowledge base: one table holding each segment's vector, content and full-text
tokens, searched by cosine similarity or BM25, always restricted to enabled segments."""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import lancedb
import numpy as np
import pyarrow as pa
from lancedb.index import FTS, Bitmap, BTree, IvfSq
from lancedb.query import BooleanQuery, MatchQuery, Occur, PhraseQuery

from studio.core.errors import ValidationError
from studio.knowledge import fts_tokens
from studio.knowledge.vector_cache import VectorCache, fits

log = logging.getLogger(__name__)

# Below this many rows an exact (flat) scan is fast (~14 ms at 20k, 384-d) and exact; from it on, optimize()
# builds an IVF_SQ index (100k rows: 163 ms flat against ~7 ms; see tests/bench/RESULTS.md).
ANN_MIN_ROWS = 20_000
ANN_ROWS_PER_PARTITION = 3_000
# Partitions searched, then the best k x refine re-ranked on the full vectors: recall@10 vs exact >= 0.95.
ANN_NPROBES = 12
ANN_REFINE = 4
# Fold new rows into the indexes while ingesting once this many are outside them (or this many small writes
# piled up): LanceDB scans unindexed rows per query, ~20 µs a row for each full-text clause.
AUTO_OPTIMIZE_ROWS = 1024
AUTO_OPTIMIZE_WRITES = 32
# Files of versions older than this go at optimize(); a query that started before then has long finished.
KEEP_OLD_VERSIONS = timedelta(minutes=1)
_IN_CHUNK = 500  # ids per `IN (...)` list


@dataclass
class IndexRow:
    segment_id: str
    document_id: str
    content: str
    vector: np.ndarray  # float32, L2-normalised
    enabled: bool = True


@dataclass(frozen=True)
class Hit:
    segment_id: str
    score: float


def _quote(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _in_list(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(_quote(v) for v in values)})"


def _chunks(values: Iterable[str]) -> Iterable[list[str]]:
    items = list(dict.fromkeys(values))
    for i in range(0, len(items), _IN_CHUNK):
        yield items[i:i + _IN_CHUNK]


class KnowledgeIndex:
    """One knowledge base's table. Thread-safe: searches run concurrently; writes are serialised by a lock.
    Keep one instance per knowledge base per process; writes by another process show up within a second."""

    def __init__(self, root: Path, name: str, dimension: int) -> None:
        if dimension <= 0:
            raise ValidationError(f"vector dimension must be positive, got {dimension}")
        self.root = Path(root)
        self.name = name
        self.dimension = dimension
        self._lock = threading.Lock()
        self.root.mkdir(parents=True, exist_ok=True)
        # Another Studio process (the CLI beside the GUI) may write the same table: see its commits within a second.
        self._db = lancedb.connect(str(self.root), read_consistency_interval=timedelta(seconds=1))
        self._schema = pa.schema([
            pa.field("segment_id", pa.string(), nullable=False),
            pa.field("document_id", pa.string(), nullable=False),
            pa.field("enabled", pa.bool_(), nullable=False),
            pa.field("content", pa.string()),
            pa.field("fts", pa.string()),
            pa.field("vector", pa.list_(pa.float32(), dimension)),
        ])
        self._table = self._open_or_create()
        self._writes_since_compact = 0
        self._rows_since_compact = 0
        self._indexed: set[str] = {ix.name for ix in self._table.list_indices()}
        # Indexes built on the empty table from the start cover every later row (unindexed rows are scanned
        # until optimize() folds them in); a full-text query needs its index to exist at all.
        self._ensure_indexes()
        self._any_disabled = self._table.count_rows("enabled = false") > 0
        self._cache: VectorCache | None = None  # vectors in memory for exact search (see vector_cache)
        self._cache_lock = threading.Lock()

    def _open_or_create(self):
        try:
            table = self._db.open_table(self.name)
        except (FileNotFoundError, ValueError):
            return self._db.create_table(self.name, schema=self._schema, exist_ok=True)
        stored = table.schema.field("vector").type
        size = getattr(stored, "list_size", None)
        if size != self.dimension:
            raise ValidationError(
                f"knowledge index {self.name} holds {size}-dimensional vectors but the embedding model gives "
                f"{self.dimension}; re-index the knowledge base to change its embedding model")
        return table

    # ---- writes -------------------------------------------------------------------------------------------

    def _vector(self, vector) -> np.ndarray:
        arr = np.asarray(vector, dtype=np.float32).reshape(-1)
        if arr.shape[0] != self.dimension:
            raise ValidationError(f"vector has {arr.shape[0]} dimensions, the knowledge index expects "
                                  f"{self.dimension}")
        return arr

    def add(self, rows: Sequence[IndexRow]) -> None:
        if not rows:
            return
        vectors = np.stack([self._vector(r.vector) for r in rows])
        batch = pa.Table.from_arrays([
            pa.array([r.segment_id for r in rows], pa.string()),
            pa.array([r.document_id for r in rows], pa.string()),
            pa.array([bool(r.enabled) for r in rows], pa.bool_()),
            pa.array([r.content for r in rows], pa.string()),
            pa.array([fts_tokens.index_text(r.content) for r in rows], pa.string()),
            pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1), pa.float32()), self.dimension),
        ], schema=self._schema)
        with self._lock:
            self._any_disabled = self._any_disabled or not all(r.enabled for r in rows)
            self._table.add(batch)
            self._after_write(len(rows))

    def _after_write(self, rows: int = 0) -> None:
        """Many small appends leave many small files that every query opens, and rows outside the indexes are
        scanned; so fold them in now and then (LanceDB's optimize is incremental: it merges files and appends
        the new rows to each index without rebuilding it)."""
        self._cache = None
        self._writes_since_compact += 1
        self._rows_since_compact += rows
        if self._any_disabled and not rows:
            self._any_disabled = self._table.count_rows("enabled = false") > 0
        if (self._writes_since_compact >= AUTO_OPTIMIZE_WRITES
                or self._rows_since_compact >= AUTO_OPTIMIZE_ROWS):
            self._optimize_locked()

    def delete_segments(self, segment_ids: Iterable[str]) -> None:
        with self._lock:
            for chunk in _chunks(segment_ids):
                self._table.delete(_in_list("segment_id", chunk))
                self._after_write()

    def delete_document(self, document_id: str) -> None:
        with self._lock:
            self._table.delete(f"document_id = {_quote(document_id)}")
            self._after_write()

    def set_enabled(self, segment_ids: Iterable[str], enabled: bool) -> None:
        with self._lock:
            if not enabled:
                self._any_disabled = True  # before the write, so no search sees a disabled row unfiltered
            for chunk in _chunks(segment_ids):
                self._table.update(where=_in_list("segment_id", chunk), values={"enabled": bool(enabled)})
                self._after_write()

    def update_content(self, segment_id: str, content: str, vector) -> None:
        """A user edited a chunk: new text, tokens and vector; its document and enabled flag stay."""
        vec = self._vector(vector)
        with self._lock:
            self._table.update(where=f"segment_id = {_quote(segment_id)}",
                               values={"content": content, "fts": fts_tokens.index_text(content),
                                       "vector": vec.tolist()})
            self._after_write()

    # ---- searches -----------------------------------------------------------------------------------------

    def _filter(self, document_ids: Sequence[str] | None) -> str | None:
        """"" for no filter; None when nothing can match (an empty document list). A prefilter costs ~8 ms at
        100k rows even when it keeps every row, so `enabled` is only tested while some row is disabled."""
        clauses = ["enabled = true"] if self._any_disabled else []
        if document_ids is not None:
            ids = list(dict.fromkeys(document_ids))
            if not ids:
                return None
            clauses.append(_in_list("document_id", ids))
        return " AND ".join(clauses)

    def _cached(self) -> VectorCache | None:
        """The in-memory snapshot when the table fits the memory budget; reloaded after any write (ours, or
        another process's: the table's version tells)."""
        version = self._table.version
        cache = self._cache
        if cache is not None and cache.version == version:
            return cache
        with self._cache_lock:
            cache = self._cache
            if cache is not None and cache.version == version:
                return cache
            rows = self._table.count_rows()
            if not fits(rows, self.dimension):
                return None
            table = (self._table.search().select(["segment_id", "document_id", "enabled", "vector"])
                     .limit(None).to_arrow())
            cache = VectorCache(table.column("segment_id").to_pylist(), table.column("document_id").to_pylist(),
                                table.column("enabled").to_pylist(), self._matrix(table), version)
            self._cache = cache
            return cache

    def vector_search(self, vector, k: int, document_ids: Sequence[str] | None = None) -> list[Hit]:
        """Cosine similarity (1 = same direction), best first; exact, from memory, when the table fits."""
        vec = self._vector(vector)
        where = self._filter(document_ids)
        if k <= 0 or where is None:
            return []
        cache = self._cached()
        if cache is not None:
            return [Hit(sid, score) for sid, score in cache.search(vec, k, document_ids)]
        query = (self._table.search(vec, vector_column_name="vector").distance_type("cosine")
                 .select(["segment_id", "_distance"]).limit(k))
        if where:
            query = query.where(where, prefilter=True)
        if "vector_idx" in self._indexed:
            query = query.nprobes(ANN_NPROBES).refine_factor(ANN_REFINE)
        table = query.to_arrow()
        ids = table.column("segment_id").to_pylist()
        dist = table.column("_distance").to_numpy()
        return [Hit(s, float(1.0 - d)) for s, d in zip(ids, dist)]

    def text_search(self, query: str, k: int, document_ids: Sequence[str] | None = None, *,
                    phrase_boost: bool = True) -> list[Hit]:
        """BM25 over the `fts` tokens, best first. Words in double quotes must appear as that exact phrase;
        otherwise any word matches, and with `phrase_boost` passages holding the words side by side rank higher
        (that clause costs ~18 ms at 100k rows, against ~6 ms for the rest; hybrid search leaves it out)."""
        parsed = fts_tokens.parse_query(query)
        where = self._filter(document_ids)
        if k <= 0 or where is None or parsed.empty:
            return []
        clauses: list[tuple[Occur, object]] = [(Occur.MUST, PhraseQuery(p, "fts")) for p in parsed.phrases]
        clauses.append((Occur.SHOULD, MatchQuery(parsed.terms, "fts")))
        if parsed.boost_phrase and phrase_boost:
            clauses.append((Occur.SHOULD, PhraseQuery(parsed.boost_phrase, "fts")))
        fts_query = clauses[0][1] if len(clauses) == 1 else BooleanQuery(clauses)
        search = self._table.search(fts_query, query_type="fts").select(["segment_id", "_score"]).limit(k)
        if where:
            search = search.where(where, prefilter=True)
        table = search.to_arrow()
        ids = table.column("segment_id").to_pylist()
        scores = table.column("_score").to_numpy()
        return [Hit(s, float(x)) for s, x in zip(ids, scores)]

    def vectors(self, segment_ids: Iterable[str]) -> dict[str, np.ndarray]:
        cache = self._cached()
        if cache is not None:
            return cache.vectors(segment_ids)
        out: dict[str, np.ndarray] = {}
        for chunk in _chunks(segment_ids):
            table = (self._table.search().where(_in_list("segment_id", chunk))
                     .select(["segment_id", "vector"]).limit(len(chunk)).to_arrow())
            out.update(zip(table.column("segment_id").to_pylist(), self._matrix(table)))
        return out

    def _matrix(self, table) -> np.ndarray:
        flat = table.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False)
        return flat.reshape(-1, self.dimension).astype(np.float32, copy=False)

    def segment_ids(self) -> set[str]:
        table = self._table.search().select(["segment_id"]).limit(None).to_arrow()
        return set(table.column("segment_id").to_pylist())

    def count(self) -> int:
        return self._table.count_rows()

    # ---- maintenance --------------------------------------------------------------------------------------

    def optimize(self) -> None:
        """After a batch of writes: merge small files, bring every index up to date (building the ANN index once
        the table is big enough), and drop the files of old versions."""
        with self._lock:
            started = time.perf_counter()
            self._optimize_locked()
            log.info("optimized %s in %.1f s", self.name, time.perf_counter() - started)

    def _optimize_locked(self) -> None:
        self._table.optimize(cleanup_older_than=KEEP_OLD_VERSIONS)
        self._writes_since_compact = self._rows_since_compact = 0
        if "vector_idx" not in self._indexed:
            rows = self._table.count_rows()
            if rows >= ANN_MIN_ROWS:
                self._build_ann(rows)

    def _ensure_indexes(self) -> None:
        # Our tokens are already split and lower-cased; the FTS index only stems English words. Stop words
        # stay: removing them would break phrases such as "to be or not to be".
        fts = FTS(base_tokenizer="whitespace", with_position=True, stem=True, language="English",
                  remove_stop_words=False, ascii_folding=True, max_token_length=64)
        for column, config in (("segment_id", BTree()), ("document_id", BTree()), ("enabled", Bitmap()),
                               ("fts", fts)):
            if f"{column}_idx" not in self._indexed:
                self._table.create_index(column, config=config, name=f"{column}_idx")
                self._indexed.add(f"{column}_idx")

    def _build_ann(self, rows: int) -> None:
        # IVF_SQ rather than IVF_HNSW_SQ: at 100k rows it builds in ~4 s against ~37 s on two cores, with the
        # same latency once refined; later rows join their nearest partition at each optimize().
        partitions = max(8, rows // ANN_ROWS_PER_PARTITION)
        self._table.create_index("vector", config=IvfSq(distance_type="cosine", num_partitions=partitions),
                                 name="vector_idx", replace=True)
        self._indexed.add("vector_idx")

    def drop(self) -> None:
        with self._lock:
            try:
                self._db.drop_table(self.name)
            except (FileNotFoundError, ValueError):
                shutil.rmtree(self.root / f"{self.name}.lance", ignore_errors=True)
            self._indexed.clear()
