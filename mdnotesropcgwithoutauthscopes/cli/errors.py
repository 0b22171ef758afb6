"""SDK failures turned into one-line messages and exit statuses (the statuses live in ``exits``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mdnotesropcgwithoutauthscopes.cli.exits import EXIT_API_ERROR, EXIT_AUTH, EXIT_USAGE, CommandError

if TYPE_CHECKING:
    from mdnotesropcgwithoutauthscopes import CredentialsHeldException
    from mdnotesropcgwithoutauthscopes.cli.settings import Settings


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
    from mdnotesropcgwithoutauthscopes import (
        APIConnectionException,
        APIException,
        AuthValidationException,
        CredentialsHeldException,
        InsecureTransportException,
        OAuthProviderException,
    )

    relogin = "; run 'mdnotes login'"
    if isinstance(exc, CredentialsHeldException):
        return CommandError(held_message(exc, settings), EXIT_AUTH)
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
        if exc.refused_client:
            return CommandError(f"the server refused the client id or client secret ({said})", EXIT_AUTH)
        if exc.error == "unauthorized_client" or exc.refused_grant:
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


def held_message(held: CredentialsHeldException, settings: Settings) -> str:
    """One line for a sign-in hold: what was refused, when the next try is allowed, how to clear it."""
    import time

    from mdnotesropcgwithoutauthscopes.cli.output import format_duration, format_time

    what = "client id or client secret" if held.refused == "client" else f"password of {settings.username}"
    times = "once" if held.refusals == 1 else f"{held.refusals} times in a row"
    left = max(0.0, held.retry_at - time.time())
    return (
        f"sign-in held: the server refused the {what} {times}, so it is not sent again before"
        f" {format_time(held.retry_at)} (in {format_duration(left)}) to keep the account from being locked;"
        " fix it and try then, or run 'mdnotes logout' to clear the hold"
    )


def failures() -> tuple[type[BaseException], ...]:
    """The exceptions ``describe_failure`` turns into messages: the SDK's, and the store's."""
    import sqlite3

    from mdnotesropcgwithoutauthscopes import APIException, TokenStoreError

    return (APIException, TokenStoreError, sqlite3.Error, OSError)
