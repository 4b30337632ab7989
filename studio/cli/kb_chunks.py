"""`studio kb list | set | remove | chunks | chunk`: list knowledge bases and documents, change search settings,
remove documents, list a document's chunks, switch chunks on or off and edit them (Dify's document and chunk
pages); and the display-width helpers the kb commands share."""

from __future__ import annotations

import json
import sys
import unicodedata
from pathlib import Path

from studio.cli.output import print_json

MODES = {"semantic": "semantic_search", "full_text": "full_text_search", "hybrid": "hybrid_search"}
FUSIONS = {"weighted": "weighted_score", "rrf": "reciprocal_rank_fusion"}
PENDING = ("waiting", "parsing", "indexing")


def register(kb) -> None:
    p = kb.add_parser("remove", help="remove documents (by name, source path or id) and their chunks")
    p.add_argument("name", metavar="KB")
    p.add_argument("documents", nargs="+", metavar="DOCUMENT")
    p.set_defaults(handler=_remove)

    p = kb.add_parser("chunks", help="a document's chunks: position, id, size, hits, enabled, text")
    p.add_argument("name", metavar="KB")
    p.add_argument("document", metavar="DOCUMENT", help="document name, source path or id")
    p.add_argument("--keyword", metavar="K", default="", help="only chunks containing K")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_chunks)

    p = kb.add_parser("chunk", help="switch a chunk on or off for search, or edit its text (re-embedded at once)")
    p.add_argument("chunk_id", metavar="CHUNK_ID", help="a chunk's or child chunk's id (`studio kb chunks`)")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--enable", action="store_true")
    g.add_argument("--disable", action="store_true")
    g.add_argument("--edit", metavar="TEXT", help="replace the chunk's text")
    g.add_argument("--edit-file", metavar="FILE", help="replace the chunk's text with this file's (- for stdin)")
    p.set_defaults(handler=_chunk)


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def message_alone(name: str, message: str) -> str:
    """A loader's message already names the file: drop a leading "name: "."""
    return message.removeprefix(f"{name}: ")


# -- display width: East Asian wide and full-width characters take two columns -----------------------------------
def width(text: str) -> int:
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def fit(text: str, columns: int) -> str:
    """Text cut to at most `columns` display columns, with … when cut."""
    if width(text) <= columns:
        return text
    out, used = [], 0
    for c in text:
        w = width(c)
        if used + w > columns - 1:
            break
        out.append(c)
        used += w
    return "".join(out) + "…" if columns > 0 else ""


def pad(text: str, columns: int) -> str:
    return text + " " * max(0, columns - width(text))


def table(rows: list[list[str]], headers: list[str]) -> None:
    widths = [max(width(str(x)) for x in col) for col in zip(headers, *rows)]
    for line in [headers, *rows]:
        print("  ".join(pad(str(x), w) for x, w in zip(line, widths)).rstrip())


def find_document(services, kb: str, ref: str):
    """A knowledge base's document by id, source path or name; a clear error when none or several match."""
    from studio.core.errors import NotFoundError, ValidationError

    docs = services.knowledge.documents(kb)
    for match in ([d for d in docs if d.id == ref],
                  [d for d in docs if d.source_path == str(Path(ref).expanduser().resolve())],
                  [d for d in docs if d.name == ref]):
        if len(match) == 1:
            return match[0]
        if len(match) > 1:
            raise ValidationError(f"{len(match)} documents are named {ref!r}; give a source path or id: "
                                  + ", ".join(d.source_path or d.id for d in match))
    raise NotFoundError(f"No document {ref!r} in {kb}; `studio kb list {kb}` shows its documents")


def _remove(services, args) -> int:
    docs = [find_document(services, args.name, ref) for ref in args.documents]  # all found before any goes
    for doc in {d.id: d for d in docs}.values():
        services.knowledge.delete_document(doc.id)
        print(f"removed {doc.source_path or doc.name}", file=sys.stderr)
    return 0


def _chunks(services, args) -> int:
    doc = find_document(services, args.name, args.document)
    segments, offset = [], 0
    while True:
        page = services.knowledge.segments(doc.id, keyword=args.keyword, offset=offset, limit=500)
        segments += page
        offset += len(page)
        if len(page) < 500:
            break
    if args.json:
        print_json([s.model_dump(mode="json") for s in segments])
        return 0
    if not segments:
        print("no chunks match" if args.keyword else f"{doc.name} has no chunks yet", file=sys.stderr)
        return 0
    rows = []
    for s in segments:
        rows.append([f"#{s.position}", s.id, str(len(s.content)), str(s.hit_count), "yes" if s.enabled else "no",
                     fit(" ".join(s.content.split()), 50)])
        for c in s.children:
            rows.append([f"  .{c.position}", c.id, str(len(c.content)), "", "", fit(" ".join(c.content.split()), 50)])
    table(rows, ["#", "ID", "CHARS", "HITS", "ON", "TEXT"])
    return 0


def _chunk(services, args) -> int:
    from studio.core.errors import NotFoundError, ValidationError

    content = args.edit
    if args.edit_file is not None:
        try:
            content = sys.stdin.read() if args.edit_file == "-" else Path(args.edit_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValidationError(f"cannot read {args.edit_file}: {getattr(exc, 'strerror', None) or exc}") from None
    enabled = True if args.enable else False if args.disable else None
    try:
        seg = services.knowledge.update_segment(args.chunk_id, content=content, enabled=enabled)
        what = f"chunk #{seg.position}"
    except NotFoundError:
        if content is None:
            raise NotFoundError(f"No chunk with id {args.chunk_id!r} (a child chunk is switched on or off with its "
                                "parent chunk)") from None
        try:
            seg = services.knowledge.update_child_chunk(args.chunk_id, content=content)
        except NotFoundError:
            raise NotFoundError(f"No chunk or child chunk with id {args.chunk_id!r}; `studio kb chunks KB "
                                "DOCUMENT` lists them") from None
        what = f"child chunk of chunk #{seg.position}"
    done = "edited" if content is not None else "enabled" if enabled else "disabled"
    print(f"{done} {what}", file=sys.stderr)
    return 0


def set_retrieval(services, args) -> int:
    from studio.core.errors import ValidationError

    dataset = services.knowledge.get(args.name)
    update: dict = {}
    if args.mode:
        update["search_method"] = MODES[args.mode]
    if args.top_k is not None:
        update["top_k"] = args.top_k
    if args.threshold is not None:
        update.update(score_threshold_enabled=True, score_threshold=args.threshold)
    if args.no_threshold:
        update["score_threshold_enabled"] = False
    if args.weights:
        update.update(vector_weight=args.weights[0], keyword_weight=args.weights[1])
    if args.fusion:
        update.update(reranking_mode=FUSIONS[args.fusion], reranking_enable=False)
    if args.rerank:
        if not services.knowledge.has_reranker(args.rerank):
            raise ValidationError(f"{args.rerank} is not an installed reranking model (see `studio models list`)")
        update.update(reranking_enable=True, reranking_mode="reranking_model",
                      reranking_model={"reranking_model_name": args.rerank})
    if args.no_rerank:
        update["reranking_enable"] = False
        if dataset.retrieval.reranking_mode == "reranking_model":
            update["reranking_mode"] = "weighted_score"
    retrieval = dataset.retrieval.model_copy(update=update) if update else None
    dataset = services.knowledge.update(dataset.id, name=args.new_name, description=args.description,
                                        retrieval=retrieval)
    if args.json:
        print_json(json.loads(dataset.model_dump_json(include={"id", "name", "description", "retrieval"})))
        return 0
    r = dataset.retrieval
    mode = next((k for k, v in MODES.items() if v == r.search_method), r.search_method)
    if r.reranking_enable and r.reranking_mode == "reranking_model":
        ranking = f"rerank with {r.reranking_model.get('reranking_model_name', '?')}"
    elif r.reranking_mode == "reciprocal_rank_fusion":
        ranking = "reciprocal rank fusion"
    else:
        ranking = f"weighted (semantic {r.vector_weight:g}, keyword {r.keyword_weight:g})"
    table([["name", dataset.name], ["description", dataset.description or "-"], ["mode", mode],
           ["top-k", str(r.top_k)], ["threshold", f"{r.score_threshold:g}" if r.score_threshold_enabled else "off"],
           ["ranking", ranking if r.search_method == "hybrid_search" or r.reranking_enable
            else f"{ranking} (hybrid mode only)"]],
          ["SETTING", "VALUE"])
    return 0


def _embedding_label(choice) -> str:
    return f"{choice.model} @ {choice.base_url}" if choice.provider == "openai_api_compatible" else choice.model


def list_kb(services, args) -> int:
    if args.name:
        return _list_documents(services, args)
    datasets = services.knowledge.list()
    if args.json:
        print_json([json.loads(d.model_dump_json()) for d in datasets])
    else:
        table([[d.name, str(d.document_count), str(d.segment_count), _embedding_label(d.embedding),
                d.retrieval.search_method, d.id] for d in datasets],
              ["NAME", "DOCS", "CHUNKS", "EMBEDDING", "SEARCH", "ID"])
    return 0


def _list_documents(services, args) -> int:
    dataset = services.knowledge.get(args.name)
    docs = services.knowledge.documents(dataset.id)
    running = any(d.status.value in PENDING for d in docs) and services.knowledge.ingesting_elsewhere(dataset.id)
    if args.json:
        out = []
        for d in docs:
            item = json.loads(d.model_dump_json())
            if d.status.value in PENDING and not running:
                item["status"] = "interrupted"
            out.append(item)
        print_json(out)
        return 0
    rows, errors, interrupted = [], [], False
    for d in docs:
        status = d.status.value
        if status in PENDING and not running:
            status, interrupted = "interrupted", True
        elif status == "paused":
            status = f"paused ({d.indexed_count}/{d.segment_count} chunks embedded)"
        elif status == "error" and d.error:
            errors.append(f"{d.name}: {message_alone(d.name, d.error)}")
            status = f"error ({len(errors)})"
        rows.append([d.name, status, str(d.segment_count)])
    table(rows, ["DOCUMENT", "STATUS", "CHUNKS"])
    if errors:
        print()
        for n, error in enumerate(errors, start=1):
            print(f"({n}) {error}")
    if interrupted:
        print(f"\nindexing was interrupted; `studio kb resume {dataset.name}` finishes it", file=sys.stderr)
    return 0
