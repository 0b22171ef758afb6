"""``SQLiteTokenStore``: one token per key in a SQLite file, shared by every process on one machine."""

from __future__ import annotations

import logging
import os
import secrets
import socket
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Optional, Union

from mdnotesropcgwithoutauthscopes.http.auth.token_store.base import (
    LeasedTokenStore,
    LeaseLostError,
    Record,
    TokenStoreError,
    _check_key,
    _check_timeout,
    decode_record,
    decode_token,
    encode_record,
    encode_token,
)
from mdnotesropcgwithoutauthscopes.http.forking import quiesce_for_fork
from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken

if TYPE_CHECKING:  # sqlite3 is imported when a store is made, not with the SDK
    import sqlite3

logger = logging.getLogger("mdnotesropcgwithoutauthscopes")

SQLITE_SCHEMA_VERSION = 2
# How long one short transaction waits for another process's (they take milliseconds).
_SQLITE_BUSY_TIMEOUT = 10.0
# How often a waiter looks at a held lease again, at first and at most.
_POLL_FIRST = 0.01
_POLL_MAX = 0.1


def _sqlite() -> Any:
    try:
        import sqlite3
    except ImportError as exc:  # a Python built without libsqlite3
        raise TokenStoreError(
            "SQLiteTokenStore needs the sqlite3 module, which this Python was built without;"
            " use MemoryTokenStore or RedisTokenStore"
        ) from exc
    return sqlite3


def _machine() -> str:
    """This boot of this machine: a lease of another boot or machine cannot be checked by pid."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as boot:
            return boot.read().strip()
    except OSError:
        return socket.gethostname()


def _process_gone(owner: str, machine: str) -> bool:
    """True when ``owner`` (``machine:pid:nonce``) names a process of this machine that has ended."""
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != machine:
        return False
    try:
        pid = int(parts[1])
    except ValueError:
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OSError):
        return False  # it exists (another user's), or we cannot tell
    try:  # a killed process that its parent has not reaped yet is a zombie: gone all the same
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as status:
            return status.read().rpartition(")")[2].split()[:1] in (["Z"], ["X"])
    except OSError:
        return False


class SQLiteTokenStore(LeasedTokenStore):
    """A store in a SQLite file, shared by every process on this machine (standard library only).

    The file is created readable and writable by its owner only (0600 on POSIX; SQLite gives its
    ``-wal`` and ``-shm`` files the same mode). The database runs in WAL mode, so reading a token
    never waits for a writer. Its version is ``PRAGMA user_version`` (now 2; a version 1 file is
    brought up to date when opened), and a file written by a newer release is refused rather
    than damaged.

    The lock is a lease row (owner, deadline) per key, taken and renewed in short transactions: a
    holder keeps it alive while it works, a holder whose process has ended frees it at once (the
    owner names its machine and pid), and a frozen one loses it when the lease runs out. A save
    inside the lock is fenced: it is written only while the lease is still the holder's.

    The store keeps one connection per process, used by its threads in turn (token requests are
    rare) and opened afresh in a forked child, which never touches its parent's. ``fork()`` waits
    for a statement or transaction in flight: SQLite keeps this process's file locks in memory, and
    a child forked in the middle of a write would inherit the lock as held, for good.

    Args:
        path: the database file; it is created when missing (its folder must exist).

    Raises:
        TypeError, ValueError: ``path`` is not a file path.
        TokenStoreError: the file cannot be created or opened, is not a SQLite database, was
            written by a newer release, or this Python has no ``sqlite3``.
    """

    def __init__(self, path: Union[str, os.PathLike[str]]) -> None:
        super().__init__()
        if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"SQLiteTokenStore path must be a str or os.PathLike, not {type(path).__name__}")
        self._path = os.fspath(path)
        if not self._path or self._path == ":memory:" or self._path.startswith("file:"):
            raise ValueError("SQLiteTokenStore path must name a file (an in-memory database is not shared)")
        self._sqlite = _sqlite()
        self._machine = _machine()
        self._guard = threading.RLock()
        self._connection: Optional[sqlite3.Connection] = None
        self._inherited: list[sqlite3.Connection] = []
        self._closed = False
        quiesce_for_fork(self)  # a fork never lands inside one of this store's transactions
        with self._failures("open the database"):
            self._connect()  # create the file and its schema now, so a wrong path fails here
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
        with self._failures("read a token"), self._guard:
            row = self._connect().execute("SELECT value FROM tokens WHERE key = ?", (key,)).fetchone()
        return None if row is None else decode_token(row[0], self)

    def save(self, key: str, token: OAuthToken) -> None:
        """Keep ``token`` under ``key``; inside ``lock`` only while the lease is still ours.

        Raises:
            TypeError, ValueError: ``key`` or ``token`` is not valid.
            LeaseLostError: this thread's lease on ``key`` ran out and another holder took it.
            TokenStoreError: the database cannot be written.
        """
        _check_key(key)
        value = encode_token(token)
        mark = self._held_mark(key)
        with self._failures("save a token"), self._transaction() as connection:
            if mark is not None and not self._owns(connection, key, mark):
                raise LeaseLostError("SQLiteTokenStore: the lease ran out before the token was saved; not saved")
            connection.execute("INSERT OR REPLACE INTO tokens (key, value) VALUES (?, ?)", (key, value))

    def delete(self, key: str) -> None:
        """Forget the token under ``key``.

        Raises:
            TypeError, ValueError: ``key`` is not a non-empty str.
            TokenStoreError: the database cannot be written.
        """
        _check_key(key)
        with self._failures("delete a token"), self._guard:
            self._connect().execute("DELETE FROM tokens WHERE key = ?", (key,))

    def load_record(self, key: str, name: str) -> Optional[Record]:
        """The record ``name`` beside ``key``'s token, or None; see ``TokenStore.load_record``."""
        _check_key(key)
        with self._failures("read a record"), self._guard:
            row = (
                self._connect()
                .execute(
                    "SELECT value FROM records WHERE key = ? AND name = ? AND expires > ?", (key, name, time.time())
                )
                .fetchone()
            )
        return None if row is None else decode_record(row[0])

    def save_record(self, key: str, name: str, value: Optional[Record], ttl: float) -> None:
        """Keep (or with None, forget) the record ``name``; see ``TokenStore.save_record``."""
        _check_key(key)
        expires = time.time() + _check_timeout(ttl)
        with self._failures("save a record"), self._guard:
            connection = self._connect()
            if value is None:
                connection.execute("DELETE FROM records WHERE key = ? AND name = ?", (key, name))
            else:
                connection.execute(
                    "INSERT OR REPLACE INTO records (key, name, value, expires) VALUES (?, ?, ?, ?)",
                    (key, name, encode_record(value), expires),
                )

    def close(self) -> None:
        """Close this process's connection; the store cannot be used afterwards."""
        with self._guard:
            self._closed = True
            connection, self._connection = self._connection, None
        if connection is not None:
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

    # --- the lease

    def _acquire(self, key: str, lease: float) -> Any:
        mark = f"{self._machine}:{os.getpid()}:{secrets.token_hex(8)}"
        wait = _POLL_FIRST
        while True:
            with self._failures("take the lock"), self._transaction() as connection:
                row = connection.execute("SELECT owner, until FROM leases WHERE key = ?", (key,)).fetchone()
                now = time.time()
                if row is None or row[1] <= now or _process_gone(row[0], self._machine):
                    connection.execute(
                        "INSERT OR REPLACE INTO leases (key, owner, until) VALUES (?, ?, ?)", (key, mark, now + lease)
                    )
                    return mark
                left = row[1] - now
            time.sleep(min(wait, left))
            wait = min(_POLL_MAX, wait * 2)

    def _renew(self, key: str, mark: Any, lease: float) -> bool:
        with self._failures("renew the lock"), self._guard:
            cursor = self._connect().execute(
                "UPDATE leases SET until = ? WHERE key = ? AND owner = ? AND until > ?",
                (time.time() + lease, key, mark, time.time()),
            )
            return bool(cursor.rowcount == 1)

    def _release(self, key: str, mark: Any) -> None:
        try:
            with self._guard:
                self._connect().execute("DELETE FROM leases WHERE key = ? AND owner = ?", (key, mark))
        except (self._sqlite.Error, TokenStoreError, OSError) as exc:
            logger.warning("SQLiteTokenStore: the lock could not be released (%s); its lease frees it", exc)

    @staticmethod
    def _owns(connection: sqlite3.Connection, key: str, mark: Any) -> bool:
        row = connection.execute("SELECT owner, until FROM leases WHERE key = ?", (key,)).fetchone()
        return row is not None and row[0] == mark and row[1] > time.time()

    # --- the connection

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A short write transaction (``BEGIN IMMEDIATE``), committed when the block ends."""
        with self._guard:
            connection = self._connect()
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    @contextmanager
    def _failures(self, action: str) -> Iterator[None]:
        try:
            yield
        except (self._sqlite.Error, OSError) as exc:
            # SQLite's messages name the failure ("database is locked"), never a stored value.
            raise TokenStoreError(f"SQLiteTokenStore {self._path!r}: cannot {action}: {exc}") from exc

    def _connect(self) -> sqlite3.Connection:
        """This process's connection (call with the guard held), opened on first use."""
        if self._closed:
            raise TokenStoreError(f"SQLiteTokenStore {self._path!r} is closed")
        if self._connection is None:
            self._connection = self._open()
        return self._connection

    def _before_fork(self) -> None:
        # Every statement runs under the guard: holding it, no thread is inside a transaction.
        self._guard.acquire()

    def _after_fork_in_parent(self) -> None:
        self._guard.release()

    def _after_fork_in_child(self) -> None:
        super()._after_fork_in_child()
        # SQLite forbids using a connection across fork(), closing included: the parent's stays
        # referenced and untouched. The child is single-threaded here, so nothing races this.
        if self._connection is not None:
            self._inherited.append(self._connection)
        self._connection = None
        self._guard = threading.RLock()

    def _open(self) -> sqlite3.Connection:
        # Create the file with the owner-only mode before SQLite opens it (SQLite would use 0644).
        descriptor = os.open(self._path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        os.close(descriptor)
        connection = self._sqlite.connect(
            self._path,
            timeout=_SQLITE_BUSY_TIMEOUT,
            isolation_level=None,  # autocommit: the store issues BEGIN IMMEDIATE / COMMIT itself
            check_same_thread=False,  # the process's threads take turns under the guard
        )
        try:
            if str(connection.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                connection.execute("PRAGMA journal_mode = WAL")
            if connection.execute("PRAGMA user_version").fetchone()[0] != SQLITE_SCHEMA_VERSION:
                self._migrate(connection)
        except BaseException:
            connection.close()
            raise
        return connection  # type: ignore[no-any-return]

    def _migrate(self, connection: sqlite3.Connection) -> None:
        """Bring the schema to ``SQLITE_SCHEMA_VERSION`` (0 is a new file, 1 the previous release's)."""
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
            if version < 2:
                connection.execute(
                    "CREATE TABLE IF NOT EXISTS leases (key TEXT PRIMARY KEY, owner TEXT NOT NULL, until REAL NOT NULL)"
                )
                connection.execute(
                    "CREATE TABLE IF NOT EXISTS records (key TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,"
                    " expires REAL NOT NULL, PRIMARY KEY (key, name))"
                )
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
