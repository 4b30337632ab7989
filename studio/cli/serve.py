"""`studio serve`: the service API without the window, for scripts on this machine or a server deployment."""

from __future__ import annotations

import argparse
import sys

from studio.core.errors import ValidationError


def register(sub) -> None:
    p = sub.add_parser("serve", help="run the service API (Dify- and OpenAI-compatible) without the window",
                       description="Serve every app over HTTP. Requests need an app key: create one with "
                                   "`studio keys create APP`.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=None, help="port (default: the saved API port, 5001)")
    p.add_argument("--workers", type=int, default=16,
                   help="how many requests run app code at once; more wait their turn (default 16)")
    p.add_argument("--public", action="store_true",
                   help="allow binding an address other machines can reach (e.g. --host 0.0.0.0)")
    p.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                   help="a Host header to accept besides the bound address and localhost (repeatable)")
    p.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                   help="a web origin allowed to call the API from a browser (CORS is off by default)")
    p.add_argument("--local-models", action=argparse.BooleanOptionalAction, default=None,
                   help="also list the local chat models on the OpenAI endpoint (/v1/models, as local/<id>) for any "
                        "app key to call; saved, like API Access → Also list local models")
    p.add_argument("--headless", action="store_true", help="accepted for compatibility: serve never opens a window")
    p.add_argument("--bundle", metavar="DIR",
                   help="set up a server bundle (from `studio export APP --server DIR`) and serve it: its app is "
                        "imported and its knowledge bases rebuilt once, and the key in STUDIO_API_KEY registered. "
                        "The Studio home is STUDIO_HOME, or DIR/home when that is not set")
    p.set_defaults(handler=_serve, settings_factory=_bundle_settings)


def _bundle_settings(args):
    """With --bundle and no STUDIO_HOME, the home lives inside the bundle, so serving it never mixes its app into
    the desktop Studio's; None otherwise (the usual home)."""
    if not args.bundle:
        return None
    from pathlib import Path

    from studio.core.settings import Settings

    folder = Path(args.bundle).expanduser()
    if not (folder / "bundle.json").is_file():
        raise ValidationError(f"{folder} is not a Studio server bundle (it has no bundle.json); make one with "
                              "`studio export APP --server DIR`")
    settings = Settings()
    if settings.home_from_environment:
        return settings
    home = folder.resolve() / "home"
    try:
        home.mkdir(exist_ok=True)
    except OSError as exc:
        raise ValidationError(f"Cannot create the Studio home {home} ({exc.strerror or exc}); set STUDIO_HOME to a "
                              "writable folder") from None
    return Settings(home=home)


def _serve(services, args) -> int:
    from studio.services.api_access import ApiAccessService

    access: ApiAccessService = services.api_access
    if not 1 <= args.workers <= 256:
        raise ValidationError("--workers must be between 1 and 256")
    if args.port is not None and not 0 <= args.port <= 65535:
        raise ValidationError("--port must be between 0 and 65535")
    warning = _public_warning(args.host)
    if warning and not args.public:
        raise ValidationError(f"{args.host} is reachable from other machines; add --public to bind it anyway")
    if warning:
        print(warning, file=sys.stderr)
    if args.local_models is not None:
        services.settings.set("api_local_models", int(args.local_models))
    if args.bundle:
        _install_bundle(services, args.bundle)
    elif not services.keys.list():
        print("note: no API keys yet; create one with `studio keys create APP`", file=sys.stderr)
    hosts = [*args.allowed_host, *services.settings.startup.extra_hosts]
    server = access.build(services, host=args.host, port=args.port, workers=args.workers,
                          extra_hosts=hosts, cors_origins=args.cors_origin)
    print(f"Studio API listening on {server.url} (Ctrl-C to stop)", flush=True)
    server.serve_forever()
    return 0


def _install_bundle(services, folder: str) -> None:
    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    report = services.bundles.install(folder, on_step=say)
    app = report.app
    say(f"app {app.name} ({app.mode.value}, id {app.id}): {report.app_status}")
    for name in report.rebuilt:
        say(f"knowledge base {name}: rebuilt from the bundle")
    for name in report.reused:
        say(f"knowledge base {name}: unchanged")
    for warning in report.warnings:
        say(f"warning: {warning}")
    if report.key_status == "missing":
        keys = services.keys.list(app.id)
        say(f"note: STUDIO_API_KEY is not set, so no key from the environment was registered for {app.name}"
            f"{f' ({len(keys)} key(s) from before still work)' if keys else ''}. Start again with a key of your "
            f"own, for example\n  STUDIO_API_KEY={report.suggested_key}\n(a fresh random one; only its hash is "
            f"stored), or run `studio keys create {app.id}` with this Studio home.")
    else:
        say(f"API key from STUDIO_API_KEY ({report.key_hint}): {report.key_status}")


def _public_warning(host: str) -> str | None:
    import ipaddress

    if host == "localhost":
        return None
    try:
        if ipaddress.ip_address(host.strip("[]")).is_loopback:
            return None
    except ValueError:
        pass
    return (f"warning: the API listens on {host}, so other machines can reach it. Every request still needs an "
            "API key; keep keys secret and put TLS in front of it on networks you do not trust.")
