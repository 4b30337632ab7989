"""`studio keys …`: create, list and revoke service API keys; a token is printed once, at creation."""

from __future__ import annotations

import sys

from studio.cli.output import print_json, print_table
from studio.core.errors import ValidationError


def register(sub) -> None:
    keys = sub.add_parser("keys", help="create, list and revoke service API keys").add_subparsers(
        dest="keys_command", metavar="ACTION")

    p = keys.add_parser("create", help="create a key for an app (or, with --dataset, a knowledge key)")
    p.add_argument("app", metavar="APP", nargs="?", help="app id or name")
    p.add_argument("--dataset", action="store_true", help="create a knowledge (dataset) key instead; no APP")
    p.add_argument("--json", action="store_true", help="print JSON for scripts (the token included, once)")
    p.set_defaults(handler=_create)

    p = keys.add_parser("list", help="list keys (never their tokens)")
    p.add_argument("app", metavar="APP", nargs="?", help="only this app's keys")
    p.add_argument("--json", action="store_true", help="print JSON for scripts")
    p.set_defaults(handler=_list)

    p = keys.add_parser("revoke", help="revoke a key at once, by its id or the first 6+ characters of it")
    p.add_argument("key_id", metavar="ID")
    p.set_defaults(handler=_revoke)


def _create(services, args) -> int:
    if args.dataset and args.app:
        raise ValidationError("--dataset creates a knowledge key, which belongs to no app: leave APP out")
    if not args.dataset and not args.app:
        raise ValidationError("Give the app (id or name) the key is for, or --dataset for a knowledge key")
    key, token = services.keys.create(None if args.dataset else args.app, scope="dataset" if args.dataset else "app")
    if args.json:
        print_json({**key.model_dump(mode="json"), "token": token})
    else:
        print(token)  # alone on stdout, so TOKEN=$(studio keys create APP) works
    print("warning: this is the only time the key is shown; store it somewhere safe now", file=sys.stderr)
    return 0


def _list(services, args) -> int:
    keys = services.keys.list(args.app)
    names = {a.id: a.name for a in services.apps.list()}
    rows = [{**k.model_dump(mode="json"), "app_name": names.get(k.app_id, "") if k.app_id else ""} for k in keys]
    if args.json:
        print_json(rows)
        return 0
    print_table([[r["id"], r["app_name"] or "-", r["scope"], r["hint"], _when(r["created_at"]),
                  _when(r["last_used_at"]) or "never"] for r in rows],
                ["ID", "APP", "SCOPE", "KEY", "CREATED", "LAST USED"])
    return 0


def _revoke(services, args) -> int:
    services.keys.revoke(args.key_id)
    print(f"revoked {args.key_id}")
    return 0


def _when(iso: str | None) -> str:
    return (iso or "").replace("T", " ")[:19]
