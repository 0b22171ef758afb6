"""Functions run in child processes by the token store tests (importable by spawned children)."""

from __future__ import annotations

import time
from typing import Any

from mdnotesropcgwithoutauthscopes.http.auth.token_store import TokenStore

COUNTER = "n"


def increment(store: TokenStore, key: str, times: int, lease: float) -> None:
    """Add one to the counter kept in the stored token, ``times`` times, each under the lock.

    The read, the pause and the write make lost updates certain should two holders overlap.
    """
    for _ in range(times):
        with store.lock(key, lease):
            token = store.load(key)
            assert token is not None
            count = token.additional_properties[COUNTER]
            time.sleep(0.002)
            token.additional_properties[COUNTER] = count + 1
            store.save(key, token)


def hold_forever(store: TokenStore, key: str, lease: float, holding: Any) -> None:
    """Take the lock, say so, and keep it until killed."""
    with store.lock(key, lease):
        holding.set()
        time.sleep(600)
