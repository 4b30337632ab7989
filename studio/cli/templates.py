"""`studio templates list` and `studio apps create --template NAME`: the starter templates from the command line."""

from __future__ import annotations

import sys

from studio.cli.output import print_json, print_table


def register(sub) -> None:
    templates = sub.add_parser("templates", help="starter app templates (one of each app kind)").add_subparsers(
        dest="templates_command", metavar="ACTION")
    p = templates.add_parser("list", help="list the templates `studio apps create --template NAME` can use")
    p.add_argument("--json", action="store_true", help="print JSON for scripts")
    p.set_defaults(handler=_list)


def _warn(messages) -> None:
    for message in messages:
        print(f"warning: {message}", file=sys.stderr)


def _list(services, args) -> int:
    catalog = services.templates.catalog()
    if args.json:
        print_json([t.to_dict() for t in catalog.templates])
    else:
        print_table([[t.id, t.mode.value, t.name, t.description] for t in catalog.templates],
                    ["ID", "MODE", "NAME", "DESCRIPTION"])
    _warn(catalog.problems)  # a broken file is named on stderr; the good templates still list
    return 0


def create_from_template(services, template: str, name: str | None):
    """The new app (renamed when a name is given); import warnings go to stderr like `studio import`'s."""
    result = services.templates.create_app(template)
    _warn(result.warnings)
    app = result.app
    if name and name.strip() != app.name:
        app = services.apps.rename(app.id, name)
    return app
