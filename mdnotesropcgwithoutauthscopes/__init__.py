"""Python SDK for the MdNotes API, authenticated with the OAuth 2.0 password grant."""

from mdnotesropcgwithoutauthscopes.http.auth.token_store import MemoryTokenStore as MemoryTokenStore
from mdnotesropcgwithoutauthscopes.http.auth.token_store import RedisTokenStore as RedisTokenStore
from mdnotesropcgwithoutauthscopes.http.auth.token_store import SQLiteTokenStore as SQLiteTokenStore
from mdnotesropcgwithoutauthscopes.http.auth.token_store import TokenStore as TokenStore
from mdnotesropcgwithoutauthscopes.http.auth.token_store import TokenStoreError as TokenStoreError

__version__ = "1.0.0"

__all__ = [
    "MemoryTokenStore",
    "RedisTokenStore",
    "SQLiteTokenStore",
    "TokenStore",
    "TokenStoreError",
    "__version__",
]
