"""`studio kb`: create knowledge bases, add files with a progress bar, search them, and list them."""

from __future__ import annotations

import json
import sys
import time

from studio.cli.interrupt import watch
from studio.cli.output import print_json, print_table
from studio.core.cancel import CancelToken


def register(sub) -> None:
    kb = sub.add_parser("kb", help="knowledge bases").add_subparsers(dest="kb_command", metavar="ACTION")
    p = kb.add_parser("create", help="create a knowledge base; prints its id")
    p.add_argument("name")
    p.add_argument("--chunk-size", type=int, metavar="N", help="max characters per chunk (50-4000, default 500)")
    p.add_argument("--overlap", type=int, metavar="N", help="characters shared by neighbouring chunks (default 50)")
    p.add_argument("--separator", metavar="S", help=r"split here first (default \n\n; escapes like \n work)")
    p.add_argument("--parent-child", choices=["paragraph", "full-doc"],
                   help="parent-child chunks: search small children, return their parent")
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
    p.add_argument("--mode", choices=["semantic", "full_text", "hybrid"], help="default: the knowledge base's own")
    p.add_argument("--top-k", type=int, metavar="N")
    p.add_argument("--threshold", type=float, metavar="S", help="drop results scoring below S (0-1)")
    p.add_argument("--json", action="store_true", help="print Dify's retriever_resources items")
    p.set_defaults(handler=_search)

    p = kb.add_parser("list", help="knowledge bases, or one knowledge base's documents")
    p.add_argument("name", metavar="KB", nargs="?")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_list)

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
    rule = None
    if args.parent_child:
        from studio.core.knowledge import ProcessRule

        rule = ProcessRule(mode="hierarchical", parent_mode=args.parent_child)
    dataset = services.knowledge.create(args.name, description=args.description, process_rule=rule,
                                        chunk_size=args.chunk_size, overlap=args.overlap, separator=args.separator,
                                        embedding=_embedding(services, args))
    print(dataset.id)
    return 0


def _add(services, args) -> int:
    plan = services.knowledge.add(args.name, args.paths)
    for path, reason in plan.skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    if not args.json:
        for path in plan.duplicates:
            print(f"skipped {path}", file=sys.stderr)
        print(f"{len(plan.queued)} new, {len(plan.replaced)} changed, {len(plan.resumed)} to resume, "
              f"{len(plan.unchanged)} unchanged", file=sys.stderr)
    code = _ingest(services, services.knowledge.get(args.name), as_json=args.json, plan=plan)
    return code or (1 if plan.skipped and not (plan.queued or plan.replaced or plan.resumed) else 0)


def _rebuild(services, args) -> int:
    dataset = services.knowledge.rebuild(args.name, _embedding(services, args))
    return _ingest(services, dataset, as_json=False)


def _ingest(services, dataset, *, as_json: bool, plan=None) -> int:
    cancel = watch(CancelToken())
    bar = _Bar(enabled=not as_json and sys.stderr.isatty())
    report = services.knowledge.ingest(dataset.id, cancel=cancel, on_progress=bar.update)
    bar.close()
    for name, message in report.failed:
        print(f"failed {name}: {message}", file=sys.stderr)
    if report.embedding_error:
        print(f"the chunks are saved; once the embedder works, `studio kb resume {dataset.name}` embeds them",
              file=sys.stderr)
    if as_json:
        print_json({"dataset_id": dataset.id, "queued": [d.name for d in plan.queued] if plan else [],
                    "unchanged": plan.unchanged if plan else [], "replaced": plan.replaced if plan else [],
                    "duplicates": plan.duplicates if plan else [], "skipped": plan.skipped if plan else [],
                    "documents": report.documents, "chunks": report.chunks, "failed": report.failed,
                    "cancelled": report.cancelled, "elapsed_s": round(report.elapsed_s, 3)})
    elif report.cancelled:
        print("stopped; `studio kb resume` finishes the rest", file=sys.stderr)
    else:
        rate = report.chunks / report.elapsed_s if report.elapsed_s else 0.0
        print(f"indexed {report.chunks} chunks from {report.documents - len(report.failed)} documents in "
              f"{report.elapsed_s:.1f} s ({rate:.1f} chunks/s)", file=sys.stderr)
    if report.cancelled:
        return 130
    return 1 if report.failed else 0


class _Bar:
    """One self-rewriting progress line on stderr (plain lines when stderr is not a terminal)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._last = 0.0
        self._phase = ""

    def update(self, p) -> None:
        now = time.monotonic()
        if p.phase != self._phase and not self.enabled and p.phase in ("embedding", "optimizing"):
            print(f"{p.phase}: {p.chunks_total} chunks from {p.files_total} files", file=sys.stderr)
        self._phase = p.phase
        if not self.enabled or (now - self._last < 0.1 and p.phase != "done"):
            return
        self._last = now
        width = 30
        filled = int(width * p.fraction)
        eta = f" ETA {p.eta_s:.0f}s" if p.eta_s is not None and p.phase == "embedding" else ""
        detail = (f"{p.files_done}/{p.files_total} files" if p.phase == "reading"
                  else f"{p.chunks_done}/{p.chunks_total} chunks")
        name = (p.current_file[:28] + "…") if len(p.current_file) > 29 else p.current_file
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {p.fraction * 100:5.1f}% {p.phase:<10} "
                         f"{detail}{eta} {name:<30}")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def _search(services, args) -> int:
    from studio.services.citations import resources

    mode = {"semantic": "semantic_search", "full_text": "full_text_search", "hybrid": "hybrid_search"}.get(args.mode)
    records = services.knowledge.search(args.name, args.query, mode=mode, top_k=args.top_k,
                                        score_threshold=args.threshold)
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


def _embedding_label(choice) -> str:
    return f"{choice.model} @ {choice.base_url}" if choice.provider == "openai_api_compatible" else choice.model


def _list(services, args) -> int:
    if args.name:
        docs = services.knowledge.documents(args.name)
        if args.json:
            print_json([json.loads(d.model_dump_json()) for d in docs])
        else:
            print_table([[d.name, d.status.value, str(d.segment_count), d.error[:60]] for d in docs],
                        ["DOCUMENT", "STATUS", "CHUNKS", "ERROR"])
        return 0
    datasets = services.knowledge.list()
    if args.json:
        print_json([json.loads(d.model_dump_json()) for d in datasets])
    else:
        print_table([[d.name, str(d.document_count), str(d.segment_count), _embedding_label(d.embedding),
                      d.retrieval.search_method, d.id] for d in datasets],
                    ["NAME", "DOCS", "CHUNKS", "EMBEDDING", "SEARCH", "ID"])
    return 0
