"""`studio kb`: create knowledge bases, add files with a progress bar, and search them.
Listing, settings, and document and chunk editing live in kb_chunks."""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import time
from pathlib import Path

from studio.cli import kb_chunks
from studio.cli.interrupt import watch
from studio.cli.kb_chunks import FUSIONS, MODES, fit, message_alone, plural, width
from studio.cli.output import print_json
from studio.core.cancel import CancelToken
from studio.core.knowledge import MAX_CHUNK, MIN_CHUNK, SUPPORTED_EXTENSIONS



# -- argument types: a bad value is a usage error (exit 2) with one plain sentence -----------------------------
def _int_range(low: int, high: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be a whole number from {low} to {high}, got {text!r}")
        return value
    return parse


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 1, got {text!r}")
    return value


def _weights(text: str) -> tuple[float, float]:
    parts = [p.strip() for p in text.split(",")]
    try:
        values = [_fraction(p) for p in parts] if 1 <= len(parts) <= 2 else None
    except argparse.ArgumentTypeError:
        values = None
    if values and len(values) == 1:
        values.append(round(1.0 - values[0], 6))
    if not values or abs(sum(values) - 1.0) > 1e-6:
        raise argparse.ArgumentTypeError(f"must be a vector weight and a keyword weight that add up to 1, "
                                         f"like 0.7,0.3; got {text!r}")
    return values[0], values[1]


TOP_K = _int_range(1, 100)


class _FilterAction(argparse.Action):
    """`--filter NAME OP VALUE`: one of Dify's manual metadata conditions."""

    def __call__(self, parser, namespace, values, option_string=None):
        from studio.services.knowledge import metadata_filter

        name, op, value = (v.strip() for v in values)
        op = " ".join(op.lower().split())
        if op not in metadata_filter.OPERATORS:
            parser.error(f"{option_string} {name} {values[1]!r}: the operator must be one of "
                         f"{', '.join(metadata_filter.OPERATORS)}")
        if not value and op not in ("empty", "not empty"):
            parser.error(f"{option_string} {name} {op!r} needs a value")
        condition = {"name": name, "comparison_operator": op, "value": None if op.endswith("empty") else value}
        setattr(namespace, self.dest, [*(getattr(namespace, self.dest) or []), condition])


def register(sub) -> None:
    kb = sub.add_parser("kb", help="knowledge bases").add_subparsers(dest="kb_command", metavar="ACTION")
    p = kb.add_parser("create", help="create a knowledge base; prints its id")
    p.add_argument("name")
    p.add_argument("--chunk-size", type=int, metavar="N",
                   help=f"max characters per chunk ({MIN_CHUNK}-{MAX_CHUNK}, default 500)")
    p.add_argument("--overlap", type=int, metavar="N", help="characters shared by neighbouring chunks (default 50, "
                                                            "lowered to fit a smaller --chunk-size)")
    p.add_argument("--separator", metavar="S", help=r"split here first (default \n\n; escapes like \n work)")
    p.add_argument("--parent-child", choices=["paragraph", "full-doc"],
                   help="parent-child chunks: search small children, return their parent")
    p.add_argument("--child-size", type=_int_range(MIN_CHUNK, MAX_CHUNK), metavar="N",
                   help=f"with --parent-child: max characters per child chunk ({MIN_CHUNK}-{MAX_CHUNK}, default 200)")
    p.add_argument("--child-separator", metavar="S", help=r"with --parent-child: split children here (default \n)")
    p.add_argument("--description", default="")
    _embedding_options(p, "embed with this local embedding model (`studio models list`; default all-minilm-l6-v2)")
    p.set_defaults(handler=_create)

    p = kb.add_parser("add", help="add files or folders and index them (re-adding an unchanged file does nothing)")
    p.add_argument("name", metavar="KB")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--json", action="store_true", help="print a JSON report instead of the progress bar")
    p.set_defaults(handler=_add)

    p = kb.add_parser("resume", help="finish indexing that was interrupted, cancelled or stopped by an "
                                     "embedding error")
    p.add_argument("name", metavar="KB")
    p.set_defaults(handler=lambda s, a: _ingest(s, s.knowledge.get(a.name), as_json=False))

    p = kb.add_parser("rebuild", help="embed every chunk again into a fresh index (e.g. with another model)")
    p.add_argument("name", metavar="KB")
    _embedding_options(p, "switch to this local embedding model")
    p.set_defaults(handler=_rebuild)

    p = kb.add_parser("search", help="retrieval testing: ranked chunks for a query")
    p.add_argument("name", metavar="KB")
    p.add_argument("query")
    p.add_argument("--mode", choices=list(MODES), help="default: the knowledge base's own")
    p.add_argument("--top-k", type=TOP_K, metavar="N", help="how many chunks (1-100)")
    p.add_argument("--threshold", type=_fraction, metavar="S", help="drop results scoring below S (0-1)")
    p.add_argument("--filter", nargs=3, action=_FilterAction, dest="filters", metavar=("NAME", "OP", "VALUE"),
                   help="only documents whose metadata matches, e.g. --filter author is alice or --filter "
                        "document_name 'start with' guide (OP: is, is not, contains, not contains, start with, "
                        "end with, =, ≠, <, >, <=, >=, before, after, in (VALUE a,b), not in, empty, not empty "
                        "(VALUE ignored: give '')); built-in names: document_name, source; repeatable")
    p.add_argument("--any", action="store_true", help="with several --filter: match any of them, not all")
    p.add_argument("--rerank", metavar="MODEL_ID", help="rescore the best candidates with this reranking model")
    p.add_argument("--json", action="store_true", help="print Dify's retriever_resources items")
    p.set_defaults(handler=_search)

    p = kb.add_parser("set", help="change a knowledge base's name, description or search settings")
    p.add_argument("name", metavar="KB")
    p.add_argument("--mode", choices=list(MODES), help="search mode")
    p.add_argument("--top-k", type=TOP_K, metavar="N", help="how many chunks a search returns (1-100)")
    t = p.add_mutually_exclusive_group()
    t.add_argument("--threshold", type=_fraction, metavar="S", help="drop results scoring below S (0-1)")
    t.add_argument("--no-threshold", action="store_true", help="keep results whatever their score")
    p.add_argument("--weights", type=_weights, metavar="V,K",
                   help="hybrid search: semantic and keyword weights adding up to 1, e.g. 0.7,0.3")
    r = p.add_mutually_exclusive_group()
    r.add_argument("--fusion", choices=list(FUSIONS), help="hybrid search: weighted scores or reciprocal rank fusion")
    r.add_argument("--rerank", metavar="MODEL_ID", help="rescore the best candidates with this reranking model")
    r.add_argument("--no-rerank", action="store_true", help="stop reranking")
    p.add_argument("--name", dest="new_name", metavar="NEW", help="rename the knowledge base")
    p.add_argument("--description")
    p.add_argument("--json", action="store_true", help="print the resulting settings as JSON")
    p.set_defaults(handler=kb_chunks.set_retrieval)

    p = kb.add_parser("list", help="knowledge bases, or one knowledge base's documents")
    p.add_argument("name", metavar="KB", nargs="?")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=kb_chunks.list_kb)

    kb_chunks.register(kb)

    p = kb.add_parser("delete", help="delete a knowledge base and its index")
    p.add_argument("name", metavar="KB")
    p.set_defaults(handler=lambda s, a: s.knowledge.delete(a.name))


def _embedding_options(p, model_help: str) -> None:
    p.add_argument("--embedding-model", metavar="MODEL_ID",
                   help=model_help + "; with --embedding-url, the model name the endpoint serves")
    p.add_argument("--embedding-url", metavar="URL",
                   help="embed through an OpenAI-compatible endpoint instead, e.g. http://127.0.0.1:8080/v1 "
                        "(llama.cpp server, Ollama, vLLM…); needs --embedding-model. No API key is sent: use a "
                        "local endpoint that needs none")


def _embedding(services, args):
    """The EmbeddingChoice the options ask for, or None for the default (create) or the current one (rebuild)."""
    from studio.core.errors import ValidationError
    from studio.core.knowledge import EmbeddingChoice

    if args.embedding_url is not None:
        if not args.embedding_model:
            raise ValidationError("--embedding-url needs --embedding-model: the model name the endpoint serves")
        return EmbeddingChoice(provider="openai_api_compatible", model=args.embedding_model,
                               base_url=args.embedding_url)
    if not args.embedding_model:
        return None
    from studio.core.entities import ModelKind

    model = services.models.get(args.embedding_model)  # NotFoundError names the id
    if model.kind != ModelKind.EMBEDDING:
        raise ValidationError(f"{args.embedding_model} is a chat model, not an embedding model")
    return EmbeddingChoice(provider="local", model=model.id)


def _create(services, args) -> int:
    from studio.core.errors import ValidationError
    from studio.core.knowledge import ProcessRule, Segmentation

    rule = None
    if args.parent_child:
        child = ProcessRule().subchunk_segmentation
        child = Segmentation(separator=child.separator if args.child_separator is None else args.child_separator,
                             max_tokens=args.child_size or child.max_tokens, chunk_overlap=0)
        rule = ProcessRule(mode="hierarchical", parent_mode=args.parent_child, subchunk_segmentation=child)
    elif args.child_size is not None or args.child_separator is not None:
        raise ValidationError("--child-size and --child-separator only apply with --parent-child")
    dataset = services.knowledge.create(args.name, description=args.description, process_rule=rule,
                                        chunk_size=args.chunk_size, overlap=args.overlap, separator=args.separator,
                                        embedding=_embedding(services, args))
    print(dataset.id)
    return 0


def _full(path: str) -> str:
    return str(Path(path).expanduser().resolve())


def _has_supported(folder: Path) -> bool:
    for child in folder.rglob("*"):
        rel = child.relative_to(folder).parts
        if child.suffix.lower() in SUPPORTED_EXTENSIONS and child.is_file() and not any(p.startswith(".")
                                                                                        for p in rel):
            return True
    return False


def _add(services, args) -> int:
    empty = [p for p in args.paths if Path(p).expanduser().is_dir() and not _has_supported(Path(p).expanduser())]
    for path in empty:
        print(f"no supported files found in {path}", file=sys.stderr)
    plan = services.knowledge.add(args.name, args.paths)
    for path, reason in plan.skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    found = plan.queued or plan.replaced or plan.resumed or plan.unchanged or plan.duplicates
    if not found and (empty or plan.skipped):
        return 1
    if not args.json:
        for path in plan.duplicates:
            print(f"skipped {path}", file=sys.stderr)
        print(f"{len(plan.queued)} new, {len(plan.replaced)} changed, {len(plan.resumed)} to resume, "
              f"{len(plan.unchanged)} unchanged", file=sys.stderr)
    return _ingest(services, services.knowledge.get(args.name), as_json=args.json, plan=plan)


def _rebuild(services, args) -> int:
    dataset = services.knowledge.rebuild(args.name, _embedding(services, args))
    return _ingest(services, dataset, as_json=False)


def _ingest(services, dataset, *, as_json: bool, plan=None) -> int:
    cancel = watch(CancelToken())
    bar = _Bar(enabled=not as_json and sys.stderr.isatty())
    report = services.knowledge.ingest(dataset.id, cancel=cancel, on_progress=bar.update)
    bar.close()
    failed = _failed_paths(services, dataset, report.failed)
    for path, message in failed:
        print(f"failed {path}: {message}", file=sys.stderr)
    if report.embedding_error:
        print(f"the chunks are saved; once the embedder works, `studio kb resume {dataset.name}` embeds them",
              file=sys.stderr)
    if as_json:
        print_json({"dataset_id": dataset.id,
                    "queued": [d.source_path for d in plan.queued] if plan else [],
                    "unchanged": plan.unchanged if plan else [], "replaced": plan.replaced if plan else [],
                    "resumed": plan.resumed if plan else [], "duplicates": plan.duplicates if plan else [],
                    "skipped": [{"path": _full(p), "reason": r} for p, r in plan.skipped] if plan else [],
                    "documents": report.documents, "completed": report.documents - len(failed),
                    "failed": [{"path": p, "error": m} for p, m in failed], "chunks": report.chunks,
                    "cancelled": report.cancelled, "elapsed_s": round(report.elapsed_s, 3)})
    elif report.cancelled:
        print(f"stopped; `studio kb resume {dataset.name}` finishes the rest", file=sys.stderr)
    elif not report.documents:
        print("nothing to index", file=sys.stderr)
    else:
        rate = report.chunks / report.elapsed_s if report.elapsed_s else 0.0
        print(f"indexed {plural(report.chunks, 'chunk')} from {plural(report.documents - len(failed), 'document')} "
              f"in {report.elapsed_s:.1f} s ({rate:.1f} chunks/s)", file=sys.stderr)
    if report.cancelled:
        return 130
    return 1 if report.failed else 0


def _failed_paths(services, dataset, failed: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(document name, message) → (source path, message without the repeated name)."""
    if not failed:
        return []
    docs = [d for d in services.knowledge.documents(dataset.id) if d.status.value == "error"]
    out = []
    for name, message in failed:
        same = [d for d in docs if d.name == name and d.error == message] or [d for d in docs if d.name == name]
        out.append((same[0].source_path if same else name, message_alone(name, message)))
    return out


class _Bar:
    """One self-rewriting progress line on stderr, sized to the terminal (plain lines when stderr is not one)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._last = 0.0
        self._phase = ""
        self._drawn = False

    def update(self, p) -> None:
        now = time.monotonic()
        if p.phase != self._phase and not self.enabled and p.phase in ("embedding", "optimizing") and p.files_total:
            print(f"{p.phase}: {plural(p.chunks_total, 'chunk')} from {plural(p.files_total, 'file')}",
                  file=sys.stderr)
        self._phase = p.phase
        if not self.enabled or (now - self._last < 0.1 and p.phase != "done"):
            return
        self._last = now
        columns = shutil.get_terminal_size((80, 24)).columns - 1  # the last column would wrap on some terminals
        eta = f" ETA {p.eta_s:.0f}s" if p.eta_s is not None and p.phase == "embedding" else ""
        detail = (f"{p.files_done}/{p.files_total} files" if p.phase == "reading"
                  else f"{p.chunks_done}/{p.chunks_total} chunks")
        text = f" {p.fraction * 100:5.1f}% {p.phase} {detail}{eta}"
        bar = max(0, min(30, columns - width(text) - 2 - 12))  # leave the file name about 12 columns first
        gauge = f"[{'#' * int(bar * p.fraction)}{'.' * (bar - int(bar * p.fraction))}]" if bar >= 5 else ""
        line = gauge + text
        room = columns - width(line) - 1
        if p.current_file and room >= 4:
            line += " " + fit(p.current_file, room)
        sys.stderr.write("\r" + fit(line, columns) + "\x1b[K")
        sys.stderr.flush()
        self._drawn = True

    def close(self) -> None:
        if self.enabled and self._drawn:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def _search(services, args) -> int:
    from studio.core.errors import ValidationError
    from studio.services.citations import resources

    settings = None
    if args.rerank:
        if not services.knowledge.has_reranker(args.rerank):
            raise ValidationError(f"{args.rerank} is not an installed reranking model (see `studio models list`)")
        base = services.knowledge.get(args.name).retrieval
        settings = base.model_copy(update={"reranking_enable": True, "reranking_mode": "reranking_model",
                                           "reranking_model": {"reranking_model_name": args.rerank}})
    conditions = None
    if args.filters:
        conditions = {"logical_operator": "or" if args.any else "and", "conditions": args.filters}
    records = services.knowledge.search(args.name, args.query, mode=MODES.get(args.mode), top_k=args.top_k,
                                        score_threshold=args.threshold, settings=settings,
                                        metadata_conditions=conditions)
    items = resources(records, retriever_from="api")
    if args.json:
        print_json(items)
        return 0
    if not items:
        print("no matching chunks", file=sys.stderr)
    for item in items:
        where = f"{item['document_name']} #{item['segment_position']}"
        if item["page"]:
            where += f" p.{item['page']}"
        print(f"{item['position']}. {item['score']:.3f}  {where}")
        text = " ".join(item["content"].split())
        print(f"   {text[:300]}{'…' if len(text) > 300 else ''}")
    return 0


