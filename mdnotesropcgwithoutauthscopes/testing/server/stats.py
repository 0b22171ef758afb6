"""Request counters that tests assert on, shared by the reference server and the ``responses`` helper."""

from __future__ import annotations

import threading
from typing import TypedDict, cast


class EndpointStats(TypedDict):
    """What was asked of the token, ``/status`` and ``/user`` endpoints.

    - ``token_requests``: every request to the token endpoint, whatever its outcome.
    - ``password_grant_requests``, ``refresh_grant_requests``: token requests by the
      ``grant_type`` they sent, whatever their outcome.
    - ``password_grants``, ``refresh_grants``: tokens issued (answered 200) by each grant.
    - ``failed_token_requests``: token requests not answered with 200 (OAuth errors, injected
      faults, dropped connections).
    - ``reused_refresh_tokens``: refresh requests refused because their (rotated) refresh token
      had already been used.
    - ``api_requests``: requests to ``/status`` and ``/user`` together; ``status_requests`` and
      ``user_requests`` each one alone (injected faults included).
    """

    token_requests: int
    password_grant_requests: int
    refresh_grant_requests: int
    password_grants: int
    refresh_grants: int
    failed_token_requests: int
    reused_refresh_tokens: int
    api_requests: int
    status_requests: int
    user_requests: int


class ServerStats(EndpointStats):
    """``EndpointStats`` plus ``connections``: TCP connections the reference server accepted."""

    connections: int


ENDPOINT_STAT_NAMES: tuple[str, ...] = tuple(EndpointStats.__annotations__)
SERVER_STAT_NAMES: tuple[str, ...] = (*ENDPOINT_STAT_NAMES, "connections")


class Counters:
    """Thread-safe named counters; ``snapshot()`` copies them all at once."""

    def __init__(self, names: tuple[str, ...] = SERVER_STAT_NAMES) -> None:
        self._names = names
        self._lock = threading.Lock()
        self._values = dict.fromkeys(names, 0)

    def increment(self, name: str) -> None:
        """Add one to a counter.

        Raises:
            KeyError: no counter has that name.
        """
        with self._lock:
            self._values[name] += 1

    def snapshot(self) -> dict[str, int]:
        """A copy of every counter."""
        with self._lock:
            return dict(self._values)

    def reset(self) -> None:
        """Set every counter to zero."""
        with self._lock:
            self._values = dict.fromkeys(self._names, 0)

    def server_stats(self) -> ServerStats:
        """The snapshot typed as the reference server's stats."""
        return cast(ServerStats, self.snapshot())

    def endpoint_stats(self) -> EndpointStats:
        """The snapshot typed as endpoint stats (for counters without ``connections``)."""
        return cast(EndpointStats, self.snapshot())
