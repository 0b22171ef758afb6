"""Threads and processes that call with refused credentials, for the sign-in hold tests."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any, Optional

from mdnotesropcgwithoutauthscopes.http.auth.token_store import TokenStore


def client(
    base_uri: str,
    credentials: dict[str, str],
    store: Optional[TokenStore] = None,
    *,
    hold_max: float = 300,
    **settings: Any,
) -> Any:
    """A client of ``base_uri`` with ``credentials`` (the demo's keys), an optional store and hold cap."""
    from mdnotesropcgwithoutauthscopes import MdnotesropcgwithoutauthscopesClient, ResourceOwnerAuthCredentials

    creds = ResourceOwnerAuthCredentials(
        o_auth_client_id=credentials["client_id"],
        o_auth_client_secret=credentials["client_secret"],
        o_auth_username=credentials["username"],
        o_auth_password=credentials["password"],
        o_auth_token_store=store,
        o_auth_refusal_hold_max=hold_max,
    )
    return MdnotesropcgwithoutauthscopesClient(base_uri=base_uri, resource_owner_auth_credentials=creds, **settings)


class Outcomes:
    """What the calls of some threads raised: a count per exception type, the first type, the slowest held call."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.raised: Counter[str] = Counter()
        self.first: Optional[str] = None
        self.oauth_provider_errors = 0
        self.slowest_held = 0.0

    def call(self, sdk_client: Any) -> None:
        from mdnotesropcgwithoutauthscopes import CredentialsHeldException, OAuthProviderException

        started = time.monotonic()
        try:
            sdk_client.service.get_status()
            name = "ok"
            provider_error = False
        except Exception as exc:  # noqa: BLE001 - every outcome is counted
            name = type(exc).__name__
            provider_error = isinstance(exc, OAuthProviderException)
            if isinstance(exc, CredentialsHeldException):
                with self.lock:
                    self.slowest_held = max(self.slowest_held, time.monotonic() - started)
        with self.lock:
            self.raised[name] += 1
            self.first = self.first or name
            self.oauth_provider_errors += provider_error

    def run(self, sdk_client: Any, threads: int, seconds: float, pause: float = 0.005) -> None:
        """``threads`` threads calling with ``sdk_client`` for ``seconds``."""
        deadline = time.monotonic() + seconds

        def loop() -> None:
            while time.monotonic() < deadline:
                self.call(sdk_client)
                time.sleep(pause)

        workers = [threading.Thread(target=loop) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    def summary(self) -> dict[str, Any]:
        return {
            "raised": dict(self.raised),
            "first": self.first,
            "oauth_provider_errors": self.oauth_provider_errors,
            "slowest_held": self.slowest_held,
        }


def hold_process(
    base_uri: str,
    store: TokenStore,
    credentials: dict[str, str],
    threads: int,
    seconds: float,
    ready: Any,
    go: Any,
    results: Any,
) -> None:
    """One process of a fleet with refused credentials: one client, ``threads`` threads, ``seconds``."""
    sdk_client = client(base_uri, credentials, store)
    outcomes = Outcomes()
    ready.put(1)
    go.wait(60)
    outcomes.run(sdk_client, threads, seconds, pause=0.01)
    sdk_client.close()
    results.put(outcomes.summary())
