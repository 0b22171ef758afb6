"""``SharedStore``: the token store as the coordinator uses it; a store that fails is logged and skipped."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable, NamedTuple, Optional

from mdnotesropcgwithoutauthscopes.api_helper import APIHelper
from mdnotesropcgwithoutauthscopes.exceptions.api_exception import APIException
from mdnotesropcgwithoutauthscopes.http.auth.token_source import header_safe
from mdnotesropcgwithoutauthscopes.http.auth.token_store import Lease, MemoryTokenStore, TokenStore, TokenStoreError
from mdnotesropcgwithoutauthscopes.http.auth.token_store.base import Record
from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken

logger = logging.getLogger("mdnotesropcgwithoutauthscopes")

#: The store lease: short, because its holder keeps it alive; a dead or frozen holder delays the
#: others by at most this long (a holder whose process ended on the same machine, not at all).
LEASE_SECONDS = 6.0
_LOCAL_KEY = "local"


class Shared(NamedTuple):
    """Whether one flight uses the store, and its lease (None: the store cannot tell)."""

    store: bool
    lease: Optional[Lease]


class SharedStore:
    """One client's view of its token store (or of none): the lease, the token, the records.

    Every failure of the store is logged (WARNING once, then DEBUG until it answers again, then
    INFO) and turned into "no store": the caller goes on with what it holds in this process.
    Without a store, records (the sign-in hold, the outage backoff) are kept in this process.

    Args:
        store: the ``o_auth_token_store``, or None.
        key: the client's store key (None without a store).
    """

    __slots__ = ("_store", "_key", "_records", "_records_key", "failing")

    def __init__(self, store: Optional[TokenStore], key: Optional[str]) -> None:
        self._store = store if key is not None else None
        self._key = key
        self._records: TokenStore = self._store if self._store is not None else MemoryTokenStore()
        self._records_key = key if self._store is not None and key is not None else _LOCAL_KEY
        self.failing = False

    @property
    def enabled(self) -> bool:
        """True when the client has a store (working or not)."""
        return self._store is not None

    @contextmanager
    def lease(self) -> Iterator[Shared]:
        """The store's lock for one flight; ``store`` is False without a store or when it fails."""
        store, key = self._store, self._key
        if store is None or key is None:
            yield Shared(False, None)
            return
        try:
            held = store.lock(key, LEASE_SECONDS)
            lease = held.__enter__()
        except Exception as exc:  # noqa: BLE001 - a failing store must not fail the call
            self._failed("lock", exc)
            yield Shared(False, None)
            return
        self._answered()
        try:
            yield Shared(True, lease if isinstance(lease, Lease) else None)
        finally:
            try:
                held.__exit__(None, None, None)
            except Exception as exc:  # noqa: BLE001 - the lease ends by itself; the call is done
                self._failed("unlock", exc)

    def load(self) -> Optional[OAuthToken]:
        """The stored token, or None (no store, none stored, unusable, or the store failed)."""
        store, key = self._store, self._key
        if store is None or key is None:
            return None
        token: Optional[OAuthToken] = self._call("read", lambda: store.load(key))
        if token is not None and not header_safe(token.access_token):
            logger.warning("The token store held an unusable token; it is ignored and will be replaced")
            return None
        return token

    def save(self, token: OAuthToken) -> None:
        """Save ``token`` (fenced by the lease when called inside it)."""
        store, key = self._store, self._key
        if store is not None and key is not None:
            self._call("write", lambda: store.save(key, token))

    def load_record(self, name: str) -> Optional[Record]:
        """The record ``name`` kept beside the token, or None."""
        record: Optional[Record] = self._call("read", lambda: self._records.load_record(self._records_key, name))
        return record

    def save_record(self, name: str, value: Optional[Record], ttl: float) -> None:
        """Keep (or with None, forget) the record ``name`` for ``ttl`` seconds."""
        self._call("write", lambda: self._records.save_record(self._records_key, name, value, ttl))

    def _call(self, action: str, call: Callable[[], Any]) -> Any:
        try:
            result = call()
        except Exception as exc:  # noqa: BLE001 - a failing store must not fail the call
            if self._store is None:
                raise  # the in-process records never fail: this is a bug, not an outage
            self._failed(action, exc)
            return None
        if self._store is not None:
            self._answered()
        return result

    def _failed(self, action: str, exc: BaseException) -> None:
        level = logging.DEBUG if self.failing else logging.WARNING
        self.failing = True
        logger.log(
            level, "Token store %s failed (%s); going on with the token held in this process", action, describe(exc)
        )

    def _answered(self) -> None:
        if self.failing:
            self.failing = False
            logger.info("The token store answers again; the shared token is used from now on")


def describe(exc: BaseException) -> str:
    """An exception for a log line: its class, and its text when it is the SDK's own (secret-free)."""
    if isinstance(exc, (APIException, TokenStoreError)):
        return f"{type(exc).__name__}: {APIHelper.clean_text(str(exc), 300)}"
    return type(exc).__name__
