"""Clients in many processes sharing one token store, against the reference server with rotation and reuse detection."""

import json
import logging
import math
import multiprocessing
import os
import signal
import sqlite3
import threading
import time

import pytest
import redis

from mdnotesropcgwithoutauthscopes.http.auth.shared_store import LEASE_SECONDS
from mdnotesropcgwithoutauthscopes.http.auth.token_store import RedisTokenStore, SQLiteTokenStore
from tests.helpers.integration import DEMO, run_fleet
from tests.integration import store_workers

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX processes and signals")

REDIS_PASSWORD = "redis-PASSWORD-for-the-fleet"


def make_store(kind, request, tmp_path):
    """A SQLite or Redis store that child processes reach too."""
    if kind == "sqlite":
        return SQLiteTokenStore(tmp_path / "tokens.sqlite3")
    return RedisTokenStore(request.getfixturevalue("redis_server").url)


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def assert_no_credentials_in(store):
    """Nothing of the credentials (password, secret, client id, username) is anywhere in the store."""
    if isinstance(store, SQLiteTokenStore):
        folder = os.path.dirname(store.path)
        blobs = [open(os.path.join(folder, name), "rb").read() for name in sorted(os.listdir(folder))]
        assert len(blobs) == 3  # the database, its -wal and -shm files
        with sqlite3.connect(store.path) as db:
            for table in ("tokens", "leases", "records"):
                blobs += [repr(row).encode() for row in db.execute(f"SELECT * FROM {table}")]
    else:
        client = store._client
        keys = client.keys("*")
        assert keys and all(key.startswith(b"mdnotes:") for key in keys)
        blobs = keys + [client.dump(key) for key in keys]
    for value in DEMO.values():
        for form in {value.encode(), value.encode("unicode_escape"), json_text(value)}:
            assert all(form not in blob for blob in blobs), f"the store holds {value!r}"


def json_text(value):
    """How ``json.dumps`` would write ``value`` inside a stored document (non-ASCII escaped)."""
    return json.dumps(value)[1:-1].encode()


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_a_fleet_shares_one_token_family(kind, request, tmp_path, start):
    """4 processes x 4 threads (2 clients each), 3 s tokens, 6 s of calls: one sign-in, no reuse."""
    lifetime, seconds, processes = 3.0, 6.0, 4
    server = start(token_lifetime=lifetime)
    store = make_store(kind, request, tmp_path)
    # fork, as gunicorn's preload does: each child starts from the parent's store object and modules.
    outcomes = run_fleet(store_workers.fleet_process, (server.base_uri, store, DEMO, 4, 2, seconds), processes, seconds)

    failures = [line for _, _, lines, _ in outcomes for line in lines]
    assert failures == []
    assert all(calls > 0 for _, calls, _, _ in outcomes)
    stats = server.stats()
    assert stats["reused_refresh_tokens"] == 0
    assert stats["failed_token_requests"] == 0
    assert stats["password_grants"] == 1
    assert stats["token_requests"] == stats["password_grants"] + stats["refresh_grants"]
    assert sum(obtained for _, _, _, obtained in outcomes) == stats["token_requests"]
    # One token per half-lifetime (renewing early; whole-second expiry takes up to 1 s off each
    # token), plus the first sign-in and a little slack: 16 threads in 4 processes never multiply it.
    windows = math.ceil(seconds / ((lifetime - 1) / 2))
    per_process = [(calls, obtained) for _, calls, _, obtained in outcomes]
    assert stats["token_requests"] <= windows + 3, (stats, per_process)
    assert_no_credentials_in(store)


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_a_process_killed_mid_refresh_blocks_the_others_only_until_its_lease_ends(kind, request, tmp_path, start):
    server = start(token_lifetime=3600)
    store = make_store(kind, request, tmp_path)
    server.set_faults(latency=30)  # the victim's token request hangs: it holds the store's lock meanwhile
    victim_timeout = 1.0
    context = multiprocessing.get_context("spawn")
    victim = context.Process(target=store_workers.one_call, args=(server.base_uri, store, DEMO, victim_timeout))
    victim.start()
    wait_until(lambda: server.stats()["token_requests"] == 1, 30, "the victim's token request")

    if kind == "sqlite":  # the victim holds the lease row, naming its process
        with sqlite3.connect(store.path, timeout=5) as probe:
            [(owner, until)] = probe.execute("SELECT owner, until FROM leases").fetchall()
        assert owner.split(":")[-2] == str(victim.pid) and until > time.time()
    else:  # the victim holds a short lease, kept alive while it works
        lock_keys = store._client.keys("mdnotes:lock:*")
        assert len(lock_keys) == 1 and 0 < store._client.pttl(lock_keys[0]) <= LEASE_SECONDS * 1000
    os.kill(victim.pid, signal.SIGKILL)
    victim.join(10)
    assert victim.exitcode == -signal.SIGKILL
    killed = time.monotonic()
    server.clear_faults()

    survivor = store_workers._client(server.base_uri, store, DEMO, timeout=victim_timeout)
    assert survivor.service.get_status().status
    waited = time.monotonic() - killed
    if kind == "sqlite":
        assert waited < 3.0  # the lease names a process that is gone: taken over at once
    else:
        assert waited < LEASE_SECONDS + 1.5  # the rest of the lease nobody keeps alive any more
    stats = server.stats()
    # The victim's password grant is still sleeping on the server; the survivor's was the only one answered.
    assert (stats["token_requests"], stats["password_grants"], stats["reused_refresh_tokens"]) == (2, 1, 0)
    stored, held = store.load(survivor.http_ropcg.token_store_key), survivor.http_ropcg.token
    assert (stored.access_token, stored.refresh_token) == (held.access_token, held.refresh_token)
    survivor.close()


def test_redis_restarted_mid_run_keeps_calls_working(redis_binary, start, sdk_logs):
    """Redis stops for 2 s while 4 threads call with 1 s tokens: no failed call, warnings, then the store again."""
    from tests.redis_server import RedisServer

    server = start(token_lifetime=1.0)
    redis_server = RedisServer(redis_binary, password=REDIS_PASSWORD).start()
    try:
        store = RedisTokenStore(redis_server.url)
        client = store_workers._client(server.base_uri, store, DEMO, timeout=5)
        outcomes = []

        def run():
            outcomes.append(store_workers.call_repeatedly(client, 6.0, pause=0.02))

        threads = [threading.Thread(target=run) for _ in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(1.5)
        redis_server.stop()
        time.sleep(2.0)
        requests_while_down = server.stats()["token_requests"]
        redis_server.start()
        for thread in threads:
            thread.join(30)
        raw = redis.Redis.from_url(redis_server.url)
        stored_after_restart = raw.keys("mdnotes:token:*")
    finally:
        redis_server.close()
    client.close()

    assert [failures for _, failures in outcomes] == [[]] * 4
    assert all(done > 0 for done, _ in outcomes)
    stats = server.stats()
    assert stats["token_requests"] > requests_while_down  # tokens were renewed after the restart, too
    assert (stats["password_grants"], stats["reused_refresh_tokens"], stats["failed_token_requests"]) == (1, 0, 0)
    assert stored_after_restart == [f"mdnotes:token:{{{client.http_ropcg.token_store_key}}}".encode()]
    warnings = [r.getMessage() for r in sdk_logs.records if r.levelno == logging.WARNING]
    assert any("Token store" in message and "failed" in message for message in warnings), warnings
    assert any("answers again" in r.getMessage() for r in sdk_logs.records if r.levelno == logging.INFO)
    for record in sdk_logs.records:
        message = record.getMessage()
        assert (
            REDIS_PASSWORD not in message and DEMO["password"] not in message and DEMO["client_secret"] not in message
        )


class CountingSQLiteTokenStore(SQLiteTokenStore):
    """A SQLite store that counts what the SDK asks of it."""

    def __init__(self, path):
        super().__init__(path)
        self.calls = {"load": 0, "save": 0, "lock": 0}

    def load(self, key):
        self.calls["load"] += 1
        return super().load(key)

    def save(self, key, token):
        self.calls["save"] += 1
        super().save(key, token)

    def lock(self, key, timeout):
        self.calls["lock"] += 1
        return super().lock(key, timeout)


def test_the_store_is_not_touched_while_the_token_is_valid(server, tmp_path):
    store = CountingSQLiteTokenStore(tmp_path / "tokens.sqlite3")
    client = store_workers._client(server.base_uri, store, DEMO)
    client.service.get_status()
    after_sign_in = dict(store.calls)
    assert after_sign_in["lock"] == after_sign_in["save"] == 1
    for _ in range(100):
        client.service.get_status()
    assert store.calls == after_sign_in
    assert server.stats()["token_requests"] == 1
    client.close()
