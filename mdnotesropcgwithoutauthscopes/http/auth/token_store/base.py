"""What every token store shares: the interface, the stored format, and leases kept alive by their holder."""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Callable, Optional

from mdnotesropcgwithoutauthscopes.http.forking import reset_after_fork
from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken

logger = logging.getLogger("mdnotesropcgwithoutauthscopes")

#: A record's value: a small JSON object (the SDK keeps its sign-in hold and outage backoff so).
Record = dict[str, Any]


class TokenStoreError(Exception):
    """A store could not do what was asked (server down, file not writable...).

    Its message must never hold a secret: the auth manager logs it at WARNING and goes on with the
    token it holds in memory.
    """


class LeaseLostError(TokenStoreError):
    """A fenced save was refused: the holder's lease ran out and another holder may have the lock."""


class Lease:
    """The lease on a held lock, kept alive in the background while its holder is inside the block.

    A thread of the lease's own renews it every third of its length. When a renewal finds the lock
    taken over, or when the lease has not been renewed for its whole length (the process was
    frozen, the store unreachable), ``held`` turns False for good: the holder must then present no
    token and save nothing.

    Args:
        key: the store key.
        length: the lease in seconds.
        renew: extends the lease by ``length``; returns False when the lock is no longer ours.
    """

    __slots__ = ("key", "length", "_renew", "_until", "_lost", "_stop", "_thread")

    def __init__(self, key: str, length: float, renew: Callable[[], bool]) -> None:
        self.key = key
        self.length = length
        self._renew = renew
        self._until = time.monotonic() + length
        self._lost = False
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    @property
    def held(self) -> bool:
        """True while the lock is still this holder's (renewed in time, never taken over)."""
        return not self._lost and time.monotonic() < self._until

    def start(self) -> None:
        """Start keeping the lease alive (a daemon thread: it never holds up interpreter exit)."""
        self._thread = threading.Thread(target=self._keep_alive, name="mdnotes-token-lease", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop renewing; the holder is about to release the lock."""
        self._stop.set()

    def _keep_alive(self) -> None:
        interval = self.length / 3
        while not self._stop.wait(interval):
            started = time.monotonic()
            if started >= self._until:
                self._lost = True
                logger.warning("Token store lease on a lock expired before it could be renewed; giving it up")
                return
            try:
                still_ours = self._renew()
            except Exception as exc:  # noqa: BLE001 - a store hiccup: try again until the lease runs out
                logger.debug("Token store lease renewal failed (%s); trying again", type(exc).__name__)
                continue
            if not still_ours:
                self._lost = True
                logger.warning("Token store lease was taken over by another holder; this one presents nothing more")
                return
            self._until = started + self.length

    def __repr__(self) -> str:
        return f"Lease(held={self.held}, length={self.length:g})"


class TokenStore(ABC):
    """Where the auth manager keeps its token so that other clients, processes and hosts share it.

    A store keeps one ``OAuthToken`` per key (the SDK derives the key from the token endpoint,
    client id and username, hashed) and offers an exclusive lock per key that every process using
    the same store honours. To bring your own store, implement ``load``, ``save``, ``delete`` and
    ``lock`` (see ``lock`` for what a lease must do), or subclass ``LeasedTokenStore`` and
    implement its lease primitives. Raise ``TokenStoreError`` (or any exception) when the backing
    service fails: the SDK logs it and carries on without the store until it answers again.

    ``load_record`` and ``save_record`` keep small records beside the token (the sign-in hold and
    the outage backoff of API.md section 9). The defaults keep them in this object, so they are
    shared by the clients of one process only; override both to share them across processes.
    """

    @abstractmethod
    def load(self, key: str) -> Optional[OAuthToken]:
        """The token saved under ``key``, or None (also for a value that cannot be read back)."""

    @abstractmethod
    def save(self, key: str, token: OAuthToken) -> None:
        """Keep ``token`` under ``key``, replacing what was there.

        Inside ``lock(key, ...)`` a save must be fenced: refused (raise ``LeaseLostError``) when the
        caller's lease has run out, so an overdue holder never replaces a newer token.
        """

    @abstractmethod
    def delete(self, key: str) -> None:
        """Forget the token under ``key`` (no error when there is none)."""

    @abstractmethod
    def lock(self, key: str, timeout: float) -> AbstractContextManager[Optional[Lease]]:
        """A context manager holding the exclusive lock on ``key`` for every user of this store.

        What a lock must do: exclude every other holder of ``key`` in every process; be released
        when the block exits or the holder dies; and be a lease of ``timeout`` seconds that the
        holder keeps alive (renewing it at a fraction of its length) while it is inside the block,
        so that a holder that dies or freezes loses it to the next waiter after ``timeout`` at most.
        Waiters wait until the lock is released or its lease runs out, and never fail merely for
        having waited. The block receives a ``Lease`` (or None when the store cannot tell whether
        it still holds the lock).

        Args:
            key: the store key.
            timeout: the lease in seconds.
        """

    def load_record(self, key: str, name: str) -> Optional[Record]:
        """The record ``name`` kept beside ``key``'s token, or None (also once it has expired)."""
        _check_key(key)
        with _default_records_guard:
            records = _default_records(self)
            entry = records.get((key, name))
            if entry is None:
                return None
            value, expires = entry
            if time.time() >= expires:
                del records[(key, name)]
                return None
            return dict(value)

    def save_record(self, key: str, name: str, value: Optional[Record], ttl: float) -> None:
        """Keep the record ``name`` beside ``key``'s token for ``ttl`` seconds (None: forget it)."""
        _check_key(key)
        with _default_records_guard:
            records = _default_records(self)
            if value is None:
                records.pop((key, name), None)
            else:
                records[(key, name)] = (dict(value), time.time() + _check_timeout(ttl))


_default_records_guard = threading.Lock()


def _default_records(store: TokenStore) -> dict[tuple[str, str], tuple[Record, float]]:
    records: Optional[dict[tuple[str, str], tuple[Record, float]]] = store.__dict__.get("_mdnotes_records")
    if records is None:
        records = {}
        store.__dict__["_mdnotes_records"] = records
    return records


class _HeldLocks(threading.local):
    """The locks the current thread holds on one store: what makes ``lock`` re-entrant and fences saves."""

    def __init__(self) -> None:
        self.marks: dict[str, tuple[Any, Lease]] = {}


class LeasedTokenStore(TokenStore):
    """A store whose ``lock`` is a lease built from ``_acquire``, ``_renew`` and ``_release``.

    This class keeps the lease alive while the holder is inside the block (see ``Lease``), makes
    the lock re-entrant per thread, gives saves inside the lock the holder's mark for fencing
    (``_held_mark``), and starts clean in a forked child: the child holds none of its parent's
    locks. Subclasses implement the primitives and, when they keep connections, reset them in
    ``_after_fork_in_child`` (calling this class's).
    """

    def __init__(self) -> None:
        self._held = _HeldLocks()
        reset_after_fork(self)

    @contextmanager
    def lock(self, key: str, timeout: float) -> Iterator[Lease]:
        """Hold the exclusive lock on ``key``; see ``TokenStore.lock``.

        Args:
            key: the store key.
            timeout: the lease in seconds.

        Raises:
            TokenStoreError: the store could not be asked for the lock (raised before the block
                runs; releasing never raises: a failed release is logged at WARNING and the lease
                frees the lock).
        """
        _check_key(key)
        length = _check_timeout(timeout)
        marks = self._held.marks
        if key in marks:
            yield marks[key][1]
            return
        mark = self._acquire(key, length)
        lease = Lease(key, length, lambda: self._renew(key, mark, length))
        marks[key] = (mark, lease)
        lease.start()
        try:
            yield lease
        finally:
            lease.stop()
            marks.pop(key, None)
            self._release(key, mark)

    def _held_mark(self, key: str) -> Any:
        """The current thread's mark for ``key``'s lock, or None when it does not hold it."""
        held = self._held.marks.get(key)
        return None if held is None else held[0]

    def _after_fork_in_child(self) -> None:
        self._held = _HeldLocks()

    @abstractmethod
    def _acquire(self, key: str, lease: float) -> Any:
        """Wait for the lock on ``key`` (or for its holder's lease to run out) and take it; return a mark."""

    @abstractmethod
    def _renew(self, key: str, mark: Any, lease: float) -> bool:
        """Extend the lease of ``mark`` by ``lease`` seconds; False when the lock is no longer ours."""

    @abstractmethod
    def _release(self, key: str, mark: Any) -> None:
        """Release the lock taken by ``_acquire`` if it is still ours; must not raise."""


# --- Argument checks and the stored format. ---


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


def encode_token(token: object) -> str:
    """The stored form of a token: its ``to_dictionary()`` as JSON, and nothing else."""
    if not isinstance(token, OAuthToken):
        raise TypeError(f"a token store saves an OAuthToken, not {type(token).__name__}")
    if not isinstance(token.access_token, str) or not token.access_token:
        raise ValueError("a token without an access_token cannot be saved")
    return json.dumps(token.to_dictionary(), separators=(",", ":"), sort_keys=True)


def encode_record(value: object) -> str:
    """The stored form of a record: a JSON object."""
    if not isinstance(value, dict):
        raise TypeError(f"a token store record is a dict, not {type(value).__name__}")
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def decode_record(raw: object) -> Optional[Record]:
    """The record in a stored value, or None when it is not a JSON object."""
    if isinstance(raw, (bytes, bytearray)):
        raw = bytes(raw).decode("utf-8", "replace")
    try:
        data = json.loads(str(raw))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


# Optional token fields and the types a readable stored value has for them.
_OPTIONAL_FIELDS: tuple[tuple[str, tuple[type, ...]], ...] = (
    ("token_type", (str,)),
    ("scope", (str,)),
    ("refresh_token", (str,)),
    ("expires_in", (int, float)),
    ("expiry", (int, float)),
)


def decode_token(raw: object, store: object) -> Optional[OAuthToken]:
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
