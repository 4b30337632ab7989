"""`studio apps …`: list, create, show, rename and delete apps."""

from __future__ import annotations

import sys

from studio.cli.output import print_json, print_table
from studio.cli.templates import create_from_template


def _app_dict(app) -> dict:
    return app.model_dump(mode="json")


def register(sub) -> None:
    apps = sub.add_parser("apps", help="list and manage apps").add_subparsers(dest="apps_command", metavar="ACTION")

    p = apps.add_parser("list", help="list apps")
    p.add_argument("--json", action="store_true", help="print JSON for scripts")
    p.set_defaults(handler=_list)

    p = apps.add_parser("create", help="create an app")
    p.add_argument("--name", help="the app's name (required unless --template gives one)")
    p.add_argument("--template", metavar="NAME",
                   help="start from a starter template, by id or name (`studio templates list`); prints the app id")
    p.add_argument("--mode", default="chat", help="chat (Chatbot), agent-chat (Agent) or completion (Text generator)")
    p.add_argument("--prompt", default="", help="the prompt (pre_prompt), with {{variable}} slots")
    p.add_argument("--description", default="")
    p.add_argument("--icon", default="🤖")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_create)

    p = apps.add_parser("show", help="show one app and its configuration")
    p.add_argument("app", metavar="APP", help="app id or name")
    p.set_defaults(handler=lambda s, a: print_json(_app_dict(s.apps.resolve(a.app))))

    p = apps.add_parser("rename", help="rename an app")
    p.add_argument("app", metavar="APP")
    p.add_argument("name")
    p.set_defaults(handler=lambda s, a: print(s.apps.rename(s.apps.resolve(a.app).id, a.name).name))

    p = apps.add_parser("delete", help="delete an app and its conversations")
    p.add_argument("app", metavar="APP")
    p.set_defaults(handler=_delete)


def _list(services, args) -> int:
    apps = services.apps.list()
    if args.json:
        print_json([_app_dict(a) for a in apps])
    else:
        print_table([[a.id, a.mode.value, a.name] for a in apps], ["ID", "MODE", "NAME"])
    return 0


def _create(services, args) -> int:
    if args.template:
        if args.prompt or args.description or args.icon != "🤖":
            print("error: --prompt, --description and --icon go without --template (the template sets them)",
                  file=sys.stderr)
            return 2
        app = create_from_template(services, args.template, args.name)
    elif not args.name:
        print("error: --name is required (or start from a template with --template NAME)", file=sys.stderr)
        return 2
    else:
        app = services.apps.create(args.name, args.mode, prompt=args.prompt, description=args.description,
                                   icon=args.icon)
    if args.json:
        print_json(_app_dict(app))
    else:
        print(app.id)
    return 0


def _delete(services, args) -> int:
    app = services.apps.resolve(args.app)
    services.apps.delete(app.id)
    print(f"deleted {app.name}")
    return 0
