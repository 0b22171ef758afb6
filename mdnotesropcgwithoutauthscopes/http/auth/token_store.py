"""Token stores: one OAuth token shared by every client, process and host that uses the same store."""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Optional

from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken

__all__ = ["MemoryTokenStore", "TokenStore", "TokenStoreError"]


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


class MemoryTokenStore(TokenStore):
    """A store in this process's memory: what a client without a store behaves like.

    Clients of one process that share it share their token. Thread-safe.
    """

    def __init__(self) -> None:
        self._tokens: dict[str, dict[str, object]] = {}
        self._guard = threading.Lock()
        self._locks: dict[str, _Lease] = {}

    def load(self, key: str) -> Optional[OAuthToken]:
        with self._guard:
            value = self._tokens.get(key)
        return OAuthToken.from_dictionary(value) if value is not None else None

    def save(self, key: str, token: OAuthToken) -> None:
        value = token.to_dictionary()
        with self._guard:
            self._tokens[key] = value

    def delete(self, key: str) -> None:
        with self._guard:
            self._tokens.pop(key, None)

    @contextmanager
    def lock(self, key: str, timeout: float) -> Iterator[None]:
        with self._guard:
            lease = self._locks.setdefault(key, _Lease())
        holder = lease.acquire(timeout)
        try:
            yield
        finally:
            lease.release(holder)

    def __repr__(self) -> str:
        return f"MemoryTokenStore(keys={len(self._tokens)})"


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
                    break  # the holder overstayed its lease: take the lock over
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
