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


def _client(base_uri: str, store: TokenStore, credentials: dict[str, str], **settings: Any) -> Any:
    """A client of ``base_uri`` with the demo ``credentials`` and ``store``, plus a count of its tokens."""
    from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import ResourceOwnerAuthCredentials
    from mdnotesropcgwithoutauthscopes.mdnotesropcgwithoutauthscopes_client import (
        MdnotesropcgwithoutauthscopesClient,
    )

    obtained: list[Any] = []
    creds = ResourceOwnerAuthCredentials(
        o_auth_client_id=credentials["client_id"],
        o_auth_client_secret=credentials["client_secret"],
        o_auth_username=credentials["username"],
        o_auth_password=credentials["password"],
        o_auth_on_token_update=obtained.append,  # fires for each token this process got from the server
        o_auth_token_store=store,
    )
    client = MdnotesropcgwithoutauthscopesClient(base_uri=base_uri, resource_owner_auth_credentials=creds, **settings)
    client.obtained = obtained  # type: ignore[attr-defined]  # read by the tests
    return client


def call_repeatedly(client: Any, seconds: float, pause: float) -> tuple[int, list[str]]:
    """Call the API with ``client`` for ``seconds``; return the successes and a line per failure."""
    done, failures = 0, []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            client.service.get_status()
            done += 1
        except Exception as exc:  # noqa: BLE001 - every failure is reported to the test
            failures.append(f"{type(exc).__name__}: {exc}"[:300])
        time.sleep(pause)
    return done, failures


def fleet_process(
    base_uri: str,
    store: TokenStore,
    credentials: dict[str, str],
    threads: int,
    clients: int,
    seconds: float,
    ready: Any,
    go: Any,
    results: Any,
) -> None:
    """One process of a fleet: ``threads`` threads over ``clients`` clients, calling for ``seconds``.

    Threads of one client share its token in memory; clients share theirs only through the store.
    Puts ``(pid, calls, failures, tokens obtained from the server)`` on ``results``.
    """
    import os
    import threading

    fleet = [_client(base_uri, store, credentials, timeout=5) for _ in range(clients)]
    outcomes: list[tuple[int, list[str]]] = []
    lock = threading.Lock()

    def run(client: Any) -> None:
        outcome = call_repeatedly(client, seconds, pause=0.05)
        with lock:
            outcomes.append(outcome)

    workers = [threading.Thread(target=run, args=(fleet[n % clients],)) for n in range(threads)]
    ready.put(os.getpid())
    go.wait(60)
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    for client in fleet:
        client.close()
    results.put(
        (
            os.getpid(),
            sum(done for done, _ in outcomes),
            [line for _, failures in outcomes for line in failures],
            sum(len(client.obtained) for client in fleet),
        )
    )


def one_call(base_uri: str, store: TokenStore, credentials: dict[str, str], timeout: float) -> None:
    """Make one API call (the test kills this process while its token request hangs)."""
    client = _client(base_uri, store, credentials, timeout=timeout)
    client.service.get_status()
