"""`studio serve`: the service API without the window, for scripts on this machine or a server deployment."""

from __future__ import annotations

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
    p.add_argument("--headless", action="store_true", help="accepted for compatibility: serve never opens a window")
    p.set_defaults(handler=_serve)


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
    if not services.keys.list():
        print("note: no API keys yet; create one with `studio keys create APP`", file=sys.stderr)
    server = access.build(services, host=args.host, port=args.port, workers=args.workers,
                          extra_hosts=args.allowed_host, cors_origins=args.cors_origin)
    print(f"Studio API listening on {server.url} (Ctrl-C to stop)", flush=True)
    server.serve_forever()
    return 0


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
