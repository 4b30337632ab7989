"""The command line for scripts and headless use; each command group lives in its own module."""

from __future__ import annotations

import argparse
import logging
import sys

from studio import __version__
from studio.cli.interrupt import graceful_interrupts
from studio.core.errors import StudioError

# Each module adds its sub-commands with register(subparsers); handlers receive (services, args).
COMMAND_MODULES = ("studio.cli.apps", "studio.cli.chat", "studio.cli.models", "studio.cli.workflows",
                   "studio.cli.sandbox", "studio.cli.kb", "studio.cli.serve", "studio.cli.keys", "studio.cli.dsl",
                   "studio.cli.templates")


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(prog="studio", description="Studio: design, test and serve LLM apps offline.")
    parser.add_argument("--version", action="version", version=f"studio {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("gui", help="open the Studio window (the default)")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def run_cli(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    with graceful_interrupts():
        return _dispatch(handler, args)


def _dispatch(handler, args) -> int:
    services = None
    try:
        if getattr(args, "needs_services", True):
            from studio.app import build

            try:
                # A command may choose its own home (serve --bundle); it raises StudioError when it cannot.
                factory = getattr(args, "settings_factory", None)
                services = build(factory(args) if factory else None)
            except StudioError as exc:
                print(f"error: {exc.message}", file=sys.stderr)
                return 2
        return int(handler(services, args) or 0)
    except StudioError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    finally:
        if services is not None:
            services.close()
