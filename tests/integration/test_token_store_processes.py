"""Token store locks across real processes: exclusion, and holders killed with SIGKILL."""

import multiprocessing
import os
import signal
import threading
import time

import pytest

from mdnotesropcgwithoutauthscopes.http.auth.token_store import RedisTokenStore, SQLiteTokenStore
from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken
from tests.integration import store_workers

KEY = "9d2b6f0c8e4a1b3d5f7a9c0e2b4d6f8a"

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX processes and signals")


@pytest.fixture(params=["sqlite", "redis"])
def store(request, tmp_path):
    """A SQLite or Redis store that child processes can reach."""
    if request.param == "sqlite":
        with SQLiteTokenStore(tmp_path / "tokens.sqlite3") as sqlite_store:
            yield sqlite_store
    else:
        with RedisTokenStore(request.getfixturevalue("redis_server").url) as redis_store:
            yield redis_store


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_lock_excludes_across_processes(store, start_method):
    context = multiprocessing.get_context(start_method)
    store.save(KEY, OAuthToken("a", "Bearer", additional_properties={store_workers.COUNTER: 0}))
    processes = [context.Process(target=store_workers.increment, args=(store, KEY, 20, 30.0)) for _ in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
    assert [process.exitcode for process in processes] == [0, 0, 0, 0]
    assert store.load(KEY).additional_properties[store_workers.COUNTER] == 80


def _killed_holder(store, lease):
    """Start a process holding the lock; return it and a thread already waiting for the lock."""
    context = multiprocessing.get_context("fork")
    holding = context.Event()
    holder = context.Process(target=store_workers.hold_forever, args=(store, KEY, lease, holding))
    holder.start()
    assert holding.wait(20), "the holder never took the lock"
    acquired = []

    def wait_for_lock():
        with store.lock(KEY, 30):
            acquired.append(time.monotonic())
            store.save(KEY, OAuthToken("after-the-kill", "Bearer"))

    waiter = threading.Thread(target=wait_for_lock)
    waiter.start()
    time.sleep(0.2)
    assert not acquired, "the waiter got the lock while the holder was alive"
    return holder, waiter, acquired


def test_sqlite_holder_killed_with_sigkill_frees_the_lock_at_once(tmp_path):
    with SQLiteTokenStore(tmp_path / "tokens.sqlite3") as store:
        holder, waiter, acquired = _killed_holder(store, lease=60)
        killed = time.monotonic()
        os.kill(holder.pid, signal.SIGKILL)
        holder.join(10)
        waiter.join(10)
        assert holder.exitcode == -signal.SIGKILL
        assert acquired and acquired[0] - killed < 1.5  # the OS released it; the 60 s lease played no part
        assert store.load(KEY).access_token == "after-the-kill"


def test_redis_holder_killed_with_sigkill_blocks_others_only_until_its_lease_ends(redis_server):
    lease = 1.5
    with RedisTokenStore(redis_server.url) as store:
        taken = time.monotonic()
        holder, waiter, acquired = _killed_holder(store, lease=lease)
        os.kill(holder.pid, signal.SIGKILL)
        holder.join(10)
        waiter.join(10)
        assert holder.exitcode == -signal.SIGKILL
        assert acquired and lease - 0.1 <= acquired[0] - taken < lease + 1.5
        assert store.load(KEY).access_token == "after-the-kill"
        assert store._client.exists(f"mdnotes:lock:{{{KEY}}}") == 0  # the waiter released its own lock
