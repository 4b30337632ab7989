"""`studio sandbox …`: try a code node's `main()` in the sandbox, and list the code languages this machine runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from studio.cli.output import parse_pairs, print_json, print_table
from studio.core.errors import ValidationError


def register(sub) -> None:
    sandbox = sub.add_parser("sandbox", help="run code-node code in the sandbox").add_subparsers(
        dest="sandbox_command", metavar="ACTION")

    p = sandbox.add_parser("run", help="run FILE's main(**inputs) the way a code node does",
                           description="Run FILE's main(**inputs) in the sandbox, with the same isolation and "
                                       "limits as a code node. Values of --input are JSON when they parse as "
                                       "JSON (3, true, [1,2], {\"a\":1}), otherwise text.")
    p.add_argument("file", metavar="FILE", help="a .py or .js file that defines main()")
    p.add_argument("--input", "-i", action="append", metavar="NAME=VALUE", help="an input variable (repeatable)")
    p.add_argument("--language", choices=["python3", "javascript"], help="default: from the file extension")
    p.add_argument("--outputs", metavar="JSON", help='declared outputs, e.g. \'{"result": {"type": "string"}}\'')
    p.add_argument("--allow-network", action="store_true", help="let the code reach the network")
    p.add_argument("--json", action="store_true", help="print the whole result (outputs, stdout, limits, trace)")
    p.set_defaults(handler=_run)

    p = sandbox.add_parser("languages", help="list the code languages and whether they can run here")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_languages)


def _run(services, args) -> int:
    path = Path(args.file)
    try:
        code = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"Cannot read {path}: {exc}") from None
    language = args.language or ("javascript" if path.suffix in (".js", ".mjs", ".cjs") else "python3")
    inputs = {key: _value(value) for key, value in parse_pairs(args.input).items()}
    outputs = None
    if args.outputs:
        try:
            outputs = json.loads(args.outputs)
        except ValueError as exc:
            raise ValidationError(f"--outputs is not valid JSON: {exc}") from None
    result = services.sandbox.run_code(code, language=language, inputs=inputs, outputs=outputs,
                                       allow_network=args.allow_network)
    if args.json:
        print_json(result.model_dump(mode="json"))
        return 0 if result.ok else 1
    if result.stdout:
        sys.stdout.write(result.stdout if result.stdout.endswith("\n") else result.stdout + "\n")
    if result.ok:
        print_json(result.outputs)
        return 0
    limit = f" [limit: {result.limit.value}]" if result.limit else ""
    print(f"error: {result.error_type}: {result.error}{limit}", file=sys.stderr)
    return 1


def _value(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def _languages(services, args) -> int:
    langs = services.sandbox.languages()
    if args.json:
        print_json([lang.model_dump(mode="json") for lang in langs])
        return 0
    print_table([[lang.language.value, "yes" if lang.available else "no", lang.version, lang.detail] for lang in langs],
                ["LANGUAGE", "AVAILABLE", "VERSION", "DETAIL"])
    return 0
