"""Entry point of the `studio` command: no arguments opens the GUI, anything else is the CLI."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] == "gui":
        from studio.ui.launch import run_gui

        return run_gui(argv[1:])
    from studio.cli import run_cli

    return run_cli(argv)


if __name__ == "__main__":
    sys.exit(main())
