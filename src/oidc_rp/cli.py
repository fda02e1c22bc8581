"""The ``oidc-rp`` command: ``serve``, ``demo`` and ``check``.

This is the one place where errors become exit codes: bad settings exit with code 2
and one line on stderr naming the file, the key and the problem; never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

import uvicorn
from pydantic import ValidationError

from oidc_rp import __version__
from oidc_rp.errors import ConfigurationError
from oidc_rp.http import redact_url
from oidc_rp.settings import Settings, load_settings
from oidc_rp.tls import ensure_self_signed_certificate

__all__ = ["main"]

EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="oidc-rp", description="OpenID Connect Relying Party")
    parser.add_argument("--version", action="version", version=f"oidc-rp {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the web app configured by settings.json")
    serve.add_argument("--config", help="settings file (default: settings.json)")
    check = commands.add_parser("check", help="validate the settings and print a summary")
    check.add_argument("--config", help="settings file (default: settings.json)")
    demo = commands.add_parser("demo", help="run a local demo OP, a demo API and the app")
    demo.add_argument("--port", type=int, default=5443, help="port of the app (default 5443)")
    demo.add_argument("--op-port", type=int, default=0, help="port of the demo OP (default: any)")
    demo.add_argument("--http", action="store_true", help="serve the app over plain http")
    return parser


def _tls_options(settings: Settings) -> dict[str, Any]:
    if settings.disable_https:
        return {}
    if settings.tls_cert_file and settings.tls_key_file:
        return {"ssl_certfile": settings.tls_cert_file, "ssl_keyfile": settings.tls_key_file}
    cert, key = ensure_self_signed_certificate(settings.data_path / "tls")
    return {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}


class RedactAccessLog(logging.Filter):
    """Redacts secret query parameters (code, tokens) in uvicorn's access log lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the path argument of an access log record; never drop the record."""
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_url(args[2]), *args[3:])
        return True


def _serve(settings: Settings) -> int:
    from oidc_rp.web import create_app

    if settings.debug:
        # debug: log each exchange with the OP (redacted by oidc_rp.http).
        logging.getLogger("oidc_rp").setLevel(logging.DEBUG)
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info" if settings.debug else "warning",
        proxy_headers=False,
        server_header=False,
        **_tls_options(settings),
    )
    # The access log shows request paths, and /callback's query carries the code.
    logging.getLogger("uvicorn.access").addFilter(RedactAccessLog())
    server = uvicorn.Server(config)
    print(f"oidc-rp: open {settings.effective_base_url}/", flush=True)
    server.run()
    return 0 if server.started else 1


def _check(settings: Settings) -> int:
    print(f"issuer: {settings.issuer or '(endpoints set by hand)'}")
    print(f"client_id: {settings.client_id or '(none: register dynamically)'}")
    print(f"redirect_uri: {settings.effective_redirect_uri}")
    print(f"base_url: {settings.effective_base_url}")
    for warning in settings.warnings():
        print(f"warning: {warning}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from oidc_rp.demo import demo_settings, run_demo_servers

    with run_demo_servers(op_port=args.op_port) as servers:
        print(f"oidc-rp demo: OP at {servers.issuer}, API at {servers.api_endpoint}", flush=True)
        # Built from code, not from ./settings.json: the demo must not pick up a real config.
        values = demo_settings(servers, port=args.port, https=not args.http)
        try:
            settings = Settings.model_validate(values)
        except ValidationError as exc:
            raise ConfigurationError(f"demo: {exc.errors()[0]['msg']}") from None
        return _serve(settings)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="oidc-rp: %(levelname)s: %(message)s")
    try:
        if args.command == "demo":
            return _demo(args)
        settings = load_settings(args.config, os.environ)
        if args.command == "check":
            return _check(settings)
        return _serve(settings)
    except ConfigurationError as exc:
        print(f"oidc-rp: {exc.message}", file=sys.stderr)
        return EXIT_CONFIG
    except OSError as exc:
        print(f"oidc-rp: cannot start: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
