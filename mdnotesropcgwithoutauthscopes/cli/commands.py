"""The ``mdnotes`` commands: their handlers, the token store they share and the client they build.

Only the SDK's public API is used (names from the package root), imported when a command runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional, TextIO

from mdnotesropcgwithoutauthscopes.cli.errors import held_message
from mdnotesropcgwithoutauthscopes.cli.exits import EXIT_AUTH, EXIT_OK, EXIT_USAGE, CommandError
from mdnotesropcgwithoutauthscopes.cli.output import (
    expiry_text,
    format_fields,
    format_json,
    format_token,
    token_details,
)
from mdnotesropcgwithoutauthscopes.cli.settings import ENV_PASSWORD, Settings

if TYPE_CHECKING:
    from mdnotesropcgwithoutauthscopes import (
        MdnotesropcgwithoutauthscopesClient,
        OAuthToken,
        SQLiteTokenStore,
        TokenStore,
    )


@contextmanager
def open_store(path: Path, *, create: bool) -> Iterator[Optional[SQLiteTokenStore]]:
    """The SQLite token store at ``path``, closed afterwards; None when there is no file and ``create`` is False.

    Directories this creates are 0700; the store creates its file 0600.
    """
    if not path.exists():
        if not create:
            yield None
            return
        make_private_directory(path.parent)
    from mdnotesropcgwithoutauthscopes import SQLiteTokenStore

    with SQLiteTokenStore(path) as store:
        yield store


def make_private_directory(directory: Path) -> None:
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
    from mdnotesropcgwithoutauthscopes import MdnotesropcgwithoutauthscopesClient, ResourceOwnerAuthCredentials

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
        from mdnotesropcgwithoutauthscopes import Configuration

        return Configuration().get_base_uri()

    def print(self, text: str) -> None:
        """Write a line of the command's output."""
        print(text, file=self.out)


def read_password(args: argparse.Namespace, context: Context) -> str:
    """The password from ``--password-stdin``, ``$MDNOTES_PASSWORD`` or a prompt on the terminal without echo.

    Without a terminal (a pipe, a service) the prompt would have nowhere to go: the first line of
    standard input is read instead, as with ``--password-stdin``.
    """
    if not args.password_stdin and context.environ.get(ENV_PASSWORD):
        return context.environ[ENV_PASSWORD]
    if args.password_stdin or not has_terminal():
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


def has_terminal() -> bool:
    """Whether getpass can prompt on a terminal without echo (it uses the controlling terminal)."""
    if os.name == "nt":
        return sys.stdin.isatty()
    try:
        os.close(os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY))
    except OSError:
        return False
    return True


def login(args: argparse.Namespace, context: Context) -> int:
    settings = context.settings
    password = read_password(args, context)
    with open_store(settings.token_store, create=True) as store, _client(settings, store, password) as client:
        assert store is not None  # created when missing
        held = client.http_ropcg.hold  # a hold on these very credentials, recorded by an earlier refusal
        if held is not None:
            raise CommandError(held_message(held, settings), EXIT_AUTH)
        token = client.http_ropcg.fetch_token()
        store.save(_store_key(client), token)
    context.print(f"Logged in as {settings.username} at {context.base_uri}.")
    context.print(f"The token expires {expiry_text(token, time.time())}; it is kept in {settings.token_store}")
    return EXIT_OK


def _api_call(
    args: argparse.Namespace, context: Context, call: Callable[[MdnotesropcgwithoutauthscopesClient], Any]
) -> int:
    """Run ``call`` with the stored token (and the password only when ``$MDNOTES_PASSWORD`` is set)."""
    settings = context.settings
    password = context.environ.get(ENV_PASSWORD) or None
    # With a password the SDK can sign in and save a first token itself; without one, a missing
    # store means there is nothing to use, and it is not created just to say so.
    with open_store(settings.token_store, create=password is not None) as store:
        with _client(settings, store, password) as client:
            if password is None and (store is None or store.load(_store_key(client)) is None):
                raise _not_logged_in(context)
            result = call(client)
    values = result.to_dictionary()
    context.print(format_json(values) if args.json else format_fields(values))
    return EXIT_OK


def status(args: argparse.Namespace, context: Context) -> int:
    return _api_call(args, context, lambda client: client.service.get_status())


def user(args: argparse.Namespace, context: Context) -> int:
    return _api_call(args, context, lambda client: client.user.get_user())


def token(args: argparse.Namespace, context: Context) -> int:
    settings = context.settings
    with open_store(settings.token_store, create=False) as store:
        _, token = _stored_token(settings, store)
    if token is None:
        raise _not_logged_in(context)
    now = time.time()
    details = token_details(token, settings, context.base_uri, now=now, show=args.show)
    context.print(format_json(details) if args.json else format_token(details, token, now=now))
    return EXIT_OK


def logout(args: argparse.Namespace, context: Context) -> int:
    """Forget the stored token, and clear any sign-in hold recorded in the store for these settings."""
    settings = context.settings
    token: Optional[OAuthToken] = None
    with open_store(settings.token_store, create=False) as store:
        if store is not None:
            with _client(settings, store, None) as client:
                key = _store_key(client)
                token = store.load(key)
                client.http_ropcg.clear_hold()  # for every password and secret: the operator says go
                if token is not None:
                    store.delete(key)
    if token is None:
        context.print(f"Not logged in as {settings.username} at {context.base_uri}; nothing to forget.")
    else:
        context.print(f"Logged out: forgot the token of {settings.username} at {context.base_uri}.")
    return EXIT_OK
