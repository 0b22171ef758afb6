"""Token stores: one OAuth token shared by every client, process and host that uses the same store."""

from __future__ import annotations

import json
import logging
import math
import os
import secrets
import sqlite3
import stat
import threading
import time
import weakref
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any, Optional, Union
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken

if TYPE_CHECKING:  # redis is an optional extra: only type checkers import it here
    import redis

__all__ = ["MemoryTokenStore", "RedisTokenStore", "SQLiteTokenStore", "TokenStore", "TokenStoreError"]

logger = logging.getLogger("mdnotesropcgwithoutauthscopes")

REDACTED = "***"


class TokenStoreError(Exception):
    """A store could not do what was asked (server down, file not writable...).

    Its message must never hold a secret: the auth manager logs it at WARNING and goes on with the
    token it holds in memory.
    """


class TokenStore(ABC):
    """Where the auth manager keeps its token so that other clients, processes and hosts share it.

    A store keeps one ``OAuthToken`` per key (the SDK derives the key from the token endpoint,
    client id and username, hashed) and offers an exclusive lock per key that every process using
    the same store honours. Implement the four methods to bring your own store; raise
    ``TokenStoreError`` (or any exception) when the backing service fails: the SDK logs it and
    carries on without the store until it answers again.
    """

    @abstractmethod
    def load(self, key: str) -> Optional[OAuthToken]:
        """The token saved under ``key``, or None (also for a value that cannot be read back)."""

    @abstractmethod
    def save(self, key: str, token: OAuthToken) -> None:
        """Keep ``token`` under ``key``, replacing what was there."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Forget the token under ``key`` (no error when there is none)."""

    @abstractmethod
    def lock(self, key: str, timeout: float) -> AbstractContextManager[None]:
        """A context manager holding the exclusive lock on ``key`` for every user of this store.

        Args:
            key: the store key.
            timeout: the lease in seconds: a holder that keeps the lock longer (stuck, or dead
                without the OS releasing it) loses it to the next waiter. Waiters wait until the
                lock is released or its lease runs out; they never fail merely for having waited.
        """


# --- What every bundled store shares: argument checks, the stored format, re-entrant locks. ---


def _check_key(key: object) -> None:
    if not isinstance(key, str):
        raise TypeError(f"a token store key must be a str, not {type(key).__name__}")
    if not key:
        raise ValueError("a token store key must not be empty")


def _check_timeout(timeout: object) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"the lock timeout must be a number of seconds, not {type(timeout).__name__}")
    if not (math.isfinite(timeout) and timeout > 0):
        raise ValueError("the lock timeout must be a positive, finite number of seconds")
    return float(timeout)


def _encode(token: object) -> str:
    """The stored form of a token: its ``to_dictionary()`` as JSON, and nothing else."""
    if not isinstance(token, OAuthToken):
        raise TypeError(f"a token store saves an OAuthToken, not {type(token).__name__}")
    if not isinstance(token.access_token, str) or not token.access_token:
        raise ValueError("a token without an access_token cannot be saved")
    return json.dumps(token.to_dictionary(), separators=(",", ":"), sort_keys=True)


# Optional token fields and the types a readable stored value has for them.
_OPTIONAL_FIELDS: tuple[tuple[str, tuple[type, ...]], ...] = (
    ("token_type", (str,)),
    ("scope", (str,)),
    ("refresh_token", (str,)),
    ("expires_in", (int, float)),
    ("expiry", (int, float)),
)


def _decode(raw: object, store: object) -> Optional[OAuthToken]:
    """The token in a stored value, or None (logged at WARNING) when the value is not one.

    The value itself is never logged: it would hold the tokens.
    """
    problem = None
    data: Any = None
    if isinstance(raw, (bytes, bytearray)):
        try:
            raw = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            problem = "is not UTF-8 text"
    if problem is None and not isinstance(raw, str):
        problem = f"is a {type(raw).__name__}, not JSON text"
    if problem is None:
        try:
            data = json.loads(str(raw))
        except ValueError:
            problem = "is not JSON"
    if problem is None:
        problem = _token_problem(data)
    if problem is not None:
        logger.warning(
            "%s: the stored token value %s; treated as missing (the next saved token replaces it)",
            type(store).__name__,
            problem,
        )
        return None
    token: OAuthToken = OAuthToken.from_dictionary(data)
    return token


def _token_problem(data: Any) -> Optional[str]:
    if not isinstance(data, dict):
        return f"is JSON {type(data).__name__}, not a token object"
    access_token = data.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        return "has no access_token"
    for name, types in _OPTIONAL_FIELDS:
        value = data.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, types)):
            return f"has a {name} of the wrong type"
    return None


class _HeldLocks(threading.local):
    """The locks the current thread holds, per store object: what makes ``lock`` re-entrant."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.marks: dict[str, Any] = {}

    def mine(self) -> dict[str, Any]:
        if self.pid != os.getpid():  # a forked child holds none of its parent's locks
            self.pid, self.marks = os.getpid(), {}
        return self.marks


class _LeasedStore(TokenStore):
    """A store whose ``lock`` is re-entrant per thread and built from ``_acquire``/``_release``.

    Re-entrant because the auth manager may already hold the lock when a nested step asks for it
    again; a plain lock would make that thread wait for its own lease to run out.
    """

    def __init__(self) -> None:
        self._held = _HeldLocks()

    @contextmanager
    def lock(self, key: str, timeout: float) -> Iterator[None]:
        """Hold the exclusive lock on ``key``; see ``TokenStore.lock``.

        Args:
            key: the store key.
            timeout: the lease in seconds.

        Raises:
            TokenStoreError: the store could not be asked for the lock (raised before the block
                runs; releasing never raises: a failed release is logged at WARNING and the lease
                or the holder's exit frees the lock).
        """
        _check_key(key)
        lease = _check_timeout(timeout)
        marks = self._held.mine()
        if key in marks:
            yield
            return
        mark = self._acquire(key, lease)
        marks[key] = mark
        try:
            yield
        finally:
            del marks[key]
            self._release(key, mark)

    def _held_mark(self, key: str) -> Any:
        """The current thread's mark for ``key``'s lock, or None when it does not hold it."""
        return self._held.mine().get(key)

    @abstractmethod
    def _acquire(self, key: str, lease: float) -> Any:
        """Wait for the lock on ``key`` and take it; return what ``_release`` needs."""

    @abstractmethod
    def _release(self, key: str, mark: Any) -> None:
        """Release the lock taken by ``_acquire``; must not raise."""


# --- In memory. ---


class MemoryTokenStore(_LeasedStore):
    """A store in this process's memory: what a client without a store behaves like.

    Clients of one process that share it share their token. Tokens are kept as JSON text, as the
    other stores keep them, so a loaded token is a copy the caller may change. Thread-safe.
    """

    def __init__(self) -> None:
        super().__init__()
        self._values: dict[str, str] = {}
        self._guard = threading.Lock()
        self._leases: dict[str, _Lease] = {}

    def load(self, key: str) -> Optional[OAuthToken]:
        """The token saved under ``key``, or None.

        Raises:
            TypeError, ValueError: ``key`` is not a non-empty str.
        """
        _check_key(key)
        with self._guard:
            value = self._values.get(key)
        return None if value is None else _decode(value, self)

    def save(self, key: str, token: OAuthToken) -> None:
        """Keep ``token`` under ``key``.

        Raises:
            TypeError, ValueError: ``key`` or ``token`` is not valid.
        """
        _check_key(key)
        value = _encode(token)
        with self._guard:
            self._values[key] = value

    def delete(self, key: str) -> None:
        """Forget the token under ``key``."""
        _check_key(key)
        with self._guard:
            self._values.pop(key, None)

    def _acquire(self, key: str, lease: float) -> Any:
        with self._guard:
            holder = self._leases.setdefault(key, _Lease())
        return holder, holder.acquire(lease)

    def _release(self, key: str, mark: Any) -> None:
        holder, owner = mark
        holder.release(owner)

    def __repr__(self) -> str:
        return f"MemoryTokenStore(keys={len(self._values)})"


class _Lease:
    """An in-process lock whose holder loses it after ``timeout`` seconds to a waiter."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._owner: Optional[object] = None
        self._until = 0.0

    def acquire(self, timeout: float) -> object:
        """Wait for the lock (or for its lease to run out) and take it; returns the holder's mark."""
        holder = object()
        with self._cond:
            while self._owner is not None:
                left = self._until - time.monotonic()
                if left <= 0:
                    logger.warning("MemoryTokenStore: a lock was held past its lease; taking it over")
                    break
                self._cond.wait(left)
            self._owner = holder
            self._until = time.monotonic() + timeout
        return holder

    def release(self, holder: object) -> None:
        """Release the lock if ``holder`` still has it (never one another waiter took over)."""
        with self._cond:
            if self._owner is holder:
                self._owner = None
                self._cond.notify()


# --- SQLite. ---

SQLITE_SCHEMA_VERSION = 1
# How long a read or a write outside ``lock`` waits for another writer (a lock holder) to finish.
_SQLITE_BUSY_TIMEOUT = 10.0


class _ThreadConnection:
    """One thread's connection; closed as soon as its thread ends (the thread-local drops it)."""

    __slots__ = ("__weakref__", "connection", "pid")

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self.pid = os.getpid()

    def close(self) -> None:
        # Never in a forked child: SQLite forbids using (closing included) a parent's connection.
        if self.pid == os.getpid():
            try:
                self.connection.close()
            except sqlite3.Error:  # pragma: no cover - already closed
                pass

    def __del__(self) -> None:
        self.close()


class SQLiteTokenStore(_LeasedStore):
    """A store in a SQLite file, shared by every process on this machine (standard library only).

    The file is created readable and writable by its owner only (0600 on POSIX; SQLite gives its
    ``-wal`` and ``-shm`` files the same mode). The database runs in WAL mode, so reading a token
    never waits for a writer. Its version is ``PRAGMA user_version`` (now 1), so a later release
    can migrate it; a file written by a newer release is refused rather than damaged.

    The lock is SQLite's own write lock (``BEGIN IMMEDIATE``), so it excludes every thread and
    process using the file and dies with its process: a holder killed with SIGKILL frees it at
    once. It locks the whole file, not one key: token requests are rare, so that costs nothing.
    SQLite cannot take a lock away from a live holder: a waiter waits up to the lease (the busy
    timeout), then logs a WARNING and goes on without the lock; its ``save`` then waits for the
    stuck holder like any write and raises ``TokenStoreError`` if the holder is still stuck.

    Each thread uses a connection of its own (opened on first use, closed when the thread ends
    or by ``close()``); a ``save`` inside ``lock`` joins the lock's transaction and becomes
    visible to others when the lock is released. A forked child opens connections of its own.

    Args:
        path: the database file; it is created when missing (its folder must exist).

    Raises:
        TypeError, ValueError: ``path`` is not a file path.
        TokenStoreError: the file cannot be created or opened, is not a SQLite database, or was
            written by a newer release.
    """

    def __init__(self, path: Union[str, os.PathLike[str]]) -> None:
        super().__init__()
        if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"SQLiteTokenStore path must be a str or os.PathLike, not {type(path).__name__}")
        self._path = os.fspath(path)
        if not self._path or self._path == ":memory:" or self._path.startswith("file:"):
            raise ValueError("SQLiteTokenStore path must name a file (an in-memory database is not shared)")
        self._pid = os.getpid()
        self._local = threading.local()
        self._guard = threading.Lock()
        self._open_connections: weakref.WeakSet[_ThreadConnection] = weakref.WeakSet()
        self._inherited: list[_ThreadConnection] = []
        self._closed = False
        with self._failures("open the database"):
            self._connection()  # create the file and its schema now, so a wrong path fails here
        self._warn_if_shared()

    @property
    def path(self) -> str:
        """The database file."""
        return self._path

    def load(self, key: str) -> Optional[OAuthToken]:
        """The token saved under ``key``, or None (also for a corrupt value, logged at WARNING).

        Raises:
            TypeError, ValueError: ``key`` is not a non-empty str.
            TokenStoreError: the database cannot be read.
        """
        _check_key(key)
        with self._failures("read a token"):
            row = self._connection().execute("SELECT value FROM tokens WHERE key = ?", (key,)).fetchone()
        return None if row is None else _decode(row[0], self)

    def save(self, key: str, token: OAuthToken) -> None:
        """Keep ``token`` under ``key``; inside ``lock`` it is committed when the lock is released.

        Raises:
            TypeError, ValueError: ``key`` or ``token`` is not valid.
            TokenStoreError: the database cannot be written (for example a stuck lock holder
                kept it locked for the whole busy timeout).
        """
        _check_key(key)
        value = _encode(token)
        with self._failures("save a token"):
            self._connection().execute("INSERT OR REPLACE INTO tokens (key, value) VALUES (?, ?)", (key, value))

    def delete(self, key: str) -> None:
        """Forget the token under ``key``.

        Raises:
            TypeError, ValueError: ``key`` is not a non-empty str.
            TokenStoreError: the database cannot be written.
        """
        _check_key(key)
        with self._failures("delete a token"):
            self._connection().execute("DELETE FROM tokens WHERE key = ?", (key,))

    def close(self) -> None:
        """Close this process's connections; the store cannot be used afterwards."""
        with self._guard:
            self._closed = True
            connections = list(self._open_connections)
            self._open_connections = weakref.WeakSet()
        for connection in connections:
            connection.close()

    def __enter__(self) -> SQLiteTokenStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __reduce__(self) -> tuple[Any, ...]:
        # Another process (multiprocessing's spawn) gets a store of its own on the same file.
        return (SQLiteTokenStore, (self._path,))

    def __repr__(self) -> str:
        return f"SQLiteTokenStore({self._path!r})"

    def _acquire(self, key: str, lease: float) -> Any:
        with self._failures("take the lock"):
            connection = self._connection()
            if connection.in_transaction:
                return None  # this thread holds the file's lock already (for another key)
            connection.execute(f"PRAGMA busy_timeout = {max(1, round(lease * 1000))}")
            try:
                connection.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise
                logger.warning(
                    "SQLiteTokenStore: another thread or process held the lock longer than the %g s lease;"
                    " going on without it",
                    lease,
                )
                return None
            finally:
                connection.execute(f"PRAGMA busy_timeout = {round(_SQLITE_BUSY_TIMEOUT * 1000)}")
        return connection

    def _release(self, key: str, mark: Any) -> None:
        if mark is None:
            return
        try:
            mark.execute("COMMIT")
        except sqlite3.Error as exc:
            logger.warning("SQLiteTokenStore: the token saved under the lock could not be committed (%s)", exc)
            try:
                mark.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the transaction is already gone; the lock with it

    @contextmanager
    def _failures(self, action: str) -> Iterator[None]:
        try:
            yield
        except (sqlite3.Error, OSError) as exc:
            # SQLite's messages name the failure ("database is locked"), never a stored value.
            raise TokenStoreError(f"SQLiteTokenStore {self._path!r}: cannot {action}: {exc}") from exc

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection, opened (and the file created and migrated) on first use."""
        if self._pid != os.getpid():
            # SQLite forbids using a connection across fork(). The parent's stay referenced, never
            # closed, so closing them cannot disturb the parent's locks or files.
            self._inherited.extend(self._open_connections)
            self._open_connections = weakref.WeakSet()
            self._local = threading.local()
            self._guard = threading.Lock()
            self._pid = os.getpid()
        if self._closed:
            raise TokenStoreError(f"SQLiteTokenStore {self._path!r} is closed")
        owned: Optional[_ThreadConnection] = getattr(self._local, "owned", None)
        if owned is not None:
            return owned.connection
        owned = _ThreadConnection(self._open())
        self._local.owned = owned
        with self._guard:
            self._open_connections.add(owned)
        return owned.connection

    def _open(self) -> sqlite3.Connection:
        # Create the file with the owner-only mode before SQLite opens it (SQLite would use 0644).
        descriptor = os.open(self._path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        os.close(descriptor)
        connection = sqlite3.connect(
            self._path,
            timeout=_SQLITE_BUSY_TIMEOUT,
            isolation_level=None,  # autocommit: the store issues BEGIN IMMEDIATE / COMMIT itself
            check_same_thread=False,  # a finished thread's connection is closed from another thread
        )
        try:
            if str(connection.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                connection.execute("PRAGMA journal_mode = WAL")
            if connection.execute("PRAGMA user_version").fetchone()[0] != SQLITE_SCHEMA_VERSION:
                self._migrate(connection)
        except BaseException:
            connection.close()
            raise
        return connection

    def _migrate(self, connection: sqlite3.Connection) -> None:
        """Bring the schema to ``SQLITE_SCHEMA_VERSION`` (version 0 is a new, empty file)."""
        connection.execute("BEGIN IMMEDIATE")
        try:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version > SQLITE_SCHEMA_VERSION:
                raise TokenStoreError(
                    f"SQLiteTokenStore {self._path!r} was written by a newer release (schema {version}, this one"
                    f" knows {SQLITE_SCHEMA_VERSION}): upgrade the SDK or use another file"
                )
            if version < 1:
                connection.execute("CREATE TABLE IF NOT EXISTS tokens (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            connection.execute(f"PRAGMA user_version = {SQLITE_SCHEMA_VERSION}")
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise

    def _warn_if_shared(self) -> None:
        try:
            mode = os.stat(self._path).st_mode
        except OSError:  # pragma: no cover - it was just opened
            return
        if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
            logger.warning(
                "SQLiteTokenStore %r can be read by other users (mode %o); chmod 600 it", self._path, mode & 0o777
            )


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    if code is not None:
        return bool(code & 0xFF == sqlite3.SQLITE_BUSY)  # type: ignore[attr-defined,unused-ignore]
    return "locked" in str(exc) or "busy" in str(exc)


# --- Redis. ---

_REDIS_SOCKET_TIMEOUT = 5.0  # for clients the store builds from a URL
_REDIS_CONNECT_TIMEOUT = 2.0
# The longest a waiter blocks before looking at the lock again. Releases wake waiters at once;
# this only bounds how late a lost wake-up (Redis restarted, list expired) is noticed.
_REDIS_MAX_WAIT = 1.0
_REDIS_WAKE_TTL_MS = 5000  # a wake-up nobody waited for is dropped after this long
_ACQUIRED = -3

# Take the lock, or say how long its current lease has left (a lock without one gets one).
_ACQUIRE_SCRIPT = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return -3 end
local left = redis.call('PTTL', KEYS[1])
if left == -1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]); return tonumber(ARGV[2]) end
return left
"""
# Release only our own lease (never one a waiter took over after ours ran out), then wake a waiter.
_RELEASE_SCRIPT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('LPUSH', KEYS[2], '1')
redis.call('LTRIM', KEYS[2], 0, 63)
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
"""
# Save only while our lease is still ours, so an overdue holder cannot overwrite a newer token.
_FENCED_SAVE_SCRIPT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
return 1
"""


def _import_redis() -> Any:
    try:
        import redis
    except ImportError as exc:
        raise ImportError(
            "RedisTokenStore needs the redis package: pip install 'mdnotesropcgwithoutauthscopes[redis]'"
        ) from exc
    return redis


def _redact_url(url: str) -> str:
    """``url`` without its password (or any user info that might be one) and query values."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, has_password, _ = userinfo.partition(":")
        netloc = f"{user}:{REDACTED}@{hostport}" if has_password else f"{REDACTED}@{hostport}"
    query = "&".join(f"{name}={REDACTED}" for name, _ in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _describe_client(client: Any) -> str:
    """Where a passed-in client connects, for repr and messages (never its password)."""
    pool = getattr(client, "connection_pool", None)
    kwargs = getattr(pool, "connection_kwargs", {}) or {}
    if kwargs.get("path"):
        return f"unix://{kwargs['path']}?db={kwargs.get('db', 0)}"
    if kwargs.get("host"):
        return f"{kwargs['host']}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"
    service = getattr(pool, "service_name", None)  # a Sentinel pool finds its host when it connects
    return f"{type(pool).__name__}({service!r})" if service else type(pool).__name__


def _reopen_redis_store(url: str, prefix: str) -> RedisTokenStore:
    return RedisTokenStore(url, prefix=prefix)


class RedisTokenStore(_LeasedStore):
    """A store on a Redis server, shared by every process and host that uses it.

    Needs the optional ``redis`` package (``pip install 'mdnotesropcgwithoutauthscopes[redis]'``),
    imported only when a store is built. Keys are ``<prefix>token:{<key>}`` (the token, as JSON),
    ``<prefix>lock:{<key>}`` (the lease) and ``<prefix>wake:{<key>}`` (wakes waiters); the key the
    SDK passes is a hash, so no username or client id is readable in Redis. The braces are a hash
    tag: one token's keys always hash alike, as the scripts touching two of them need when sharded.

    The lock is a lease: ``SET NX PX`` with a random value, released by a script that deletes it
    only while the value is still ours, so a holder whose lease ran out never removes the lock of
    the waiter that took over (nor overwrites the token that waiter saved: ``save`` inside
    ``lock`` checks the lease in the same script). Waiters block on the wake-up list (``BLPOP``)
    that every release pushes to, at most until the holder's lease ends, so they do not poll.

    Args:
        url_or_client: a ``redis://``, ``rediss://`` (TLS) or ``unix://`` URL, or a ``redis.Redis``
            client to use as it is configured (its ``socket_timeout``, if any, should exceed one
            second, the longest a waiter blocks in one command). A client built from a URL gets
            a 2 s connect and 5 s socket timeout.
        prefix: put before every key, to keep these keys apart from others in the same database.

    Raises:
        ImportError: the ``redis`` package is not installed.
        TypeError: ``url_or_client`` is neither a str nor a ``redis.Redis``; ``prefix`` is not a str.
        ValueError: the URL has another scheme or cannot be parsed.

    Every method raises ``TokenStoreError`` when Redis cannot be reached or answers with an
    error; its message names the server without its password.
    """

    def __init__(self, url_or_client: Union[str, redis.Redis], *, prefix: str = "mdnotes:") -> None:
        super().__init__()
        if not isinstance(prefix, str):
            raise TypeError(f"RedisTokenStore prefix must be a str, not {type(prefix).__name__}")
        redis_module = _import_redis()
        self._prefix = prefix
        self._url: Optional[str] = None
        if isinstance(url_or_client, str):
            scheme = urlsplit(url_or_client).scheme.lower()
            if scheme not in ("redis", "rediss", "unix"):
                raise ValueError(
                    f"RedisTokenStore needs a redis://, rediss:// or unix:// URL, not {scheme + '://' if scheme else 'a'}"
                    " URL"
                )
            try:
                client = redis_module.Redis.from_url(
                    url_or_client, socket_timeout=_REDIS_SOCKET_TIMEOUT, socket_connect_timeout=_REDIS_CONNECT_TIMEOUT
                )
            except (ValueError, TypeError):
                # The parser's message may quote parts of the URL; the password must not leak.
                raise ValueError(f"RedisTokenStore cannot parse the Redis URL {_redact_url(url_or_client)}") from None
            self._url = url_or_client
            self._location = _redact_url(url_or_client)
        elif isinstance(url_or_client, redis_module.Redis):
            client = url_or_client
            self._location = _describe_client(client)
        else:
            raise TypeError(
                f"RedisTokenStore needs a redis:// URL or a redis.Redis client, not {type(url_or_client).__name__}"
            )
        self._client = client
        self._errors: tuple[type[BaseException], ...] = (redis_module.RedisError,)
        kwargs = client.connection_pool.connection_kwargs
        self._password: Optional[str] = kwargs.get("password")
        socket_timeout = kwargs.get("socket_timeout")
        self._max_wait = _REDIS_MAX_WAIT
        if socket_timeout:
            self._max_wait = max(0.01, min(_REDIS_MAX_WAIT, float(socket_timeout) / 2))
        self._acquire_script = client.register_script(_ACQUIRE_SCRIPT)
        self._release_script = client.register_script(_RELEASE_SCRIPT)
        self._fenced_save_script = client.register_script(_FENCED_SAVE_SCRIPT)

    @property
    def prefix(self) -> str:
        """What every key of this store starts with."""
        return self._prefix

    def load(self, key: str) -> Optional[OAuthToken]:
        """The token saved under ``key``, or None (also for a corrupt value, logged at WARNING).

        Raises:
            TypeError, ValueError: ``key`` is not a non-empty str.
            TokenStoreError: Redis failed.
        """
        _check_key(key)
        with self._failures("read a token"):
            raw = self._client.get(self._key("token", key))
        return None if raw is None else _decode(raw, self)

    def save(self, key: str, token: OAuthToken) -> None:
        """Keep ``token`` under ``key``; inside ``lock`` only while the lease is still ours.

        Raises:
            TypeError, ValueError: ``key`` or ``token`` is not valid.
            TokenStoreError: Redis failed, or this thread's lease on ``key`` ran out and another
                holder took the lock over (its token is kept, not overwritten).
        """
        _check_key(key)
        value = _encode(token)
        mark = self._held_mark(key)
        with self._failures("save a token"):
            if mark is None:
                self._client.set(self._key("token", key), value)
                return
            kept = self._fenced_save_script(keys=[self._key("lock", key), self._key("token", key)], args=[mark, value])
        if not kept:
            raise TokenStoreError(
                "RedisTokenStore: the lock's lease ran out before the token was saved and another holder took it;"
                " its token was kept"
            )

    def delete(self, key: str) -> None:
        """Forget the token under ``key``.

        Raises:
            TypeError, ValueError: ``key`` is not a non-empty str.
            TokenStoreError: Redis failed.
        """
        _check_key(key)
        with self._failures("delete a token"):
            self._client.delete(self._key("token", key))

    def close(self) -> None:
        """Close the connections of a client this store built from a URL (a passed-in client is left open)."""
        if self._url is not None:
            self._client.close()

    def __enter__(self) -> RedisTokenStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __reduce__(self) -> tuple[Any, ...]:
        if self._url is None:
            raise TypeError(
                "a RedisTokenStore built from a redis.Redis client cannot be pickled; build it from a URL"
                " to hand it to other processes"
            )
        return (_reopen_redis_store, (self._url, self._prefix))

    def __repr__(self) -> str:
        return f"RedisTokenStore({self._location!r}, prefix={self._prefix!r})"

    def _key(self, purpose: str, key: str) -> str:
        return f"{self._prefix}{purpose}:{{{key}}}"

    def _acquire(self, key: str, lease: float) -> Any:
        lock_key, wake_key = self._key("lock", key), self._key("wake", key)
        mark = secrets.token_hex(16)
        lease_ms = max(1, round(lease * 1000))
        with self._failures("take the lock"):
            while True:
                left_ms = int(self._acquire_script(keys=[lock_key], args=[mark, lease_ms]))
                if left_ms == _ACQUIRED:
                    return mark
                # Sleep until a release wakes us or the holder's lease ends; 0 would block forever.
                wait = min(max(left_ms, 10) / 1000, self._max_wait)
                self._client.blpop([wake_key], timeout=wait)

    def _release(self, key: str, mark: Any) -> None:
        try:
            released = self._release_script(
                keys=[self._key("lock", key), self._key("wake", key)], args=[mark, _REDIS_WAKE_TTL_MS]
            )
        except self._errors as exc:
            logger.warning("RedisTokenStore: the lock could not be released (%s); its lease frees it", self._safe(exc))
            return
        if not released:
            logger.warning("RedisTokenStore: a lock was held past its lease and another holder took it over")

    @contextmanager
    def _failures(self, action: str) -> Iterator[None]:
        try:
            yield
        except self._errors as exc:
            raise TokenStoreError(f"RedisTokenStore {self._location}: cannot {action}: {self._safe(exc)}") from exc

    def _safe(self, exc: BaseException) -> str:
        """The exception's type and message, with the password taken out should it appear."""
        text = f"{type(exc).__name__}: {exc}"
        if self._password:
            text = text.replace(self._password, REDACTED)
        return text
