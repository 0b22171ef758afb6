"""The token stores themselves: round trips, stored format, corrupt values, locks and leases, failures."""

import json
import logging
import os
import pickle
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

import pytest
import redis

import mdnotesropcgwithoutauthscopes
from mdnotesropcgwithoutauthscopes.http.auth import token_store as token_store_module
from mdnotesropcgwithoutauthscopes.http.auth.token_store import (
    MemoryTokenStore,
    RedisTokenStore,
    SQLiteTokenStore,
    TokenStore,
    TokenStoreError,
)
from mdnotesropcgwithoutauthscopes.http.auth.token_store.base import LeaseLostError
from mdnotesropcgwithoutauthscopes.http.auth.token_store.sqlite import SQLITE_SCHEMA_VERSION
from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken

KEY = "3f1c0a9e5b7d2c4e6a8b0d1f3e5c7a9b"  # what the SDK passes: a hash
PASSWORD = "redis-PASSWORD-never-shown"


def full_token(n: int = 1) -> OAuthToken:
    """A token with every field set, so a round trip that drops one shows."""
    return OAuthToken(
        access_token=f"ACCESS-{n}",
        token_type="Bearer",
        expires_in=3600,
        scope="notes:read",
        expiry=1_800_000_000 + n,
        refresh_token=f"REFRESH-{n}",
        additional_properties={"id_token_hint": "x"},
    )


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request, tmp_path):
    """Each store kind, empty."""
    if request.param == "memory":
        yield MemoryTokenStore()
    elif request.param == "sqlite":
        with SQLiteTokenStore(tmp_path / "tokens.sqlite3") as sqlite_store:
            yield sqlite_store
    else:
        server = request.getfixturevalue("redis_server")
        with RedisTokenStore(server.url) as redis_store:
            yield redis_store


def write_raw(store, key, raw):
    """Put ``raw`` where ``store`` keeps the value of ``key``, bypassing the store's checks."""
    if isinstance(store, MemoryTokenStore):
        store._values[key] = raw
    elif isinstance(store, SQLiteTokenStore):
        with sqlite3.connect(store.path) as db:
            db.execute("INSERT OR REPLACE INTO tokens (key, value) VALUES (?, ?)", (key, raw))
    else:
        store._client.set(f"{store.prefix}token:{{{key}}}", raw)


@contextmanager
def held_by_another_thread(store, lease):
    """Another thread holds ``store``'s lock on KEY until ``finish()`` (or the end of the block)."""
    holding, release = threading.Event(), threading.Event()

    def hold():
        with store.lock(KEY, lease):
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(5), "the holder never took the lock"

    def finish():
        release.set()
        holder.join()

    try:
        yield finish
    finally:
        finish()


def read_raw(store, key):
    """The value ``store`` keeps for ``key``, as stored."""
    if isinstance(store, MemoryTokenStore):
        return store._values.get(key)
    if isinstance(store, SQLiteTokenStore):
        with sqlite3.connect(store.path) as db:
            row = db.execute("SELECT value FROM tokens WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]
    raw = store._client.get(f"{store.prefix}token:{{{key}}}")
    return None if raw is None else raw.decode()


# --- Round trips and the stored format. ---


def test_save_load_delete_round_trip(store):
    assert store.load(KEY) is None
    token = full_token()
    store.save(KEY, token)
    loaded = store.load(KEY)
    assert loaded == token
    assert (loaded.access_token, loaded.refresh_token, loaded.expiry, loaded.expires_in, loaded.scope) == (
        "ACCESS-1",
        "REFRESH-1",
        1_800_000_001,
        3600,
        "notes:read",
    )
    assert loaded.additional_properties == {"id_token_hint": "x"}

    store.save(KEY, full_token(2))
    assert store.load(KEY).access_token == "ACCESS-2"
    assert store.load("another-key") is None

    store.delete(KEY)
    assert store.load(KEY) is None
    store.delete(KEY)  # deleting nothing is fine


def test_a_loaded_token_is_a_copy(store):
    store.save(KEY, full_token())
    loaded = store.load(KEY)
    loaded.access_token = "CHANGED"
    loaded.additional_properties["id_token_hint"] = "changed"
    assert store.load(KEY) == full_token()


def test_the_stored_value_is_the_token_json_and_nothing_else(store):
    store.save(KEY, full_token())
    assert json.loads(read_raw(store, KEY)) == full_token().to_dictionary()


def test_arguments_are_checked(store):
    with pytest.raises(TypeError, match="key must be a str"):
        store.load(b"key")
    with pytest.raises(ValueError, match="must not be empty"):
        store.save("", full_token())
    with pytest.raises(TypeError, match="OAuthToken"):
        store.save(KEY, {"access_token": "a"})
    no_access_token = full_token()
    no_access_token.access_token = ""  # OAuthToken() refuses this; a token changed later can have it
    with pytest.raises(ValueError, match="access_token"):
        store.save(KEY, no_access_token)
    for timeout in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="timeout"):
            with store.lock(KEY, timeout):
                pass
    with pytest.raises(TypeError, match="timeout"):
        with store.lock(KEY, True):
            pass
    assert store.load(KEY) is None


def test_every_store_is_a_token_store_exported_from_the_package_root():
    for name in ("TokenStore", "TokenStoreError", "MemoryTokenStore", "SQLiteTokenStore", "RedisTokenStore"):
        assert getattr(mdnotesropcgwithoutauthscopes, name) is getattr(token_store_module, name)
        assert name in mdnotesropcgwithoutauthscopes.__all__
    assert mdnotesropcgwithoutauthscopes.__version__
    for cls in (MemoryTokenStore, SQLiteTokenStore, RedisTokenStore):
        assert issubclass(cls, TokenStore)


# --- Corrupt values. ---

CORRUPT_VALUES = {
    "not-json": "{not json",
    "json-list": "[1, 2]",
    "json-string": '"ACCESS"',
    "no-access-token": '{"token_type": "Bearer", "refresh_token": "SECRET-RT"}',
    "empty-access-token": '{"access_token": "", "token_type": "Bearer", "refresh_token": "SECRET-RT"}',
    "expiry-not-a-number": '{"access_token": "SECRET-AT", "token_type": "Bearer", "expiry": "soon"}',
    "refresh-token-not-a-string": '{"access_token": "SECRET-AT", "token_type": "Bearer", "refresh_token": 7}',
    "not-utf8": b"\xff\xfe{SECRET-AT",
}


@pytest.mark.parametrize("raw", CORRUPT_VALUES.values(), ids=CORRUPT_VALUES.keys())
def test_a_corrupt_value_is_missing_logged_and_overwritten(store, raw, sdk_logs):
    if isinstance(store, MemoryTokenStore) and isinstance(raw, bytes):
        raw = raw.decode("latin-1")  # the memory store keeps text
    write_raw(store, KEY, raw)

    assert store.load(KEY) is None

    warnings = [r for r in sdk_logs.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert type(store).__name__ in message and "treated as missing" in message
    text = raw.decode("latin-1") if isinstance(raw, bytes) else raw
    assert text not in message
    assert "SECRET" not in message

    store.save(KEY, full_token())
    assert store.load(KEY) == full_token()


# --- SQLite specifics. ---


def test_sqlite_file_and_its_wal_files_are_owner_only(tmp_path):
    old_umask = os.umask(0o002)  # a permissive umask must not widen the mode
    try:
        path = tmp_path / "tokens.sqlite3"
        with SQLiteTokenStore(path) as store:
            store.save(KEY, full_token())
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    finally:
        os.umask(old_umask)
    assert modes == {"tokens.sqlite3": 0o600, "tokens.sqlite3-wal": 0o600, "tokens.sqlite3-shm": 0o600}


def test_sqlite_schema_is_versioned_in_wal_mode_and_holds_only_keys_and_values(tmp_path):
    path = tmp_path / "tokens.sqlite3"
    with SQLiteTokenStore(path) as store:
        store.save(KEY, full_token())
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SQLITE_SCHEMA_VERSION == 2
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = sorted(row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
        assert tables == ["leases", "records", "tokens"]
        assert db.execute("SELECT * FROM leases").fetchall() == []  # released: nothing held
        rows = db.execute("SELECT * FROM tokens").fetchall()
    assert rows == [(KEY, json.dumps(full_token().to_dictionary(), separators=(",", ":"), sort_keys=True))]


def test_sqlite_refuses_a_file_written_by_a_newer_release(tmp_path):
    path = tmp_path / "tokens.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SQLITE_SCHEMA_VERSION + 1}")
    with pytest.raises(TokenStoreError, match="newer release"):
        SQLiteTokenStore(path)


def test_sqlite_keeps_an_existing_file_and_its_tokens(tmp_path, sdk_logs):
    path = tmp_path / "tokens.sqlite3"
    with SQLiteTokenStore(path) as first:
        first.save(KEY, full_token())
    with SQLiteTokenStore(str(path)) as second:
        assert second.load(KEY) == full_token()
    assert not [r for r in sdk_logs.records if r.levelno >= logging.WARNING]


def test_sqlite_warns_about_a_file_others_can_read(tmp_path, sdk_logs):
    path = tmp_path / "tokens.sqlite3"
    SQLiteTokenStore(path).close()
    path.chmod(0o644)
    SQLiteTokenStore(path).close()
    [warning] = [r for r in sdk_logs.records if r.levelno == logging.WARNING]
    assert "chmod 600" in warning.getMessage() and "644" in warning.getMessage()


def test_sqlite_bad_paths(tmp_path):
    with pytest.raises(TypeError, match="path"):
        SQLiteTokenStore(42)
    with pytest.raises(TypeError, match="path"):
        SQLiteTokenStore(b"/tmp/x")
    with pytest.raises(ValueError, match="in-memory"):
        SQLiteTokenStore(":memory:")
    with pytest.raises(TokenStoreError, match="No such file or directory"):
        SQLiteTokenStore(tmp_path / "missing-folder" / "tokens.sqlite3")
    not_a_database = tmp_path / "notes.txt"
    not_a_database.write_text("hello, this is not SQLite" * 100)
    with pytest.raises(TokenStoreError, match="not a database"):
        SQLiteTokenStore(not_a_database)


def test_sqlite_closed_store_says_so(tmp_path):
    store = SQLiteTokenStore(tmp_path / "tokens.sqlite3")
    store.close()
    store.close()
    with pytest.raises(TokenStoreError, match="closed"):
        store.load(KEY)


def test_sqlite_threads_share_the_process_connection_and_close_ends_it(tmp_path):
    store = SQLiteTokenStore(tmp_path / "tokens.sqlite3")
    store.save(KEY, full_token())
    results = []
    threads = [threading.Thread(target=lambda: results.append(store.load(KEY))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [full_token()] * 8
    store.close()
    with pytest.raises(TokenStoreError, match="closed"):
        store.load(KEY)


def test_sqlite_save_inside_the_lock_is_fenced_and_seen_by_others_at_once(tmp_path):
    path = tmp_path / "tokens.sqlite3"
    store = SQLiteTokenStore(path)
    other = SQLiteTokenStore(path)
    with store.lock(KEY, 5) as lease:
        assert lease.held
        store.save(KEY, full_token())
        assert other.load(KEY) == full_token()  # committed at once: readers never wait for the holder
    store.close()
    other.close()


@pytest.mark.parametrize("kind", ["memory", "sqlite", "redis"])
def test_a_live_holder_keeps_its_short_lease_for_as_long_as_it_works(kind, request, tmp_path):
    """No store lets a waiter go on while the holder is alive, however short the lease."""
    store, other = _two_stores(kind, request, tmp_path)
    holding, release = threading.Event(), threading.Event()

    def hold():
        with store.lock(KEY, 0.3) as lease:
            holding.set()
            release.wait(10)
            assert lease.held  # renewed in the background the whole time

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(5)
    threading.Timer(1.5, release.set).start()
    started = time.monotonic()
    with other.lock(KEY, 0.3):
        waited = time.monotonic() - started
    holder.join()
    assert 1.3 <= waited < 4.0  # five leases long: the holder kept it alive until it let go


@pytest.mark.parametrize("kind", ["memory", "sqlite", "redis"])
def test_a_frozen_holder_loses_its_lease_and_cannot_save_over_the_new_holder(kind, request, tmp_path):
    store, other = _two_stores(kind, request, tmp_path)
    waited = []

    def take_over():  # another thread, as another process would
        started = time.monotonic()
        with other.lock(KEY, 30):
            waited.append(time.monotonic() - started)
            other.save(KEY, full_token(2))

    with store.lock(KEY, 0.3) as lease:
        lease.stop()  # as if the process froze: nothing renews the lease any more
        thief = threading.Thread(target=take_over)
        thief.start()
        thief.join(10)
        assert not lease.held
        with pytest.raises(LeaseLostError, match="lease ran out"):
            store.save(KEY, full_token(1))
    assert len(waited) == 1 and 0.2 <= waited[0] < 2.0
    assert store.load(KEY) == full_token(2)
    with other.lock(KEY, 1):  # the new holder's lock was released normally; nothing stuck
        pass


def _two_stores(kind, request, tmp_path):
    """Two store objects on one backend, as two processes would have."""
    if kind == "memory":
        store = MemoryTokenStore()
        return store, store
    if kind == "sqlite":
        return SQLiteTokenStore(tmp_path / "tokens.sqlite3"), SQLiteTokenStore(tmp_path / "tokens.sqlite3")
    url = request.getfixturevalue("redis_server").url
    return RedisTokenStore(url), RedisTokenStore(url)


def test_sqlite_lock_for_another_key_in_the_same_thread_does_not_deadlock(tmp_path):
    with SQLiteTokenStore(tmp_path / "tokens.sqlite3") as store:
        with store.lock("a", 5), store.lock("b", 5):
            store.save("a", full_token(1))
            store.save("b", full_token(2))
        assert store.load("a").access_token == "ACCESS-1" and store.load("b").access_token == "ACCESS-2"


def test_sqlite_and_redis_stores_pickle_to_the_same_backend(tmp_path, redis_server):
    sqlite_store = SQLiteTokenStore(tmp_path / "tokens.sqlite3")
    sqlite_store.save(KEY, full_token())
    copy = pickle.loads(pickle.dumps(sqlite_store))
    assert copy.path == sqlite_store.path and copy.load(KEY) == full_token()

    redis_store = RedisTokenStore(redis_server.url, prefix="p:")
    redis_store.save(KEY, full_token())
    redis_copy = pickle.loads(pickle.dumps(redis_store))
    assert redis_copy.prefix == "p:" and redis_copy.load(KEY) == full_token()

    with pytest.raises(TypeError, match="build it from a URL"):
        pickle.dumps(RedisTokenStore(redis.Redis(host="127.0.0.1", port=redis_server.port)))


# --- Locks, for every store. ---


def test_lock_excludes_other_threads(store):
    store.save(KEY, OAuthToken("a", "Bearer", additional_properties={"n": 0}))
    inside, most_inside = [0], [0]
    guard = threading.Lock()

    def work():
        for _ in range(10):
            with store.lock(KEY, 10):
                with guard:
                    inside[0] += 1
                    most_inside[0] = max(most_inside[0], inside[0])
                token = store.load(KEY)
                token.additional_properties["n"] += 1
                store.save(KEY, token)
                with guard:
                    inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert most_inside[0] == 1
    assert store.load(KEY).additional_properties["n"] == 60


def test_lock_is_reentrant_in_one_thread_and_saves_inside_it(store):
    started = time.monotonic()
    with store.lock(KEY, 30):
        with store.lock(KEY, 30):
            store.save(KEY, full_token())
        store.save(KEY, full_token(2))
    assert time.monotonic() - started < 10  # no waiting for its own 30 s lease
    assert store.load(KEY) == full_token(2)
    with store.lock(KEY, 5):  # and it was released
        pass


def test_lock_is_released_when_the_block_raises(store):
    with pytest.raises(RuntimeError):
        with store.lock(KEY, 30):
            store.save(KEY, full_token())
            raise RuntimeError("boom")
    taken = threading.Event()

    def take():
        with store.lock(KEY, 30):
            taken.set()

    thread = threading.Thread(target=take)
    thread.start()
    assert taken.wait(3)
    thread.join()
    assert store.load(KEY) == full_token()


# --- Redis specifics. ---


def test_redis_keys_carry_the_prefix_purpose_and_key(redis_server):
    client = redis.Redis.from_url(redis_server.url)
    store = RedisTokenStore(client, prefix="app1:")
    with store.lock(KEY, 5):
        store.save(KEY, full_token())
        assert sorted(client.keys("*")) == [f"app1:lock:{{{KEY}}}".encode(), f"app1:token:{{{KEY}}}".encode()]
    assert sorted(client.keys("*")) == [f"app1:token:{{{KEY}}}".encode(), f"app1:wake:{{{KEY}}}".encode()]
    assert 0 < client.pttl(f"app1:wake:{{{KEY}}}") <= 5000  # wake-ups expire
    assert client.ttl(f"app1:token:{{{KEY}}}") == -1


def test_redis_waiting_does_not_poll(redis_server):
    store = RedisTokenStore(redis_server.url)
    admin = redis.Redis.from_url(redis_server.url)
    holding, waited = threading.Event(), []

    def hold():
        with store.lock(KEY, 30):
            holding.set()
            time.sleep(2.0)

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(5)
    admin.config_resetstat()
    started = time.monotonic()
    with store.lock(KEY, 30):
        waited.append(time.monotonic() - started)
    holder.join()
    stats = admin.info("commandstats")
    calls = {name: value["calls"] for name, value in stats.items() if name != "cmdstat_info"}
    assert 1.5 < waited[0] < 4.0
    # One script call and one BLPOP per second of waiting, plus the releases; a spin would be thousands.
    assert sum(calls.values()) <= 40, calls
    assert calls.get("cmdstat_blpop", 0) <= 4, calls


def test_redis_accepts_urls_and_clients_and_refuses_the_rest(redis_server):
    tls = RedisTokenStore("rediss://:" + PASSWORD + "@127.0.0.1:6380/2")
    assert tls._client.connection_pool.connection_class is redis.SSLConnection
    assert PASSWORD not in repr(tls) and "rediss://:***@127.0.0.1:6380/2" in repr(tls)

    for client in (
        redis.Redis(host="127.0.0.1", port=redis_server.port),
        redis.Redis(host="127.0.0.1", port=redis_server.port, decode_responses=True),
    ):
        store = RedisTokenStore(client)
        store.save(KEY, full_token())
        assert store.load(KEY) == full_token()
        with store.lock(KEY, 5):
            store.save(KEY, full_token(2))
        assert store.load(KEY) == full_token(2)
        assert repr(store) == f"RedisTokenStore('127.0.0.1:{redis_server.port}/0', prefix='mdnotes:')"
        store.close()  # leaves a passed-in client open
        assert client.ping()

    from redis.sentinel import Sentinel  # its master_for() client is a redis.Redis; nothing connects yet

    sentinel_client = Sentinel([("127.0.0.1", redis_server.port)], password=PASSWORD).master_for("tokens")
    assert (
        repr(RedisTokenStore(sentinel_client))
        == "RedisTokenStore(\"SentinelConnectionPool('tokens')\", prefix='mdnotes:')"
    )

    with pytest.raises(TypeError, match="redis.Redis client"):
        RedisTokenStore(6379)
    with pytest.raises(ValueError, match="not http:// URL"):
        RedisTokenStore("http://127.0.0.1:6379")
    with pytest.raises(ValueError, match="cannot parse") as caught:
        RedisTokenStore(f"redis://:{PASSWORD}@127.0.0.1:notaport/0")
    assert PASSWORD not in str(caught.value)
    with pytest.raises(TypeError, match="prefix"):
        RedisTokenStore(redis_server.url, prefix=None)


def test_redis_repr_hides_passwords_in_the_url_and_its_query():
    store = RedisTokenStore(f"redis://user:{PASSWORD}@127.0.0.1:6379/0?password={PASSWORD}")
    assert PASSWORD not in repr(store) and PASSWORD not in str(store)
    assert "redis://user:***@127.0.0.1:6379/0?password=***" in repr(store)


def test_redis_down_raises_store_errors_without_the_password_and_recovers(redis_binary, sdk_logs):
    from tests.redis_server import RedisServer

    server = RedisServer(redis_binary, password=PASSWORD).start()
    try:
        store = RedisTokenStore(server.url)
        store.save(KEY, full_token())
        server.stop()
        for action in (
            lambda: store.load(KEY),
            lambda: store.save(KEY, full_token()),
            lambda: store.delete(KEY),
            lambda: store.lock(KEY, 5).__enter__(),
        ):
            with pytest.raises(TokenStoreError) as caught:
                action()
            assert "Connection refused" in str(caught.value) or "Error" in str(caught.value)
            assert PASSWORD not in str(caught.value) and PASSWORD not in repr(caught.value)
            assert f"127.0.0.1:{server.port}" in str(caught.value)
        server.start()  # a new, empty server on the same port: the store works again
        assert store.load(KEY) is None
        store.save(KEY, full_token(3))
        with store.lock(KEY, 5):
            assert store.load(KEY) == full_token(3)
    finally:
        server.close()
    assert all(PASSWORD not in r.getMessage() for r in sdk_logs.records)


def test_redis_release_failure_is_logged_not_raised(own_redis_server, sdk_logs):
    store = RedisTokenStore(own_redis_server.url)
    with store.lock(KEY, 5):
        own_redis_server.stop()
    [warning] = [r for r in sdk_logs.records if r.levelno == logging.WARNING]
    assert "could not be released" in warning.getMessage() and "its lease frees it" in warning.getMessage()


def test_redis_wrong_password_is_a_store_error_without_it(redis_binary):
    from tests.redis_server import RedisServer

    server = RedisServer(redis_binary, password=PASSWORD).start()
    try:
        store = RedisTokenStore(f"redis://:wrong-{PASSWORD}@127.0.0.1:{server.port}/0")
        with pytest.raises(TokenStoreError) as caught:
            store.load(KEY)
        assert PASSWORD not in str(caught.value)
    finally:
        server.close()


def test_redis_store_without_the_redis_package_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "redis", None)  # what "not installed" looks like to import
    with pytest.raises(ImportError, match=r"pip install 'mdnotesropcgwithoutauthscopes\[redis\]'"):
        RedisTokenStore("redis://127.0.0.1:6379/0")


def test_importing_the_sdk_never_imports_redis():
    """Not the package, nor any of its modules (RedisTokenStore imports redis only when built)."""
    code = (
        "import importlib, pkgutil, sys\n"
        "import mdnotesropcgwithoutauthscopes as package\n"
        "from mdnotesropcgwithoutauthscopes import RedisTokenStore, SQLiteTokenStore\n"
        "names = [m.name for m in pkgutil.walk_packages(package.__path__, package.__name__ + '.')]\n"
        "for name in names:\n"
        "    if not name.endswith('__main__'):\n"
        "        importlib.import_module(name)\n"
        "print(len(names), sorted(name for name in sys.modules if name == 'redis' or name.startswith('redis.')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    count, loaded = result.stdout.split(" ", 1)
    assert int(count) > 30 and loaded.strip() == "[]"


def test_redis_store_works_with_the_documented_acl_user(redis_binary, sdk_logs):
    """doc/token-stores.md names the ACL a store needs; a user with exactly that ACL can do everything."""
    import re
    import shlex
    from pathlib import Path

    from tests.redis_server import RedisServer

    doc = (Path(__file__).resolve().parents[2] / "doc" / "token-stores.md").read_text(encoding="utf-8")
    [acl] = re.findall(r"`(ACL SETUSER [^`]+)`", doc)
    words = shlex.split(acl)
    assert words[2] == "mdnotes" and words[4] == ">long-random-password"
    server = RedisServer(redis_binary, password=PASSWORD).start()
    try:
        redis.Redis.from_url(server.url).execute_command(*words)
        store = RedisTokenStore(f"redis://mdnotes:long-random-password@127.0.0.1:{server.port}/0")
        # The holder overstays its lease: the taker's script runs PTTL, the holder's release GET.
        with held_by_another_thread(store, 0.3) as finish, store.lock(KEY, 5):
            store.save(KEY, full_token())
            finish()
        assert store.load(KEY) == full_token()
        store.delete(KEY)
        assert store.load(KEY) is None
        outside = RedisTokenStore(f"redis://mdnotes:long-random-password@127.0.0.1:{server.port}/0", prefix="x:")
        with pytest.raises(TokenStoreError, match="NoPermission"):
            outside.load(KEY)
    finally:
        server.close()
    assert not [r for r in sdk_logs.records if "could not be released" in r.getMessage()]
