"""The ``mdnotes`` command: sign in, check the service and manage the stored token from a shell."""

# Only the standard library is imported here at module level: ``--help`` and the unit tests of
# parsing and formatting must not pay for importing the SDK and ``requests``.
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, NoReturn, Optional, TextIO

if TYPE_CHECKING:
    from mdnotesropcgwithoutauthscopes.http.auth.token_store import SQLiteTokenStore, TokenStore
    from mdnotesropcgwithoutauthscopes.mdnotesropcgwithoutauthscopes_client import MdnotesropcgwithoutauthscopesClient
    from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken

__all__ = [
    "EXIT_API_ERROR",
    "EXIT_AUTH",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "build_parser",
    "default_token_store_path",
    "main",
]

PROG = "mdnotes"

#: The command did what was asked.
EXIT_OK = 0
#: The API call failed: an error answer, the server cannot be reached, or the token store failed.
EXIT_API_ERROR = 1
#: The command line or the settings are wrong (a missing client id or username, a bad flag...).
EXIT_USAGE = 2
#: Authentication failed: wrong password or client, not logged in, or the stored token was
#: refused and cannot be renewed without the password.
EXIT_AUTH = 3
#: Interrupted with Ctrl-C (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130

ENV_BASE_URI = "MDNOTES_BASE_URI"
ENV_CLIENT_ID = "MDNOTES_CLIENT_ID"
ENV_CLIENT_SECRET = "MDNOTES_CLIENT_SECRET"
ENV_USERNAME = "MDNOTES_USERNAME"
ENV_PASSWORD = "MDNOTES_PASSWORD"
ENV_TOKEN_STORE = "MDNOTES_TOKEN_STORE"

STORE_DIRECTORY = "mdnotes"
STORE_FILE = "tokens.sqlite3"
DEFAULT_TIMEOUT = 30.0
FINGERPRINT_LENGTH = 12

_SDK_LOGGER = "mdnotesropcgwithoutauthscopes"


class CommandError(Exception):
    """Ends the command with one line on stderr and an exit code; the message never holds a secret."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


# --------------------------------------------------------------------------------------- parsing


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line and an exit code, never ``sys.exit``.

    Abbreviated options are off: ``--password`` must never be taken for ``--password-stdin``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        # argparse echoes stray words, and one may be a password typed as an argument: name only
        # the options, and never the word given as a command.
        prefix = "unrecognized arguments: "
        if message.startswith(prefix):
            options = [word.split("=", 1)[0] for word in message[len(prefix) :].split() if word.startswith("-")]
            message = prefix + (" ".join(options) if options else "(words that are not options)")
        elif message.startswith("argument COMMAND: invalid choice"):
            message = "unknown command: choose login, status, user, token or logout"
        raise CommandError(f"{message} (see '{self.prog} --help')", EXIT_USAGE)


_PASSWORD_FLAGS = ("--password", "-p")


def _refuse_password_argument(argv: Sequence[str]) -> None:
    """A password typed as an argument is refused by name (it is already in the shell's history)."""
    for word in argv:
        if word == "--":
            return
        if word in _PASSWORD_FLAGS or word.startswith("--password="):
            raise CommandError(
                f"the password is never an argument: type it when 'mdnotes login' asks, set ${ENV_PASSWORD} "
                "or use 'mdnotes login --password-stdin'",
                EXIT_USAGE,
            )


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds: {text!r}")
    return value


def _common_options() -> _Parser:
    """The settings every command takes, before or after its name.

    Their default is ``SUPPRESS``: only options actually given reach the namespace, so an option
    after the command never erases the same option given before it.
    """
    common = _Parser(add_help=False, argument_default=argparse.SUPPRESS)
    group = common.add_argument_group("settings (a flag wins over its environment variable)")
    group.add_argument(
        "--base-uri", metavar="URL", help=f"the API's base URL [${ENV_BASE_URI}; default: the SDK's default server]"
    )
    group.add_argument("--client-id", metavar="ID", help=f"OAuth 2 client id [${ENV_CLIENT_ID}]")
    group.add_argument(
        "--client-secret",
        metavar="SECRET",
        help=f"OAuth 2 client secret [${ENV_CLIENT_SECRET}; prefer the variable: other local users can "
        "read command lines]",
    )
    group.add_argument("-u", "--username", metavar="NAME", help=f"your user name [${ENV_USERNAME}]")
    group.add_argument(
        "--token-store",
        metavar="PATH",
        help=f"the token store file [${ENV_TOKEN_STORE}; default here: {_default_store_for_help()}]",
    )
    group.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=_positive_seconds,
        help=f"how long to wait for the server (default {DEFAULT_TIMEOUT:g})",
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="log each request (secrets masked) and show tracebacks of unexpected errors",
    )
    return common


_EPILOG = (
    "The password is never a flag: login asks for it, or reads $MDNOTES_PASSWORD or --password-stdin.\n"
    "Exit status: 0 success, 1 API error (error answer, server unreachable, token store failure),\n"
    "2 usage error, 3 authentication failed (wrong password, not logged in, token refused), 130 Ctrl-C."
)


def build_parser() -> argparse.ArgumentParser:
    """The ``mdnotes`` argument parser; each command's handler is in ``args.handler``."""
    from mdnotesropcgwithoutauthscopes import __version__

    common = _common_options()
    parser = _Parser(
        prog=PROG,
        description="Sign in to the MdNotes API, check the service and your account, and manage the stored token.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command")

    def command(
        name: str, handler: Callable[[argparse.Namespace, Context], int], summary: str, detail: str
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            help=summary,
            description=f"{summary}\n\n{detail}",
            epilog=_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            parents=[common],
        )
        sub.set_defaults(handler=handler)
        return sub

    login = command(
        "login",
        _login,
        "Sign in with your password and keep the token in the token store.",
        "The password is read from --password-stdin, else $MDNOTES_PASSWORD, else asked for without echo.\n"
        "Only the token is kept; the password is not stored.",
    )
    login.add_argument(
        "--password-stdin", action="store_true", help="read the password from the first line of standard input"
    )
    for name, handler, summary in (
        ("status", _status, "Show the service status (GET /status) with the stored token."),
        ("user", _user, "Show your account (GET /user) with the stored token."),
    ):
        sub = command(
            name,
            handler,
            summary,
            "The token is renewed with its refresh token when it has expired or is refused; with\n"
            "$MDNOTES_PASSWORD set, the password is used when no token is stored or the refresh is refused.",
        )
        sub.add_argument("--json", action="store_true", help="print the answer as JSON")
    token = command(
        "token",
        _token,
        "Show the stored token's expiry, time left and fingerprint.",
        "The fingerprint is the first 12 hex digits of the SHA-256 of the access token: it tells tokens\n"
        "apart without showing them. Nothing is sent to the server.",
    )
    token.add_argument("--json", action="store_true", help="print the details as JSON")
    token.add_argument("--show", action="store_true", help="also print the access token itself (a secret)")
    command(
        "logout",
        _logout,
        "Forget the stored token.",
        "The token is removed from the token store; the server is not told (it has no revocation endpoint).",
    )
    return parser


# -------------------------------------------------------------------------------------- settings


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


def _default_store_for_help() -> str:
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

    Raises:
        CommandError: the client id or username is missing (exit status 2).
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
    if base_uri is not None and not base_uri.lower().startswith(("http://", "https://")):
        raise CommandError(f"--base-uri or ${ENV_BASE_URI} must start with http:// or https://, not {base_uri!r}", 2)
    store = getattr(args, "token_store", None)
    return Settings(
        base_uri=base_uri,
        client_id=client_id,
        client_secret=setting("client_secret", ENV_CLIENT_SECRET),
        username=username,
        token_store=Path(store).expanduser() if store else default_token_store_path(environ),
        timeout=getattr(args, "timeout", DEFAULT_TIMEOUT),
    )


# ------------------------------------------------------------------------------------ formatting


def fingerprint(access_token: str) -> str:
    """``sha256:`` and the first 12 hex digits of the SHA-256 of the token: tells tokens apart, reveals nothing."""
    return "sha256:" + hashlib.sha256(access_token.encode("utf-8")).hexdigest()[:FINGERPRINT_LENGTH]


def format_duration(seconds: float) -> str:
    """A length of time for people: ``42 s``, ``3 min 5 s``, ``2 h 0 min``, ``3 d 4 h``."""
    total = int(abs(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


def format_time(unix_time: float) -> str:
    """A UTC time for people: ``2026-12-01 16:20:00 UTC``."""
    return datetime.fromtimestamp(unix_time, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _iso_time(unix_time: float) -> str:
    return datetime.fromtimestamp(unix_time, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def format_fields(values: Mapping[str, Any]) -> str:
    """``name: value`` lines with the values aligned, in the mapping's order."""
    if not values:
        return ""
    width = max(len(str(name)) for name in values) + 1
    lines = []
    for name, value in values.items():
        shown = json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else value
        shown = "-" if shown is None else shown
        lines.append(f"{str(name) + ':':<{width}} {shown}".rstrip())
    return "\n".join(lines)


def format_json(value: Any) -> str:
    """Indented JSON, non-ASCII kept readable."""
    return json.dumps(value, indent=2, ensure_ascii=False)


def _expiry_text(token: OAuthToken, now: float) -> str:
    if token.expiry is None:
        return "unknown (the server gave no lifetime)"
    left = token.expiry - now
    when = "in " + format_duration(left) if left > 0 else format_duration(left) + " ago"
    return f"{format_time(token.expiry)} ({when})"


def token_details(token: OAuthToken, settings: Settings, base_uri: str, *, now: float, show: bool) -> dict[str, Any]:
    """What ``mdnotes token --json`` prints: never the access token unless ``show``, never the refresh token."""
    seconds_left = None if token.expiry is None else int(token.expiry - now)
    details: dict[str, Any] = {
        "username": settings.username,
        "base_uri": base_uri,
        "token_type": token.token_type,
        "expires_at": None if token.expiry is None else _iso_time(token.expiry),
        "expiry": token.expiry,
        "seconds_left": seconds_left,
        "expired": seconds_left is not None and seconds_left <= 0,
        "has_refresh_token": bool(token.refresh_token),
        "fingerprint": fingerprint(token.access_token or ""),
        "token_store": str(settings.token_store),
    }
    if show:
        details["access_token"] = token.access_token
    return details


def format_token(details: Mapping[str, Any], token: OAuthToken, *, now: float) -> str:
    """What ``mdnotes token`` prints for people."""
    if details["has_refresh_token"]:
        refresh = "yes (an expired token is renewed by the next call)"
    else:
        refresh = "no (log in again when it expires)"
    lines: dict[str, Any] = {
        "User": details["username"],
        "Server": details["base_uri"],
        "Token type": details["token_type"],
        "Expires": _expiry_text(token, now),
        "Refresh token": refresh,
        "Fingerprint": details["fingerprint"],
        "Token store": details["token_store"],
    }
    if "access_token" in details:
        lines["Access token"] = details["access_token"]
    return format_fields(lines)


# -------------------------------------------------------------------------------- error mapping


def describe_failure(exc: BaseException, settings: Settings, base_uri: str, *, logging_in: bool) -> CommandError:
    """Turn an SDK exception into the one line and exit status the command ends with.

    Args:
        exc: what the SDK raised.
        settings: the command's settings (named in the message; no secret).
        base_uri: the server the command talked to.
        logging_in: True for ``login`` (a refusal means a wrong password), False for calls made
            with the stored token (a refusal means the token cannot be renewed).

    Returns:
        CommandError: the message and exit status.
    """
    from mdnotesropcgwithoutauthscopes.exceptions.api_connection_exception import APIConnectionException
    from mdnotesropcgwithoutauthscopes.exceptions.api_exception import APIException
    from mdnotesropcgwithoutauthscopes.exceptions.auth_validation_exception import AuthValidationException
    from mdnotesropcgwithoutauthscopes.exceptions.insecure_transport_exception import InsecureTransportException
    from mdnotesropcgwithoutauthscopes.exceptions.o_auth_provider_exception import OAuthProviderException
    from mdnotesropcgwithoutauthscopes.http.auth.client_authentication import is_client_refusal, is_grant_refusal

    relogin = "; run 'mdnotes login'"
    if isinstance(exc, APIConnectionException):
        return CommandError(f"cannot reach the MdNotes server at {base_uri}: {exc}", EXIT_API_ERROR)
    if isinstance(exc, InsecureTransportException):
        return CommandError(
            f"refusing to send credentials over plain HTTP to {exc.url}: use an https:// base URI", EXIT_USAGE
        )
    if isinstance(exc, OAuthProviderException):
        said = exc.error or f"HTTP {exc.response_code}"
        if exc.error_description:
            said += f": {exc.error_description}"
        if is_client_refusal(exc):
            return CommandError(f"the server refused the client id or client secret ({said})", EXIT_AUTH)
        if exc.error == "unauthorized_client" or is_grant_refusal(exc):
            if logging_in:
                return CommandError(
                    f"login refused for {settings.username}: wrong username or password ({said})", EXIT_AUTH
                )
            return CommandError(
                f"the stored token for {settings.username} was refused and cannot be renewed ({said}){relogin}",
                EXIT_AUTH,
            )
        return CommandError(f"the token request failed ({said})", EXIT_API_ERROR)
    if isinstance(exc, AuthValidationException):
        if logging_in:
            return CommandError(f"cannot log in: {exc}", EXIT_USAGE)
        if exc.response_code == 401:
            return CommandError(
                f"the server refused the stored token for {settings.username} and it cannot be renewed{relogin}",
                EXIT_AUTH,
            )
        return CommandError(
            f"not logged in as {settings.username}, or the stored token expired and cannot be renewed{relogin}",
            EXIT_AUTH,
        )
    if isinstance(exc, APIException):
        if exc.response_code == 401:
            return CommandError(f"the server refused the token for {settings.username} ({exc}){relogin}", EXIT_AUTH)
        return CommandError(f"the API call failed: {exc}", EXIT_API_ERROR)
    return CommandError(f"the token store {settings.token_store} cannot be used: {exc}", EXIT_API_ERROR)


def _failures() -> tuple[type[BaseException], ...]:
    """The exceptions ``describe_failure`` turns into messages: the SDK's, and the store's."""
    import sqlite3

    from mdnotesropcgwithoutauthscopes.exceptions.api_exception import APIException
    from mdnotesropcgwithoutauthscopes.http.auth.token_store import TokenStoreError

    return (APIException, TokenStoreError, sqlite3.Error, OSError)


# ------------------------------------------------------------------------------- store & client


@contextmanager
def _open_store(path: Path, *, create: bool) -> Iterator[Optional[SQLiteTokenStore]]:
    """The SQLite token store at ``path``, closed afterwards; None when there is no file and ``create`` is False.

    Directories this creates are 0700; the store creates its file 0600.
    """
    if not path.exists():
        if not create:
            yield None
            return
        _make_private_directory(path.parent)
    from mdnotesropcgwithoutauthscopes.http.auth.token_store import SQLiteTokenStore

    with SQLiteTokenStore(path) as store:
        yield store


def _make_private_directory(directory: Path) -> None:
    """Create ``directory`` (and missing parents); the directories created are readable by the owner only."""
    missing = []
    current = directory
    while not current.exists():
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        os.mkdir(path, 0o700)
        os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask; make it exact


def _client(
    settings: Settings, store: Optional[TokenStore], password: Optional[str]
) -> MdnotesropcgwithoutauthscopesClient:
    from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import ResourceOwnerAuthCredentials
    from mdnotesropcgwithoutauthscopes.mdnotesropcgwithoutauthscopes_client import MdnotesropcgwithoutauthscopesClient

    credentials = ResourceOwnerAuthCredentials(
        o_auth_client_id=settings.client_id,
        o_auth_client_secret=settings.client_secret,
        o_auth_username=settings.username,
        o_auth_password=password,
        o_auth_token_store=store,
        # No renewal in the background: the command exits right after its call, and a renewal cut
        # off mid-request could spend the stored refresh token without saving its successor. An
        # expired token is renewed before the call instead, and saved before the command ends.
        o_auth_refresh_window=0,
    )
    try:
        return MdnotesropcgwithoutauthscopesClient(
            base_uri=settings.base_uri, timeout=settings.timeout, resource_owner_auth_credentials=credentials
        )
    except (TypeError, ValueError) as exc:
        raise CommandError(f"bad setting: {exc}", EXIT_USAGE) from None


def _store_key(client: MdnotesropcgwithoutauthscopesClient) -> str:
    """The key under which the SDK keeps this client's token (from the token URL, client id and username)."""
    key = client.http_ropcg.token_store_key
    assert key is not None, "only clients built with a token store are asked for their key"
    return key


def _stored_token(settings: Settings, store: Optional[TokenStore]) -> tuple[Optional[str], Optional[OAuthToken]]:
    """The store key of these settings and the token kept under it; (None, None) without a store file."""
    if store is None:
        return None, None
    with _client(settings, store, None) as client:
        key = _store_key(client)
    return key, store.load(key)


def _not_logged_in(context: Context) -> CommandError:
    return CommandError(
        f"not logged in as {context.settings.username} at {context.base_uri}; run 'mdnotes login'", EXIT_AUTH
    )


# ------------------------------------------------------------------------------------ commands


@dataclass(frozen=True)
class Context:
    """What a command handler gets besides its arguments: settings, environment and output."""

    settings: Settings
    environ: Mapping[str, str]
    out: TextIO

    @property
    def base_uri(self) -> str:
        """The server the command talks to (for messages; the client computes the same)."""
        if self.settings.base_uri:
            return self.settings.base_uri.rstrip("/")
        from mdnotesropcgwithoutauthscopes.configuration import Configuration

        return Configuration().get_base_uri()

    def print(self, text: str) -> None:
        """Write a line of the command's output."""
        print(text, file=self.out)


def _read_password(args: argparse.Namespace, context: Context) -> str:
    """The password from ``--password-stdin``, ``$MDNOTES_PASSWORD`` or a prompt on the terminal without echo.

    Without a terminal (a pipe, a service) the prompt would have nowhere to go: the first line of
    standard input is read instead, as with ``--password-stdin``.
    """
    if not args.password_stdin and context.environ.get(ENV_PASSWORD):
        return context.environ[ENV_PASSWORD]
    if args.password_stdin or not _has_terminal():
        password = sys.stdin.readline().rstrip("\r\n")
        source = "standard input"
    else:
        import getpass

        source = "the prompt"
        try:
            password = getpass.getpass(f"Password for {context.settings.username}: ")
        except EOFError:
            password = ""
    if not password:
        raise CommandError(
            f"no password given on {source} (type it when asked, set ${ENV_PASSWORD} or use --password-stdin)",
            EXIT_USAGE,
        )
    return password


def _has_terminal() -> bool:
    """Whether getpass can prompt on a terminal without echo (it uses the controlling terminal)."""
    if os.name == "nt":
        return sys.stdin.isatty()
    try:
        os.close(os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY))
    except OSError:
        return False
    return True


def _login(args: argparse.Namespace, context: Context) -> int:
    settings = context.settings
    password = _read_password(args, context)
    with _open_store(settings.token_store, create=True) as store, _client(settings, store, password) as client:
        assert store is not None  # created when missing
        token = client.http_ropcg.fetch_token()
        store.save(_store_key(client), token)
    context.print(f"Logged in as {settings.username} at {context.base_uri}.")
    context.print(f"The token expires {_expiry_text(token, time.time())}; it is kept in {settings.token_store}")
    return EXIT_OK


def _api_call(
    args: argparse.Namespace, context: Context, call: Callable[[MdnotesropcgwithoutauthscopesClient], Any]
) -> int:
    """Run ``call`` with the stored token (and the password only when ``$MDNOTES_PASSWORD`` is set)."""
    settings = context.settings
    password = context.environ.get(ENV_PASSWORD) or None
    # With a password the SDK can sign in and save a first token itself; without one, a missing
    # store means there is nothing to use, and it is not created just to say so.
    with _open_store(settings.token_store, create=password is not None) as store:
        with _client(settings, store, password) as client:
            if password is None and (store is None or store.load(_store_key(client)) is None):
                raise _not_logged_in(context)
            result = call(client)
    values = result.to_dictionary()
    context.print(format_json(values) if args.json else format_fields(values))
    return EXIT_OK


def _status(args: argparse.Namespace, context: Context) -> int:
    return _api_call(args, context, lambda client: client.service.get_status())


def _user(args: argparse.Namespace, context: Context) -> int:
    return _api_call(args, context, lambda client: client.user.get_user())


def _token(args: argparse.Namespace, context: Context) -> int:
    settings = context.settings
    with _open_store(settings.token_store, create=False) as store:
        _, token = _stored_token(settings, store)
    if token is None:
        raise _not_logged_in(context)
    now = time.time()
    details = token_details(token, settings, context.base_uri, now=now, show=args.show)
    context.print(format_json(details) if args.json else format_token(details, token, now=now))
    return EXIT_OK


def _logout(args: argparse.Namespace, context: Context) -> int:
    settings = context.settings
    with _open_store(settings.token_store, create=False) as store:
        key, token = _stored_token(settings, store)
        if store is not None and key is not None and token is not None:
            store.delete(key)
    if token is None:
        context.print(f"Not logged in as {settings.username} at {context.base_uri}; nothing to forget.")
    else:
        context.print(f"Logged out: forgot the token of {settings.username} at {context.base_uri}.")
    return EXIT_OK


# ---------------------------------------------------------------------------------------- main


@contextmanager
def _sdk_logging(verbose: bool) -> Iterator[None]:
    """Show the SDK's warnings (debug lines with ``-v``) on stderr, prefixed; undone afterwards."""
    logger = logging.getLogger(_SDK_LOGGER)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"{PROG}: %(levelname)s: %(message)s"))
    saved_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.WARNING)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved_level)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run ``mdnotes`` with ``argv`` (default: the process's arguments) and return the exit status.

    Errors end as one ``mdnotes: error: ...`` line on stderr, without a traceback or a secret;
    Ctrl-C ends quietly with status 130.

    Args:
        argv: the arguments after the program name.

    Returns:
        int: 0 success, 1 API error, 2 usage error, 3 authentication failed, 130 interrupted.
    """
    verbose = False
    try:
        arguments = sys.argv[1:] if argv is None else list(argv)
        _refuse_password_argument(arguments)
        parser = build_parser()
        try:
            args = parser.parse_args(arguments)
        except SystemExit as exc:  # --help and --version print and "exit"; main() returns instead
            return exc.code if isinstance(exc.code, int) else EXIT_USAGE
        verbose = getattr(args, "verbose", False)
        if args.command is None:
            raise CommandError(f"choose a command: login, status, user, token or logout (see '{PROG} --help')", 2)
        context = Context(resolve_settings(args, os.environ), os.environ, sys.stdout)
        with _sdk_logging(verbose):
            try:
                status: int = args.handler(args, context)
            except BrokenPipeError:
                raise
            except _failures() as exc:
                raise describe_failure(
                    exc, context.settings, context.base_uri, logging_in=args.command == "login"
                ) from None
        sys.stdout.flush()
        return status
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except CommandError as exc:
        print(f"{PROG}: error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        # The reader went away (``mdnotes status | head -1``): stop quietly, and keep the
        # interpreter from complaining when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_API_ERROR
    except Exception as exc:  # noqa: BLE001 - one line instead of a traceback, as promised
        if verbose:
            raise
        # The message of an unknown exception could hold anything, so only its type is shown.
        print(f"{PROG}: error: unexpected {type(exc).__name__}; run again with --verbose for details", file=sys.stderr)
        return EXIT_API_ERROR
