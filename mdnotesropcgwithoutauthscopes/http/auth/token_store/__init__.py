"""Token stores: one OAuth token shared by every client, process and host that uses the same store.

Importing this package imports neither ``sqlite3`` nor ``redis``: a store imports its module when
it is made.
"""

from mdnotesropcgwithoutauthscopes.http.auth.token_store.base import (
    Lease,
    LeasedTokenStore,
    LeaseLostError,
    TokenStore,
    TokenStoreError,
)
from mdnotesropcgwithoutauthscopes.http.auth.token_store.memory import MemoryTokenStore
from mdnotesropcgwithoutauthscopes.http.auth.token_store.redis import RedisTokenStore
from mdnotesropcgwithoutauthscopes.http.auth.token_store.sqlite import SQLiteTokenStore

__all__ = [
    "Lease",
    "LeaseLostError",
    "LeasedTokenStore",
    "MemoryTokenStore",
    "RedisTokenStore",
    "SQLiteTokenStore",
    "TokenStore",
    "TokenStoreError",
]
