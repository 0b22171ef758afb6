"""Command line of the reference server: ``python -m mdnotes_server [--port 0] [--enable-faults] ...``."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Mapping
from typing import Any, Optional

from .config import ServerConfig, ServerUser
from .handler import BASE_PATHS
from .server import MdNotesServer

DEFAULT_PROG = "python -m mdnotes_server"

# Flag name -> environment variable that overrides the built-in default (a flag overrides both).
_ENVIRONMENT = {
    "client_id": "MDNOTES_CLIENT_ID",
    "client_secret": "MDNOTES_CLIENT_SECRET",
    "username": "MDNOTES_USERNAME",
    "password": "MDNOTES_PASSWORD",
    "token_lifetime": "MDNOTES_TOKEN_LIFETIME",
}


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds: {text!r}")
    return value


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"not a whole number of 0 or more: {text!r}")
    return int(text)


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"not a port number (0-65535): {text!r}")
    return int(text)


def _user(text: str) -> ServerUser:
    username, colon, password = text.partition(":")
    if not colon or not username or not password:
        raise argparse.ArgumentTypeError("write a user as USERNAME:PASSWORD")
    return ServerUser(username, password)


def build_parser(prog: str = DEFAULT_PROG) -> argparse.ArgumentParser:
    """The argument parser; options left unset default to ``None`` so the environment can fill them."""
    defaults = ServerConfig()
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve the MdNotes OAuth 2.0 (password grant) and API endpoints for demos and tests.",
    )
    parser.add_argument("--host", default=defaults.host, help="address to listen on (default %(default)s)")
    parser.add_argument(
        "--port", type=_port, default=defaults.port, help="port; 0 picks a free one (default %(default)s)"
    )
    parser.add_argument(
        "--token-lifetime",
        type=_seconds,
        help=f"access token lifetime in seconds, fractions allowed (default {defaults.token_lifetime:g})",
    )
    parser.add_argument("--client-id", help=f"OAuth client id (default {defaults.client_id})")
    parser.add_argument("--client-secret", help=f"OAuth client secret (default {defaults.client_secret})")
    parser.add_argument("--username", help=f"resource owner username (default {defaults.username})")
    parser.add_argument("--password", help=f"resource owner password (default {defaults.password})")
    parser.add_argument(
        "--user",
        dest="users",
        type=_user,
        action="append",
        default=[],
        metavar="USERNAME:PASSWORD",
        help="accept one more user (repeatable)",
    )
    parser.add_argument(
        "--no-rotate-refresh-tokens",
        dest="rotate_refresh_tokens",
        action="store_false",
        help="keep refresh tokens valid after use and send the same one back (default: rotate them)",
    )
    parser.add_argument(
        "--lockout-threshold",
        type=_count,
        default=defaults.lockout_threshold,
        metavar="N",
        help="lock an account after N failed password grants for it, and the client after N failed client "
        "authentications, within the lockout period; 0 turns lockout off (default %(default)s)",
    )
    parser.add_argument(
        "--lockout-period",
        type=_seconds,
        default=defaults.lockout_period,
        metavar="SECONDS",
        help="seconds a failure is remembered and a lock lasts (default %(default)g)",
    )
    parser.add_argument(
        "--enable-faults",
        action="store_true",
        help="serve the fault-injection admin API under /_admin (loopback clients only)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return parser


def resolve_config(
    args: argparse.Namespace, environ: Mapping[str, str], parser: argparse.ArgumentParser
) -> ServerConfig:
    """Merge flags, then environment variables, then defaults."""
    settings: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "enable_faults": args.enable_faults,
        "verbose": args.verbose,
        "users": tuple(args.users),
        "rotate_refresh_tokens": args.rotate_refresh_tokens,
        "lockout_threshold": args.lockout_threshold,
        "lockout_period": args.lockout_period,
    }
    for name, variable in _ENVIRONMENT.items():
        value = getattr(args, name)
        if value is None and environ.get(variable):
            try:
                value = _seconds(environ[variable]) if name == "token_lifetime" else environ[variable]
            except argparse.ArgumentTypeError as exc:
                parser.error(f"{variable}: {exc}")
        if value is not None:
            settings[name] = value
    try:
        return ServerConfig(**settings)
    except (TypeError, ValueError) as exc:
        parser.error(str(exc))


# Hosts the name "localhost" reaches: a server bound to one of them is announced under that name.
_LOCALHOST_ADDRESSES = frozenset({"127.0.0.1", "::1", "localhost"})


def client_url(server: MdNotesServer) -> str:
    """``http://HOST:PORT`` as a client should write it: ``localhost`` when the server is bound to loopback.

    The SDK's default ``base_uri`` is ``http://localhost:3000/oauth2/non-auth-server``; announcing
    the same host name keeps users from mixing ``localhost`` and ``127.0.0.1`` URLs.
    """
    if server.host in _LOCALHOST_ADDRESSES:
        return f"http://localhost:{server.port}"
    return server.url


def banner(server: MdNotesServer) -> list[str]:
    """The lines ``main()`` prints once the server listens: where it is, and its demo credentials."""
    config = server.config
    url = client_url(server)
    lines = [
        f"MdNotes reference server listening on {server.url}",
        f"  DEFAULT server: {url}{BASE_PATHS[0]}",
        f"  AUTH server:    {url}{BASE_PATHS[1]}",
        f"  Demo client:    client_id={config.client_id} client_secret={config.client_secret}",
        f"  Demo user:      username={config.username} password={config.password}",
    ]
    lines += [f"  User:           username={user.username} password={user.password}" for user in config.users]
    rotation = "rotated" if config.rotate_refresh_tokens else "kept (no rotation)"
    faults = "on" if config.enable_faults else "off"
    lines.append(
        f"  Access tokens live {config.token_lifetime:g} s; refresh tokens {rotation}; fault admin API {faults}"
    )
    if config.lockout_threshold:
        lines.append(
            f"  Lockout: an account or the client is locked for {config.lockout_period:g} s after"
            f" {config.lockout_threshold} failures within {config.lockout_period:g} s"
        )
    else:
        lines.append("  Lockout: off")
    lines.append("  Stop with Ctrl+C or SIGTERM.")
    return lines


def main(argv: Optional[list[str]] = None, *, prog: str = DEFAULT_PROG) -> int:
    """Run the server until SIGINT or SIGTERM; return the exit status.

    Args:
        argv: the arguments (default: ``sys.argv[1:]``).
        prog: the command name that help and errors show.
    """
    parser = build_parser(prog)
    config = resolve_config(parser.parse_args(argv), os.environ, parser)
    stop_requested = threading.Event()
    # Installed before the listening line is printed, so a parent that signals right after reading it
    # still gets a clean shutdown.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop_requested.set())
    try:
        server = MdNotesServer.from_config(config).start()
    except OSError as exc:
        print(f"{prog}: cannot listen on {config.host}:{config.port}: {exc}", file=sys.stderr)
        return 1
    try:
        print(*banner(server), sep="\n", flush=True)
        stop_requested.wait()
    finally:
        server.stop()
    return 0
