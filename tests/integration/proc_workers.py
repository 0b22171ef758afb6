"""Code that runs in child processes for the tests of issue #17's defects (shared tokens, fork, exit).

Everything here is importable by a forked or spawned child; nothing starts when imported.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any, Optional

from mdnotesropcgwithoutauthscopes.http.auth.token_store import TokenStore
from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken
from tests.helpers.integration import DEMO


def make_client(base_uri: str, store: Optional[TokenStore], *, timeout: Optional[float] = None, **changes: Any) -> Any:
    """A client of ``base_uri`` with the demo password credentials, ``store`` and ``changes``.

    ``timeout=None`` keeps the client's default timeout (60 s).
    """
    from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import ResourceOwnerAuthCredentials
    from mdnotesropcgwithoutauthscopes.mdnotesropcgwithoutauthscopes_client import (
        MdnotesropcgwithoutauthscopesClient,
    )

    values: dict[str, Any] = dict(
        o_auth_client_id=DEMO["client_id"],
        o_auth_client_secret=DEMO["client_secret"],
        o_auth_username=DEMO["username"],
        o_auth_password=DEMO["password"],
        o_auth_token_store=store,
    )
    values.update(changes)
    settings: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
    creds = ResourceOwnerAuthCredentials(**values)
    return MdnotesropcgwithoutauthscopesClient(base_uri=base_uri, resource_owner_auth_credentials=creds, **settings)


def expired_copy(token: OAuthToken) -> OAuthToken:
    """``token`` with an expiry ten seconds ago: whoever loads it must renew it (its refresh token is fine)."""
    return OAuthToken.from_dictionary({**token.to_dictionary(), "expiry": int(time.time()) - 10})


def token_of(client: Any) -> tuple[Optional[str], Optional[str], Any]:
    """The access token, refresh token and expiry ``client`` uses now."""
    token = client.http_ropcg.token
    if token is None:
        return None, None, None
    return token.access_token, token.refresh_token, token.expiry


def one_call(base_uri: str, store: TokenStore, timeout: Optional[float], results: Any) -> None:
    """One API call; puts ``(pid, error or None, seconds it took, (access, refresh, expiry))`` on ``results``."""
    client = make_client(base_uri, store, timeout=timeout)
    started = time.monotonic()
    error = None
    try:
        client.service.get_status()
    except Exception as exc:  # noqa: BLE001 - reported to the test
        error = f"{type(exc).__name__}: {exc}"[:300]
    results.put((os.getpid(), error, time.monotonic() - started, token_of(client)))
    client.close()


def call_until_it_works(base_uri: str, store: TokenStore, timeout: float, seconds: float, results: Any) -> None:
    """Call every 0.2 s until a call succeeds (or ``seconds`` pass).

    Puts ``(pid, succeeded, failures, (access, refresh, expiry))`` on ``results``.
    """
    client = make_client(base_uri, store, timeout=timeout)
    failures: list[str] = []
    succeeded = False
    give_up_at = time.monotonic() + seconds
    while time.monotonic() < give_up_at:
        try:
            client.service.get_status()
        except Exception as exc:  # noqa: BLE001 - reported to the test
            failures.append(f"{type(exc).__name__}: {exc}"[:200])
            time.sleep(0.2)
            continue
        succeeded = True
        break
    results.put((os.getpid(), succeeded, failures, token_of(client)))
    client.close()


def adopted_expiry(base_uri: str, store: TokenStore, results: Any) -> None:
    """Put the ``expiry`` of the token a new client adopts from ``store`` (and its type's name) on ``results``."""
    client = make_client(base_uri, store)
    client.service.get_status()
    token = client.http_ropcg.token
    results.put((token.access_token, token.expiry, type(token.expiry).__name__))
    client.close()


def lock_and_load_in_threads(store: TokenStore, key: str, threads: int, seconds: float, lease: float) -> int:
    """In a forked child: ``threads`` threads take ``store``'s lock and load under it for ``seconds``.

    Returns the exit status for the child: 0 when every thread loaded the token at least once and
    none raised, 1 otherwise.
    """
    import sys

    sys.setswitchinterval(1e-6)  # switch threads as often as possible: races show up, if there are any
    done: list[int] = []
    failed: list[str] = []
    guard = threading.Lock()
    stop_at = time.monotonic() + seconds

    def run() -> None:
        count = 0
        try:
            while count == 0 or time.monotonic() < stop_at:
                with store.lock(key, lease):
                    token = store.load(key)
                    assert token is not None and token.access_token
                count += 1
        except BaseException as exc:  # noqa: BLE001 - reported through the exit status
            with guard:
                failed.append(f"{type(exc).__name__}: {exc}")
        with guard:
            done.append(count)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if failed or len(done) != threads:
        sys.stderr.write(f"child {os.getpid()}: {failed[:3]} ({len(done)} of {threads} threads finished)\n")
        return 1
    return 0
