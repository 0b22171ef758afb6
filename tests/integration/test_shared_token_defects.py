"""Issue #17: one shared token across clients, processes and a token store, defect by defect.

Each test drives real processes (forked, as gunicorn's preload does) against the reference server,
which rotates refresh tokens and counts every reuse, and asserts on its counters. The store lease
is ``coordinator.LEASE_SECONDS`` (6 s), kept alive by the holder while it works.
"""

import multiprocessing
import os
import signal
import threading
import time
from collections import Counter

import pytest

from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import ResourceOwnerAuthCredentials
from mdnotesropcgwithoutauthscopes.http.auth.token_store import (
    MemoryTokenStore,
    RedisTokenStore,
    SQLiteTokenStore,
    TokenStore,
)
from mdnotesropcgwithoutauthscopes.testing import ServerUser
from tests.helpers.integration import DEMO, client_for, collect, credentials
from tests.integration import proc_workers

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX processes and signals")

LEASE = 6.0  # coordinator.LEASE_SECONDS, spelled out: the tests also run against older code
FORK = multiprocessing.get_context("fork")


def make_store(kind, request, tmp_path):
    """A SQLite or Redis store that forked children reach too."""
    if kind == "sqlite":
        return SQLiteTokenStore(tmp_path / "tokens.sqlite3")
    if kind == "redis":
        return RedisTokenStore(request.getfixturevalue("redis_server").url)
    return MemoryTokenStore()


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def seed_expired(server, store):
    """Sign in once and store that token already expired: whoever calls next must refresh it.

    Returns the store key and the token (its refresh token is the head of the chain).
    """
    seeder = proc_workers.make_client(server.base_uri, store)
    token = seeder.http_ropcg.fetch_token()
    key = seeder.http_ropcg.token_store_key
    store.save(key, proc_workers.expired_copy(token))
    seeder.close()
    return key, token


def start_process(target, *args):
    process = FORK.Process(target=target, args=args)
    process.start()
    return process


def stop_process(process):
    if process.is_alive():
        os.kill(process.pid, signal.SIGCONT)
        process.kill()
    process.join(10)


def start_slow_holder(server, store, timeout, results, **faults):
    """A process whose refresh of the (expired) stored token hangs on the server (``faults``).

    Returns the holder, once its refresh request has reached the server (it holds the lease).
    """
    server.set_faults(token_delay_count=1, **faults)
    holder = start_process(proc_workers.one_call, server.base_uri, store, timeout, results)
    try:
        wait_until(lambda: server.stats()["refresh_grant_requests"] == 1, 15, "the holder's refresh")
    except BaseException:
        stop_process(holder)
        raise
    return holder


# --- 1. Users swapped -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_token_only_clients_of_two_users_on_one_store_never_swap_tokens(kind, request, tmp_path, start):
    """Alice and Bob: stored token + client id each. Bob's renewal refreshes Bob, never adopts Alice's newer token."""
    bob = ServerUser("bob@example.com", "bob pass:word", name="Bob")
    server = start(token_lifetime=2, users=(bob,))
    store = make_store(kind, request, tmp_path)

    def sign_in(username, password):
        with client_for(server, credentials(o_auth_username=username, o_auth_password=password)) as signer:
            return signer.http_ropcg.fetch_token()

    def token_only(token, **key):
        return ResourceOwnerAuthCredentials(
            o_auth_client_id=DEMO["client_id"],
            o_auth_client_secret=DEMO["client_secret"],
            o_auth_token=token,
            o_auth_token_store=store,
            o_auth_refresh_window=0,  # renew when expired only: the order below is the test's
            **key,
        )

    alice_token, bob_token = sign_in(DEMO["username"], DEMO["password"]), sign_in(bob.username, bob.password)
    with pytest.raises(ValueError, match="o_auth_token_store_key"):
        token_only(bob_token)  # no username and no key: two users would meet under one key

    alice = client_for(server, token_only(alice_token, o_auth_token_store_key="user-1"))
    bobs = client_for(server, token_only(bob_token, o_auth_token_store_key="user-2"))
    assert alice.http_ropcg.token_store_key != bobs.http_ropcg.token_store_key
    assert (alice.user.get_user().email, bobs.user.get_user().email) == (DEMO["username"], bob.username)

    wait_until(lambda: time.time() > max(alice_token.expiry, bob_token.expiry) + 0.05, 5, "both tokens to expire")
    assert alice.user.get_user().email == DEMO["username"]  # Alice renews and saves her token under her key
    alice_stored = store.load(alice.http_ropcg.token_store_key)
    assert alice_stored.access_token == alice.http_ropcg.token.access_token
    assert alice_stored.expiry > time.time()  # valid: a client that shared her key would adopt it

    assert bobs.user.get_user().email == bob.username  # Bob's token expired: he refreshes his own
    assert bobs.http_ropcg.token.access_token != alice_stored.access_token
    assert store.load(bobs.http_ropcg.token_store_key).access_token == bobs.http_ropcg.token.access_token
    assert alice.user.get_user().email == DEMO["username"]
    stats = server.stats()
    assert (stats["password_grants"], stats["refresh_grants"], stats["reused_refresh_tokens"]) == (2, 2, 0)
    alice.close()
    bobs.close()


# --- 2. A lease shorter than the token request ------------------------------------------------------


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_no_one_refreshes_while_the_token_endpoint_asks_to_retry_after_longer_than_the_timeout(
    kind, request, tmp_path, start
):
    """timeout=1; 503 with Retry-After: 4 twice, then 200. Two processes share the store: 3 requests, one chain."""
    server = start(token_lifetime=3600)
    store = make_store(kind, request, tmp_path)
    key, _ = seed_expired(server, store)
    results = FORK.Queue()
    # Every token request in the next 6 s is answered 503 with Retry-After: 4, so the requests at
    # t0 and t0 + 4 fail and the one at t0 + 8 succeeds: 8 s, longer than any lease or timeout here.
    server.set_faults(token_503_for=6, retry_after=4)
    first = start_process(proc_workers.call_until_it_works, server.base_uri, store, 1.0, 25.0, results)
    processes = [first]
    try:
        wait_until(lambda: server.stats()["refresh_grant_requests"] == 1, 15, "the first refresh")
        processes.append(start_process(proc_workers.call_until_it_works, server.base_uri, store, 1.0, 25.0, results))
        outcomes = collect(results, processes, timeout=40, count=2)
    finally:
        for process in processes:
            stop_process(process)

    assert [succeeded for _, succeeded, _, _ in outcomes] == [True, True], outcomes
    stats = server.stats()
    assert stats["reused_refresh_tokens"] == 0
    assert stats["injected_token_503s"] == 2
    # The two 503s and the one success: nobody sent the refresh token while another might have.
    assert (stats["refresh_grant_requests"], stats["refresh_grants"], stats["password_grant_requests"]) == (3, 1, 1)
    stored = store.load(key)
    assert {token[0] for _, _, _, token in outcomes} == {stored.access_token}


# --- 3. A SQLite waiter never goes on without the lock ---------------------------------------------


def test_a_sqlite_waiter_waits_for_a_live_holder_past_its_own_timeout_and_the_lease(tmp_path, start):
    """The holder's refresh takes 8 s (timeout 10); the waiter (timeout 1) waits, then adopts: one refresh."""
    server = start(token_lifetime=3600)
    store = SQLiteTokenStore(tmp_path / "tokens.sqlite3")
    key, _ = seed_expired(server, store)
    results = FORK.Queue()
    holder = start_slow_holder(server, store, 10.0, results, token_delay=8)
    try:
        waiter = proc_workers.make_client(server.base_uri, store, timeout=1)
        started = time.monotonic()
        waiter.service.get_status()
        waited = time.monotonic() - started
        [(_, error, _, held)] = collect(results, [holder], timeout=15, count=1)
    finally:
        stop_process(holder)

    assert error is None
    assert LEASE < waited < 8 + 3  # longer than its own timeout and one lease: the holder kept it alive
    stats = server.stats()
    assert stats["reused_refresh_tokens"] == 0
    assert (stats["refresh_grant_requests"], stats["refresh_grants"], stats["password_grant_requests"]) == (1, 1, 1)
    assert waiter.http_ropcg.token.access_token == held[0] == store.load(key).access_token
    waiter.close()


# --- 4. A dead holder ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, most", [("sqlite", 2.0), ("redis", 10.0)])
def test_a_holder_killed_mid_token_request_at_the_default_timeout_delays_the_others_briefly(
    kind, most, request, tmp_path, start
):
    """SIGKILL the holder while its token request hangs (timeout 60): Redis frees within a lease, SQLite at once."""
    server = start(token_lifetime=3600)
    store = make_store(kind, request, tmp_path)
    results = FORK.Queue()
    server.set_faults(token_delay=30, token_delay_count=1)  # the victim's password grant hangs
    victim = start_process(proc_workers.one_call, server.base_uri, store, None, results)
    try:
        wait_until(lambda: server.stats()["password_grant_requests"] == 1, 15, "the victim's token request")
        if kind == "redis":
            [lock_key] = store._client.keys("mdnotes:lock:*")
            assert 0 < store._client.pttl(lock_key) <= LEASE * 1000  # a short lease, whatever the timeout
        os.kill(victim.pid, signal.SIGKILL)
        killed = time.monotonic()
        victim.join(10)
    finally:
        stop_process(victim)
    assert victim.exitcode == -signal.SIGKILL

    survivor = proc_workers.make_client(server.base_uri, store)  # the default timeout too
    outcome = []
    caller = threading.Thread(target=lambda: outcome.append(survivor.service.get_status().status), daemon=True)
    caller.start()
    caller.join(most + 10)
    waited = time.monotonic() - killed
    assert outcome, f"the survivor still waits {waited:.1f} s after the holder died"
    assert waited <= most, f"the survivor waited {waited:.1f} s"
    stats = server.stats()
    # The victim's password grant still sleeps on the server; the survivor's was the one answered.
    assert (stats["password_grant_requests"], stats["password_grants"], stats["reused_refresh_tokens"]) == (2, 1, 0)
    assert store.load(survivor.http_ropcg.token_store_key).access_token == survivor.http_ropcg.token.access_token
    survivor.close()


# --- 9. One notion of expiry --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_a_token_adopted_from_the_store_has_the_obtaining_clients_expiry(kind, request, tmp_path, start):
    server = start(token_lifetime=3600)
    store = make_store(kind, request, tmp_path)
    first = proc_workers.make_client(server.base_uri, store)
    first.service.get_status()  # signs in and saves the token
    obtained = first.http_ropcg.token
    second = proc_workers.make_client(server.base_uri, store)
    adopted = second.http_ropcg.token  # a client of this process adopts it
    results = FORK.Queue()
    child = start_process(proc_workers.adopted_expiry, server.base_uri, store, results)  # and one of another
    try:
        [(access, expiry, expiry_type)] = collect(results, [child], timeout=30, count=1)
    finally:
        stop_process(child)

    assert isinstance(obtained.expiry, int) and isinstance(adopted.expiry, int) and expiry_type == "int"
    assert obtained.expiry == adopted.expiry == expiry == store.load(first.http_ropcg.token_store_key).expiry
    assert obtained.access_token == adopted.access_token == access
    assert server.stats()["token_requests"] == 1
    first.close()
    second.close()


# --- A holder that lost its lease presents nothing and saves nothing -----------------------------------


def test_a_frozen_holder_sends_nothing_after_another_took_its_lease_over(tmp_path, start):
    """SIGSTOP the holder mid-refresh past its lease; another takes over. On SIGCONT the holder's refresh
    fails (dropped), and it must not sign in with the password: it adopts the other's token.

    SQLite: the frozen holder's process is alive, so only its lease running out frees the lock. (The
    fenced-save test below freezes holders on both stores.)
    """
    server = start(token_lifetime=3600)
    store = SQLiteTokenStore(tmp_path / "tokens.sqlite3")
    key, _ = seed_expired(server, store)
    results = FORK.Queue()
    # The holder's refresh waits 7 s on the server, then its connection is dropped unanswered
    # (the server does not spend the refresh token): its outcome is unknown to the holder.
    holder = start_slow_holder(server, store, 10.0, results, token_delay=7, drop_next=1)
    try:
        os.kill(holder.pid, signal.SIGSTOP)
        stopped = time.monotonic()
        try:
            taker = proc_workers.make_client(server.base_uri, store, timeout=5)
            taker.service.get_status()  # waits for the frozen holder's lease to run out
            took_over = time.monotonic() - stopped
        finally:
            os.kill(holder.pid, signal.SIGCONT)
        [(_, error, _, held)] = collect(results, [holder], timeout=20, count=1)
    finally:
        stop_process(holder)

    assert took_over <= LEASE + 1.5
    assert error is None
    taken = taker.http_ropcg.token
    assert held[0] == taken.access_token == store.load(key).access_token  # the holder adopted the taker's
    stats = server.stats()
    assert stats["reused_refresh_tokens"] == 0
    assert stats["dropped_token_requests"] == 1
    # The holder's dropped refresh and the taker's; no password grant beyond the seeding sign-in.
    assert (stats["refresh_grant_requests"], stats["refresh_grants"], stats["password_grant_requests"]) == (2, 1, 1)
    taker.close()


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_a_frozen_holder_does_not_overwrite_the_token_saved_after_it_lost_its_lease(kind, request, tmp_path, start):
    """Refresh tokens not rotated: the thawed holder's late token is newer, but its lease is gone: not saved."""
    server = start(token_lifetime=3600, rotate_refresh_tokens=False)
    store = make_store(kind, request, tmp_path)
    key, _ = seed_expired(server, store)
    results = FORK.Queue()
    holder = start_slow_holder(server, store, 15.0, results, token_delay=7)
    try:
        os.kill(holder.pid, signal.SIGSTOP)
        try:
            taker = proc_workers.make_client(server.base_uri, store, timeout=5)
            taker.service.get_status()
        finally:
            os.kill(holder.pid, signal.SIGCONT)
        [(_, error, _, held)] = collect(results, [holder], timeout=20, count=1)
    finally:
        stop_process(holder)

    assert error is None
    taken = taker.http_ropcg.token
    assert held[0] != taken.access_token  # the holder got a token of its own, after the taker's
    assert store.load(key).access_token == taken.access_token  # ... and its fenced save was refused
    stats = server.stats()
    assert (stats["refresh_grants"], stats["password_grants"], stats["reused_refresh_tokens"]) == (2, 1, 0)
    taker.close()


# --- The hot path --------------------------------------------------------------------------------------


class CountingStore(TokenStore):
    """Wraps a store and counts every method the SDK calls on it."""

    def __init__(self, inner):
        self.inner = inner
        self.calls = Counter()

    def load(self, key):
        self.calls["load"] += 1
        return self.inner.load(key)

    def save(self, key, token):
        self.calls["save"] += 1
        self.inner.save(key, token)

    def delete(self, key):
        self.calls["delete"] += 1
        self.inner.delete(key)

    def lock(self, key, timeout):
        self.calls["lock"] += 1
        return self.inner.lock(key, timeout)

    def load_record(self, key, name):
        self.calls["load_record"] += 1
        return self.inner.load_record(key, name)

    def save_record(self, key, name, value, ttl):
        self.calls["save_record"] += 1
        self.inner.save_record(key, name, value, ttl)


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_a_hundred_calls_with_a_valid_token_never_touch_the_store(kind, request, tmp_path, server):
    store = CountingStore(make_store(kind, request, tmp_path))
    client = proc_workers.make_client(server.base_uri, store)
    client.service.get_status()  # signs in: the lock, a load, a save
    assert store.calls["lock"] == store.calls["save"] == 1
    before = dict(store.calls)
    for _ in range(100):
        client.service.get_status()
    assert dict(store.calls) == before
    stats = server.stats()
    assert (stats["token_requests"], stats["status_requests"]) == (1, 101)
    client.close()
