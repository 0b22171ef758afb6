"""The sign-in hold (API.md section 9) against the reference server with account and client lockout.

The hold is 3 s after the first refusal and doubles with each further one (3, 6, 12 s...), so in a
10 s or 15 s run the credentials are sent at 0 s, about 3 s and about 9 s: exactly 3 requests,
below the lockout threshold of 5. Every count below is the server's.
"""

import hashlib
import itertools
import json
import signal
import sqlite3
import time

import pytest
import redis

from mdnotesropcgwithoutauthscopes import (
    CredentialsHeldException,
    InvalidClientException,
    InvalidGrantException,
    OAuthProviderException,
    RedisTokenStore,
    SQLiteTokenStore,
)
from mdnotesropcgwithoutauthscopes.exceptions import CredentialsHeldException as HeldFromExceptions
from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import token_store_key
from tests.helpers.integration import DEMO, run_fleet
from tests.integration import hold_workers

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX processes")

THRESHOLD = 5
WRONG_PASSWORD = {**DEMO, "password": "wrong pass:word"}
WRONG_SECRET = {**DEMO, "client_secret": "wrong secret:+%/ü"}


@pytest.fixture
def locking(start):
    """A server that locks an account (or a client) after 5 failures in 10 minutes."""
    return start(token_lifetime=3600, lockout_threshold=THRESHOLD, lockout_period=600)


def make_store(kind, request, tmp_path):
    if kind == "sqlite":
        return SQLiteTokenStore(tmp_path / "tokens.sqlite3")
    return RedisTokenStore(request.getfixturevalue("redis_server").url)


def test_the_exception_is_an_oauth_provider_exception_importable_everywhere():
    assert CredentialsHeldException is HeldFromExceptions
    assert issubclass(CredentialsHeldException, OAuthProviderException)


# ------------------------------------------------------------------------------------ one client


def test_16_threads_with_a_wrong_password_for_10_s_send_it_3_times_and_never_lock_the_account(locking):
    client = hold_workers.client(locking.base_uri, WRONG_PASSWORD)
    outcomes = hold_workers.Outcomes()

    outcomes.run(client, threads=16, seconds=10.0)

    stats = locking.stats()
    assert (stats["token_requests"], stats["password_grant_requests"], stats["refused_password_grants"]) == (3, 3, 3)
    assert (stats["account_lockouts"], stats["locked_account_refusals"], locking.locked_accounts()) == (0, 0, ())
    assert stats["api_requests"] == 0
    raised = outcomes.raised
    assert set(raised) == {"InvalidGrantException", "CredentialsHeldException"}, raised
    assert outcomes.first == "InvalidGrantException"
    assert outcomes.oauth_provider_errors == sum(raised.values())  # every call: a typed OAuth provider error
    # Thousands of held calls, each raised at once without a request (3 requests in all).
    assert raised["CredentialsHeldException"] > 1000
    assert outcomes.slowest_held < 1.0
    held = client.http_ropcg.hold
    assert isinstance(held, CredentialsHeldException)
    assert (held.refused, held.refusals, held.error) == ("grant", 3, "invalid_grant")
    client.close()


def test_16_threads_with_a_wrong_client_secret_for_10_s_send_one_round_and_never_lock_the_client(locking):
    """The demo client id has ':' and non-ASCII: AUTO tries 3 client authentications, and the hold counts them all."""
    client = hold_workers.client(locking.base_uri, WRONG_SECRET)
    outcomes = hold_workers.Outcomes()

    outcomes.run(client, threads=16, seconds=10.0)

    stats = locking.stats()
    assert (stats["token_requests"], stats["client_authentication_failures"]) == (3, 3)
    assert (stats["client_lockouts"], stats["locked_client_refusals"], locking.locked_clients()) == (0, 0, ())
    assert (stats["refused_password_grants"], stats["api_requests"]) == (0, 0)
    raised = outcomes.raised
    assert set(raised) == {"InvalidClientException", "CredentialsHeldException"}, raised
    assert outcomes.first == "InvalidClientException"
    assert outcomes.oauth_provider_errors == sum(raised.values())
    assert outcomes.slowest_held < 1.0
    held = client.http_ropcg.hold
    assert (held.refused, held.refusals, held.error) == ("client", 3, "invalid_client")
    assert held.retry_at - time.time() > 0  # 12 s after the first round: still held
    client.close()


def test_a_wrong_client_secret_after_the_hold_sends_one_request_not_a_whole_round(locking):
    client = hold_workers.client(locking.base_uri, WRONG_SECRET, hold_max=0.5)
    with pytest.raises(InvalidClientException):
        client.service.get_status()
    time.sleep(0.6)
    with pytest.raises(InvalidClientException):
        client.service.get_status()
    assert locking.stats()["client_authentication_failures"] == 4  # 3 for AUTO's round, then the RFC method
    client.http_ropcg.clear_hold()  # the operator fixed the client: every method is tried again
    with pytest.raises(InvalidClientException):
        client.service.get_status()
    assert locking.stats()["client_authentication_failures"] == 7
    client.close()


def test_clear_hold_sends_the_credentials_again_and_fetch_token_is_held_too(locking):
    client = hold_workers.client(locking.base_uri, WRONG_PASSWORD)
    with pytest.raises(InvalidGrantException):
        client.http_ropcg.fetch_token()
    with pytest.raises(CredentialsHeldException) as held:
        client.http_ropcg.fetch_token()
    assert "client.http_ropcg.clear_hold()" in str(held.value)
    assert 0 < held.value.retry_after <= 3.0
    assert locking.stats()["password_grant_requests"] == 1

    client.http_ropcg.clear_hold()

    assert client.http_ropcg.hold is None
    with pytest.raises(InvalidGrantException):
        client.service.get_status()
    assert locking.stats()["password_grant_requests"] == 2
    assert client.http_ropcg.hold.refusals == 1  # the cleared hold was forgotten: counting starts again
    client.close()


def test_zero_turns_the_hold_off(locking):
    client = hold_workers.client(locking.base_uri, WRONG_PASSWORD, hold_max=0)
    for _ in range(3):
        with pytest.raises(InvalidGrantException):
            client.service.get_status()
    assert client.http_ropcg.hold is None
    assert locking.stats()["refused_password_grants"] == 3
    client.close()


# ------------------------------------------------------------------------------------ a fleet


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_a_fleet_with_a_wrong_password_sends_it_3_times_then_the_right_password_signs_in_at_once(
    kind, request, tmp_path, locking
):
    """4 processes x 8 threads on one store, wrong password, 15 s: 3 refusals fleet-wide, no lockout."""
    processes, seconds = 4, 15.0
    store = make_store(kind, request, tmp_path)
    outcomes = run_fleet(
        hold_workers.hold_process, (locking.base_uri, store, WRONG_PASSWORD, 8, seconds), processes, seconds
    )

    stats = locking.stats()
    assert (stats["token_requests"], stats["password_grant_requests"], stats["refused_password_grants"]) == (3, 3, 3)
    assert (stats["account_lockouts"], locking.locked_accounts(), stats["api_requests"]) == (0, (), 0)
    for outcome in outcomes:
        assert set(outcome["raised"]) <= {"InvalidGrantException", "CredentialsHeldException"}, outcome
        assert outcome["raised"]["CredentialsHeldException"] > 100, outcome
        assert outcome["oauth_provider_errors"] == sum(outcome["raised"].values())

    # A process with the corrected password (here: this one, with its own store object) is not held.
    fresh = make_store(kind, request, tmp_path)
    right = hold_workers.client(locking.base_uri, DEMO, fresh)
    started = time.monotonic()
    assert right.service.get_status().status
    assert time.monotonic() - started < 2.0
    stats = locking.stats()
    assert (stats["password_grant_requests"], stats["password_grants"], stats["api_requests"]) == (4, 1, 1)
    # ... and its success cleared the hold for the fleet.
    assert fresh.load_record(right.http_ropcg.token_store_key, "hold") is None
    right.close()


# ------------------------------------------------------------------------------------ what the store holds


def fast_digests(*values):
    """Hex digests by fast hashes of each value and of the credentials joined in the usual ways."""
    parts = [DEMO["client_id"], DEMO["client_secret"], DEMO["username"], DEMO["password"]]
    texts = set(values)
    for joiner in ("", ":", "\x00", "\n", "|"):
        for size in (2, 3, 4):
            for combo in itertools.permutations(parts, size):
                texts.add(joiner.join(combo))
    found = set()
    for text in texts:
        for name in ("md5", "sha1", "sha256", "sha512", "blake2b", "sha3_256"):
            found.add(hashlib.new(name, text.encode("utf-8")).hexdigest())
    return found


def raw_contents(store):
    """Every byte the store holds: all rows of all tables (and the files), or all Redis keys and values."""
    if isinstance(store, SQLiteTokenStore):
        blobs = []
        with sqlite3.connect(store.path) as db:
            tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            assert {"tokens", "leases", "records"} <= set(tables)
            for table in tables:
                blobs += [repr(row).encode() for row in db.execute(f"SELECT * FROM {table}")]  # noqa: S608
        values = [blob.decode() for blob in blobs]
        for suffix in ("", "-wal"):
            try:
                with open(store.path + suffix, "rb") as file:
                    blobs.append(file.read())
            except FileNotFoundError:
                pass
        return blobs, values
    client = redis.Redis.from_url(store._url)
    keys = client.keys("*")
    blobs = list(keys)
    values = []
    for key in keys:
        kind = client.type(key)
        if kind == b"string":
            found = [client.get(key)]
        elif kind == b"list":  # the lease's wake-up list
            found = client.lrange(key, 0, -1)
        else:
            found = [client.dump(key)]
        blobs += found
        values += [value.decode("utf-8", "replace") for value in found]
    return blobs, values


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_a_refused_client_secret_holds_every_process_on_the_store_but_not_a_corrected_secret(
    kind, request, tmp_path, locking
):
    store = make_store(kind, request, tmp_path)
    refused = hold_workers.client(locking.base_uri, WRONG_SECRET, store)
    with pytest.raises(InvalidClientException):
        refused.service.get_status()
    sent = locking.stats()["token_requests"]

    # Another process with the same wrong secret (its own client and store object) is held at once.
    other = hold_workers.client(locking.base_uri, WRONG_SECRET, make_store(kind, request, tmp_path))
    with pytest.raises(CredentialsHeldException) as held:
        other.service.get_status()
    assert held.value.refused == "client"
    assert locking.stats()["token_requests"] == sent

    # A process started with the corrected secret is not held: it signs in with one request.
    corrected = hold_workers.client(locking.base_uri, DEMO, make_store(kind, request, tmp_path))
    assert corrected.http_ropcg.hold is None
    assert corrected.service.get_status().status == "ok"
    stats = locking.stats()
    assert (stats["token_requests"] - sent, stats["password_grants"], stats["client_lockouts"]) == (1, 1, 0)
    for client in (refused, other, corrected):
        client.close()


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_the_store_holds_no_credentials_and_nothing_that_checks_a_guess_quickly(kind, request, tmp_path, locking):
    store = make_store(kind, request, tmp_path)
    right = hold_workers.client(locking.base_uri, DEMO, store)
    right.service.get_status()  # a token in the store
    for wrong in (WRONG_PASSWORD, WRONG_SECRET):
        client = hold_workers.client(locking.base_uri, wrong, store)
        with pytest.raises(OAuthProviderException):
            client.http_ropcg.fetch_token()  # a call would use the stored token: no password sent
        client.close()
    key = right.http_ropcg.token_store_key
    record = store.load_record(key, "hold")
    assert record is not None and record["kind"] == "client"

    blobs, values = raw_contents(store)
    forbidden = set()
    for credentials in (DEMO, WRONG_PASSWORD, WRONG_SECRET):
        for value in credentials.values():
            forbidden |= {value.encode(), value.encode("unicode_escape"), json.dumps(value)[1:-1].encode()}
    for value in forbidden:
        assert all(value not in blob for blob in blobs), f"the store holds {value!r}"
    digests = fast_digests(*DEMO.values(), *WRONG_PASSWORD.values(), *WRONG_SECRET.values())
    for digest in digests:
        assert all(digest.encode() not in blob for blob in blobs)
    # The record's digest is none of them: it is scrypt (16 MiB of memory per guess) with a random salt.
    assert record["digest"] not in digests
    assert len(bytes.fromhex(record["salt"])) == 16
    material = "\x00".join(
        (WRONG_SECRET["client_id"], WRONG_SECRET["client_secret"], WRONG_SECRET["username"], WRONG_SECRET["password"])
    ).encode()
    scrypt = hashlib.scrypt(material, salt=bytes.fromhex(record["salt"]), n=2**14, r=8, p=1, maxmem=2**26, dklen=32)
    assert record["digest"] == scrypt.hex()
    assert set(record) == {"until", "refusals", "kind", "error", "description", "salt", "digest"}
    assert any('"access_token"' in value for value in values)  # the scan did see the token
    right.close()


# ------------------------------------------------------------------------------------ the previous release's store


def test_a_store_written_by_the_previous_release_opens_and_works(tmp_path, start):
    server = start(token_lifetime=3600)
    seed = hold_workers.client(server.base_uri, DEMO)
    token = seed.http_ropcg.fetch_token()
    seed.close()
    path = tmp_path / "tokens.sqlite3"
    # What release 1 wrote: a tokens table only, user_version 1, its key and its JSON value.
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE tokens (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        key = (
            "token:"
            + hashlib.sha256(
                "\x00".join((server.base_uri + "/token", DEMO["client_id"], DEMO["username"])).encode()
            ).hexdigest()
        )
        value = json.dumps(token.to_dictionary(), separators=(",", ":"), sort_keys=True)
        db.execute("INSERT INTO tokens (key, value) VALUES (?, ?)", (key, value))
        db.execute("PRAGMA user_version = 1")
    db.close()
    assert token_store_key(server.base_uri + "/token", DEMO["client_id"], DEMO["username"]) == key

    store = SQLiteTokenStore(path)
    client = hold_workers.client(server.base_uri, DEMO, store)
    assert client.http_ropcg.token_store_key == key
    assert client.service.get_status().status
    assert server.stats()["token_requests"] == 1  # the seed's: the stored token was used as it was
    wrong = hold_workers.client(server.base_uri, WRONG_PASSWORD, store)
    wrong.http_ropcg.clear_hold()
    with pytest.raises(InvalidGrantException):
        wrong.http_ropcg.fetch_token()
    assert wrong.http_ropcg.hold is not None  # the hold is recorded in the upgraded file
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 2
        assert db.execute("SELECT value FROM tokens WHERE key = ?", (key,)).fetchone()[0] == value
        assert db.execute("SELECT count(*) FROM records WHERE name = 'hold'").fetchone()[0] == 1
    db.close()
    client.close()
    wrong.close()
    store.close()
