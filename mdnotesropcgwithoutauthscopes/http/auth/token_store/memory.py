"""``MemoryTokenStore``: one process's store, what a client without a store behaves like."""

from __future__ import annotations

import threading
import time
from typing import Any, Optional

from mdnotesropcgwithoutauthscopes.http.auth.token_store.base import (
    LeasedTokenStore,
    LeaseLostError,
    _check_key,
    decode_token,
    encode_token,
)
from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken


class MemoryTokenStore(LeasedTokenStore):
    """A store in this process's memory: what a client without a store behaves like.

    Clients of one process that share it share their token. Tokens are kept as JSON text, as the
    other stores keep them, so a loaded token is a copy the caller may change. Thread-safe. Its
    locks are leases like every store's; a forked child starts with none held (its tokens are
    the parent's copy).
    """

    def __init__(self) -> None:
        super().__init__()
        self._values: dict[str, str] = {}
        self._guard = threading.Condition()
        self._leases: dict[str, tuple[object, float]] = {}  # key -> (owner mark, monotonic deadline)

    def load(self, key: str) -> Optional[OAuthToken]:
        """The token saved under ``key``, or None.

        Raises:
            TypeError, ValueError: ``key`` is not a non-empty str.
        """
        _check_key(key)
        with self._guard:
            value = self._values.get(key)
        return None if value is None else decode_token(value, self)

    def save(self, key: str, token: OAuthToken) -> None:
        """Keep ``token`` under ``key`` (inside ``lock``, only while the lease is still ours).

        Raises:
            TypeError, ValueError: ``key`` or ``token`` is not valid.
            LeaseLostError: this thread's lease on ``key`` ran out and another holder took it.
        """
        _check_key(key)
        value = encode_token(token)
        mark = self._held_mark(key)
        with self._guard:
            if mark is not None and not self._owns(key, mark):
                raise LeaseLostError("MemoryTokenStore: the lease ran out before the token was saved; not saved")
            self._values[key] = value

    def delete(self, key: str) -> None:
        """Forget the token under ``key``."""
        _check_key(key)
        with self._guard:
            self._values.pop(key, None)

    def _owns(self, key: str, mark: object) -> bool:
        lease = self._leases.get(key)
        return lease is not None and lease[0] is mark and time.monotonic() < lease[1]

    def _acquire(self, key: str, lease: float) -> Any:
        mark = object()
        with self._guard:
            while True:
                current = self._leases.get(key)
                now = time.monotonic()
                if current is None or current[1] <= now:
                    self._leases[key] = (mark, now + lease)
                    return mark
                self._guard.wait(current[1] - now)

    def _renew(self, key: str, mark: Any, lease: float) -> bool:
        with self._guard:
            if not self._owns(key, mark):
                return False
            self._leases[key] = (mark, time.monotonic() + lease)
            return True

    def _release(self, key: str, mark: Any) -> None:
        with self._guard:
            current = self._leases.get(key)
            if current is not None and current[0] is mark:
                del self._leases[key]
                self._guard.notify_all()

    def _after_fork_in_child(self) -> None:
        super()._after_fork_in_child()
        # The parent's threads (and their leases) were not copied; its guard may have been held.
        self._guard = threading.Condition()
        self._leases = {}

    def __repr__(self) -> str:
        return f"MemoryTokenStore(keys={len(self._values)})"
