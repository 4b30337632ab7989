"""Entry point of the `studio` command: no arguments opens the GUI, anything else is the CLI."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] == "gui":
        from studio.app import build
        from studio.core.errors import StudioError
        from studio.ui.launch import run_gui

        try:
            services = build()
        except StudioError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 2
        try:
            return run_gui(services, argv[1:])
        finally:
            services.close()
    from studio.cli import run_cli

    return run_cli(argv)


if __name__ == "__main__":
    sys.exit(main())
