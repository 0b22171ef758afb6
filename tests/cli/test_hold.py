"""``mdnotes login`` and ``logout`` with the sign-in hold (API.md section 9) kept in the command's token store."""

import re
import sqlite3
import time

import pytest

from mdnotesropcgwithoutauthscopes import (
    CredentialsHeldException,
    InvalidGrantException,
    MdnotesropcgwithoutauthscopesClient,
    ResourceOwnerAuthCredentials,
    SQLiteTokenStore,
)
from mdnotesropcgwithoutauthscopes.http.auth import guard
from tests.helpers.cli import DEMO, assert_one_error_line

USER = DEMO["username"]
WRONG = "wrong-PASSWORD-guess"
#: How long the hold set up by ``hold_in_store`` lasts: far longer than a command takes to start.
LONG_HOLD = 120.0


def sdk_client(server, store, **changes):
    """An SDK client of ``server`` with the command's settings (same store key), ``changes`` applied."""
    values = dict(
        o_auth_client_id=DEMO["client_id"],
        o_auth_client_secret=DEMO["client_secret"],
        o_auth_username=USER,
        o_auth_password=DEMO["password"],
        o_auth_token_store=store,
    )
    values.update(changes)
    return MdnotesropcgwithoutauthscopesClient(
        base_uri=server.base_uri, resource_owner_auth_credentials=ResourceOwnerAuthCredentials(**values)
    )


def hold_in_store(monkeypatch, mdnotes, server, **changes):
    """One refused password grant by the SDK on the command's store: a hold of ``LONG_HOLD`` seconds."""
    monkeypatch.setattr(guard, "HOLD_FIRST", LONG_HOLD)
    mdnotes.store_path.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
    with SQLiteTokenStore(mdnotes.store_path) as store, sdk_client(server, store, **changes) as client:
        with pytest.raises(InvalidGrantException if "o_auth_password" in changes else Exception):
            client.http_ropcg.fetch_token()
        held = client.http_ropcg.hold
    assert held is not None and held.retry_at > time.time() + LONG_HOLD - 10
    return held


def hold_rows(mdnotes):
    with sqlite3.connect(mdnotes.store_path) as db:
        return db.execute("SELECT count(*) FROM records WHERE name = 'hold'").fetchone()[0]


def test_login_refused_records_a_hold_that_the_sdk_honours(mdnotes, server):
    result = mdnotes("login", MDNOTES_PASSWORD=WRONG)

    assert_one_error_line(result, code=3, starts=f"login refused for {USER}: wrong username or password (invalid_grant")
    assert hold_rows(mdnotes) == 1
    with SQLiteTokenStore(mdnotes.store_path) as store:
        with sdk_client(server, store, o_auth_password=WRONG) as client:
            assert client.http_ropcg.hold is not None  # the command's refusal holds the same credentials
            with pytest.raises(CredentialsHeldException):
                client.service.get_status()
        with sdk_client(server, store) as client:
            assert client.http_ropcg.hold is None  # the right password is not held
    assert (server.stats()["password_grant_requests"], server.stats()["refused_password_grants"]) == (1, 1)


def test_login_while_held_says_when_the_next_try_is_allowed_and_sends_nothing(monkeypatch, mdnotes, server):
    held = hold_in_store(monkeypatch, mdnotes, server, o_auth_password=WRONG)

    result = mdnotes("login", MDNOTES_PASSWORD=WRONG)

    assert_one_error_line(result, code=3, starts=f"sign-in held: the server refused the password of {USER} once,")
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(held.retry_at))
    assert f"not sent again before {when} (in " in result.stderr
    assert "run 'mdnotes logout' to clear the hold" in result.stderr
    assert WRONG not in result.output
    assert server.stats()["password_grant_requests"] == 1  # the SDK's refusal only: the command sent nothing


def test_login_with_the_corrected_password_is_not_held(monkeypatch, mdnotes, server):
    hold_in_store(monkeypatch, mdnotes, server, o_auth_password=WRONG)

    result = mdnotes("login", MDNOTES_PASSWORD=DEMO["password"])

    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith(f"Logged in as {USER} at {server.base_uri}.")
    stats = server.stats()
    assert (stats["password_grant_requests"], stats["password_grants"]) == (2, 1)
    assert hold_rows(mdnotes) == 0  # a successful sign-in clears the hold


def test_logout_clears_the_hold_and_the_token(monkeypatch, mdnotes, server):
    assert mdnotes("login", MDNOTES_PASSWORD=DEMO["password"]).returncode == 0
    hold_in_store(monkeypatch, mdnotes, server, o_auth_password=WRONG)
    assert mdnotes("login", MDNOTES_PASSWORD=WRONG).returncode == 3  # held

    logged_out = mdnotes("logout")

    assert (logged_out.returncode, logged_out.stderr) == (0, "")
    assert logged_out.stdout == f"Logged out: forgot the token of {USER} at {server.base_uri}.\n"
    assert hold_rows(mdnotes) == 0
    with sqlite3.connect(mdnotes.store_path) as db:
        assert db.execute("SELECT count(*) FROM tokens").fetchone()[0] == 0
    again = mdnotes("login", MDNOTES_PASSWORD=WRONG)  # sent to the server again, and refused
    assert_one_error_line(again, code=3, starts=f"login refused for {USER}: wrong username or password")
    stats = server.stats()
    assert (stats["password_grant_requests"], stats["refused_password_grants"]) == (3, 2)


def test_logout_clears_a_hold_when_no_token_is_stored(monkeypatch, mdnotes, server):
    hold_in_store(monkeypatch, mdnotes, server, o_auth_password=WRONG)

    logged_out = mdnotes("logout")

    assert logged_out.stdout == f"Not logged in as {USER} at {server.base_uri}; nothing to forget.\n"
    assert hold_rows(mdnotes) == 0


def test_a_held_client_secret_is_named(monkeypatch, mdnotes, server):
    hold_in_store(monkeypatch, mdnotes, server, o_auth_client_secret="wrong-SECRET")

    result = mdnotes("login", MDNOTES_PASSWORD=DEMO["password"], MDNOTES_CLIENT_SECRET="wrong-SECRET")

    assert_one_error_line(result, code=3, starts="sign-in held: the server refused the client id or client secret ")
    assert "wrong-SECRET" not in result.output
    assert re.search(r"\(in \d", result.stderr)
    # AUTO's round of client authentications for this id, all refused: nothing more from the command.
    assert server.stats()["client_authentication_failures"] == server.stats()["token_requests"]
    assert server.stats()["password_grants"] == 0


def test_status_with_the_password_in_the_environment_is_held_too(monkeypatch, mdnotes, server):
    hold_in_store(monkeypatch, mdnotes, server, o_auth_password=WRONG)

    result = mdnotes("status", MDNOTES_PASSWORD=WRONG)

    assert_one_error_line(result, code=3, starts="sign-in held: ")
    assert server.stats()["token_requests"] == 1
