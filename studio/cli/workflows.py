"""`studio run` and `studio runs`: run graph apps and read their traces."""

from __future__ import annotations

import sys

from studio.cli.interrupt import watch
from studio.cli.output import parse_pairs, print_json, print_table
from studio.core.cancel import CancelToken
from studio.core.workflow import NodeFinished, NodeRetry, NodeStarted, RunStatus, WorkflowFinished, WorkflowText


def register(sub) -> None:
    p = sub.add_parser("run", help="run a workflow, or one chatflow turn")
    p.add_argument("app", metavar="APP", help="app id or name")
    p.add_argument("--input", "-i", action="append", metavar="NAME=VALUE", help="a Start input (repeatable)")
    p.add_argument("--query", "-q", default="", help="the user's message (chatflows)")
    p.add_argument("--conversation", metavar="ID", help="continue this chatflow conversation")
    p.add_argument("--json", action="store_true",
                   help='print {"status","outputs","answer","elapsed_ms","node_runs"} as JSON')
    p.add_argument("--trace", action="store_true", help="show each node as it starts and finishes (on stderr)")
    p.set_defaults(handler=_run)

    runs = sub.add_parser("runs", help="stored workflow runs").add_subparsers(dest="runs_command", metavar="ACTION")
    p = runs.add_parser("list", help="recent runs")
    p.add_argument("app", metavar="APP", nargs="?")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_runs_list)
    p = runs.add_parser("show", help="one run with its node trace, as JSON")
    p.add_argument("run_id")
    p.set_defaults(handler=lambda s, a: print_json(_run_json(s, s.workflows.get_run(a.run_id))))


def _run_json(services, run) -> dict:
    nodes = [n.model_dump(mode="json", exclude={"run_id"}) for n in services.workflows.node_runs(run.id)]
    return {"id": run.id, "status": run.status.value, "inputs": run.inputs, "outputs": run.outputs,
            "answer": run.outputs.get("answer", "") if run.mode == "advanced-chat" else "",
            "conversation_id": run.conversation_id,
            "error": run.error, "elapsed_ms": round(run.elapsed_ms, 3), "total_tokens": run.total_tokens,
            "total_steps": run.total_steps, "node_runs": nodes}


def _run(services, args) -> int:
    cancel = watch(CancelToken())
    events = services.workflows.run(args.app, inputs=parse_pairs(args.input), query=args.query,
                                    conversation_id=args.conversation, cancel=cancel)
    finished, streamed = None, False
    try:
        for ev in events:
            finished = ev if isinstance(ev, WorkflowFinished) else finished
            streamed = streamed or isinstance(ev, WorkflowText)
            if not args.json:
                _show(ev, args.trace, streamed)
    except KeyboardInterrupt:
        cancel.cancel()
        for ev in events:  # drain: the run is recorded as stopped
            finished = ev if isinstance(ev, WorkflowFinished) else finished
        print("\nstopped", file=sys.stderr)
        return 130
    if cancel.cancelled:
        print("\nstopped", file=sys.stderr)
        return 130
    run = services.workflows.get_run(finished.run_id)
    if args.json:
        print_json(_run_json(services, run))
    else:
        if run.conversation_id:
            print(f"conversation {run.conversation_id}", file=sys.stderr)
        if finished.status not in (RunStatus.SUCCEEDED, RunStatus.PARTIAL_SUCCEEDED):
            print(f"{finished.status.value}: {finished.error}", file=sys.stderr)
    return 0 if finished.status in (RunStatus.SUCCEEDED, RunStatus.PARTIAL_SUCCEEDED) else 1


def _show(ev, trace: bool, streamed: bool) -> None:
    if isinstance(ev, WorkflowText):
        sys.stdout.write(ev.text)
        sys.stdout.flush()
    elif isinstance(ev, WorkflowFinished):
        if streamed:
            sys.stdout.write("\n")
        elif ev.outputs and "answer" not in ev.outputs:
            print_json(ev.outputs)  # nothing streamed (no End text): show the outputs themselves
    elif not trace:
        return
    elif isinstance(ev, NodeStarted):
        print(f"▶ {ev.title} ({ev.node_type})", file=sys.stderr)
    elif isinstance(ev, NodeRetry):
        print(f"↻ {ev.title}: retry {ev.retry_index} after: {ev.error}", file=sys.stderr)
    elif isinstance(ev, NodeFinished):
        extra = f": {ev.error}" if ev.error else ""
        print(f"■ {ev.title} {ev.status.value} in {ev.elapsed_s * 1000:.1f} ms{extra}", file=sys.stderr)


def _runs_list(services, args) -> int:
    runs = services.workflows.runs(args.app)
    if args.json:
        print_json([r.model_dump(mode="json") for r in runs])
    else:
        print_table([[r.id, r.status.value, f"{r.elapsed_ms:.0f} ms", str(r.total_steps), str(r.created_at)[:19]]
                     for r in runs], ["ID", "STATUS", "ELAPSED", "STEPS", "CREATED"])
    return 0
