"""Where the command's settings come from: flags, then environment variables, then defaults."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit, urlunsplit

from mdnotesropcgwithoutauthscopes.cli.exits import EXIT_USAGE, CommandError

ENV_BASE_URI = "MDNOTES_BASE_URI"
ENV_CLIENT_ID = "MDNOTES_CLIENT_ID"
ENV_CLIENT_SECRET = "MDNOTES_CLIENT_SECRET"
ENV_USERNAME = "MDNOTES_USERNAME"
ENV_PASSWORD = "MDNOTES_PASSWORD"
ENV_TOKEN_STORE = "MDNOTES_TOKEN_STORE"

STORE_DIRECTORY = "mdnotes"
STORE_FILE = "tokens.sqlite3"
DEFAULT_TIMEOUT = 30.0

_DEFAULT_PORTS = {"http": 80, "https": 443}


def default_token_store_path(
    environ: Mapping[str, str], *, platform: Optional[str] = None, home: Optional[Path] = None
) -> Path:
    """Where the token store lives when ``--token-store`` is not given.

    ``$MDNOTES_TOKEN_STORE`` wins; then ``$XDG_DATA_HOME/mdnotes/tokens.sqlite3`` (an absolute
    ``XDG_DATA_HOME`` only, as the XDG specification says); then the platform's data directory:
    ``%LOCALAPPDATA%\\mdnotes`` on Windows, ``~/Library/Application Support/mdnotes`` on macOS and
    ``~/.local/share/mdnotes`` elsewhere.

    Args:
        environ: the environment variables.
        platform: ``sys.platform`` (by default this one).
        home: the home directory (by default ``Path.home()``).

    Returns:
        Path: the store file.
    """
    explicit = environ.get(ENV_TOKEN_STORE)
    if explicit:
        return Path(explicit).expanduser()
    platform = sys.platform if platform is None else platform
    xdg = environ.get("XDG_DATA_HOME")
    if platform == "win32":
        local = environ.get("LOCALAPPDATA")
        base = Path(local) if local else (home or Path.home()) / "AppData" / "Local"
    elif xdg and os.path.isabs(xdg):
        base = Path(xdg)
    elif platform == "darwin":
        base = (home or Path.home()) / "Library" / "Application Support"
    else:
        base = (home or Path.home()) / ".local" / "share"
    return base / STORE_DIRECTORY / STORE_FILE


def default_store_for_help() -> str:
    environ = {name: value for name, value in os.environ.items() if name != ENV_TOKEN_STORE}
    try:
        return str(default_token_store_path(environ))
    except RuntimeError:  # no home directory to expand
        return f"<data directory>/{STORE_DIRECTORY}/{STORE_FILE}"


@dataclass(frozen=True)
class Settings:
    """What a command needs to reach the API and find its token; the password is kept apart."""

    base_uri: Optional[str]
    client_id: str
    client_secret: Optional[str] = field(repr=False)
    username: str
    token_store: Path
    timeout: float


def resolve_settings(args: argparse.Namespace, environ: Mapping[str, str]) -> Settings:
    """Merge flags, then environment variables, then defaults.

    The base URI is normalized (see ``normalize_base_uri``), so the spellings of one server
    find the same stored token.

    Raises:
        CommandError: the client id or username is missing, or the base URI is not usable (exit
            status 2).
    """

    def setting(attribute: str, variable: str) -> Optional[str]:
        value = getattr(args, attribute, None)
        if value is None:
            value = environ.get(variable) or None  # an empty variable counts as unset
        return value

    client_id = setting("client_id", ENV_CLIENT_ID)
    username = setting("username", ENV_USERNAME)
    missing = [
        f"{flag} or ${variable}"
        for flag, variable, value in (
            ("--client-id", ENV_CLIENT_ID, client_id),
            ("--username", ENV_USERNAME, username),
        )
        if value is None
    ]
    if missing:
        raise CommandError(f"missing setting: give {' and '.join(missing)}", EXIT_USAGE)
    assert client_id is not None and username is not None  # for the type checker: checked just above
    base_uri = setting("base_uri", ENV_BASE_URI)
    if base_uri is not None:
        base_uri = normalize_base_uri(base_uri)
    store = getattr(args, "token_store", None)
    return Settings(
        base_uri=base_uri,
        client_id=client_id,
        client_secret=setting("client_secret", ENV_CLIENT_SECRET),
        username=username,
        token_store=Path(store).expanduser() if store else default_token_store_path(environ),
        timeout=getattr(args, "timeout", DEFAULT_TIMEOUT),
    )


def normalize_base_uri(base_uri: str) -> str:
    """One spelling per server: the scheme and host in lower case, no default port, no trailing slash.

    ``http://LOCALHOST:80/x/`` and ``http://localhost/x`` name the same server, so they must find
    the same stored token (its key is derived from the URL). The path keeps its case. Different
    hosts stay different, even when they are the same machine (``127.0.0.1`` and ``localhost``).

    Raises:
        CommandError: the URL is not ``http(s)://``, has no host, has a bad port, or holds user
            info (``user:password@``, refused without repeating it: the password would show in
            every message naming the server).
    """
    scheme, sep, rest = base_uri.partition("://")
    authority = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0] if sep else ""
    if "@" in authority:
        raise CommandError(
            f"--base-uri or ${ENV_BASE_URI} must not contain user info (user:password@); "
            f"give {scheme}://{authority.rsplit('@', 1)[1]}/... and the credentials in their own settings",
            EXIT_USAGE,
        )
    if not base_uri.lower().startswith(("http://", "https://")):
        raise CommandError(f"--base-uri or ${ENV_BASE_URI} must start with http:// or https://, not {base_uri!r}", 2)
    try:
        parts = urlsplit(base_uri)
        port = parts.port
    except ValueError:
        raise CommandError(f"--base-uri or ${ENV_BASE_URI} is not a valid URL: {base_uri!r}", EXIT_USAGE) from None
    host = parts.hostname or ""
    if not host:
        raise CommandError(f"--base-uri or ${ENV_BASE_URI} names no host: {base_uri!r}", EXIT_USAGE)
    scheme = parts.scheme.lower()
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), parts.query, parts.fragment))
