"""`studio models …`: list the known models, add a GGUF file, pick the default chat model."""

from __future__ import annotations

from studio.cli.output import print_json, print_table


def register(sub) -> None:
    models = sub.add_parser("models", help="list and manage local models").add_subparsers(
        dest="models_command", metavar="ACTION")

    p = models.add_parser("list", help="list models with their GGUF metadata")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_list)

    p = models.add_parser("add", help="add a GGUF model file from disk")
    p.add_argument("path")
    p.set_defaults(handler=lambda s, a: print(s.models.add(a.path).id))

    p = models.add_parser("remove", help="remove a user-added model from the list (the file stays)")
    p.add_argument("model_id")
    p.set_defaults(handler=lambda s, a: s.models.remove(a.model_id))

    p = models.add_parser("default", help="set the default chat model")
    p.add_argument("model_id")
    p.set_defaults(handler=lambda s, a: print(s.models.set_default_chat_model(a.model_id).id))


def _list(services, args) -> int:
    models = services.models.list()
    try:
        default = services.models.default_chat_model().id
    except Exception:  # no usable chat model: the list still shows why
        default = ""
    if args.json:
        print_json([{**m.model_dump(mode="json"), "default": m.id == default} for m in models])
        return 0
    rows = [[("* " if m.id == default else "  ") + m.id, m.kind.value, m.architecture, f"{m.parameters / 1e6:.0f}M",
             m.quantization, str(m.context_length), m.source, m.error] for m in models]
    print_table(rows, ["  ID", "KIND", "ARCH", "PARAMS", "QUANT", "CONTEXT", "SOURCE", "ERROR"])
    return 0
