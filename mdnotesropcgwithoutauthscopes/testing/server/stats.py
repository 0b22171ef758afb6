"""Request counters that tests assert on, shared by the reference server and the ``responses`` helper."""

from __future__ import annotations

import threading
from typing import Optional, TypedDict, cast


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
    - ``refused_password_grants``: password grants answered 400 ``invalid_grant`` because the
      username or password was wrong or the account was locked.
    - ``client_authentication_failures``: token requests answered 401 ``invalid_client`` (client
      authentication missing or wrong, or the client locked).
    - ``account_lockouts``, ``client_lockouts``: times an account or a client became locked
      (``lockout_threshold`` failures within ``lockout_period``).
    - ``locked_account_refusals``, ``locked_client_refusals``: requests refused only because the
      account or the client was locked (included in the two counters above).
    - ``expired_access_tokens``: API requests refused because their access token had expired.
    - ``api_requests``: requests to ``/status`` and ``/user`` together; ``status_requests`` and
      ``user_requests`` each one alone (injected faults included).

    Only the server's own answers count in the refusal and lockout counters: a scripted answer of
    ``MdNotesResponses`` or an injected fault is not a refusal.
    """

    token_requests: int
    password_grant_requests: int
    refresh_grant_requests: int
    password_grants: int
    refresh_grants: int
    failed_token_requests: int
    reused_refresh_tokens: int
    refused_password_grants: int
    client_authentication_failures: int
    account_lockouts: int
    client_lockouts: int
    locked_account_refusals: int
    locked_client_refusals: int
    expired_access_tokens: int
    api_requests: int
    status_requests: int
    user_requests: int


class ServerStats(EndpointStats):
    """``EndpointStats`` plus what only the reference server counts.

    - ``connections``: TCP connections it accepted.
    - ``injected_token_503s``, ``injected_token_429s``: token requests answered 503 or 429 by an
      injected fault (``status_503_count``, ``status_503_ratio``, ``token_503_for``,
      ``status_429_count``).
    - ``dropped_token_requests``: token requests whose connection an injected fault closed.
    - ``delayed_token_requests``: token requests an injected fault delayed (``latency`` or
      ``token_delay``).
    - ``token_responses``: token requests by grant type (``"password"``, ``"refresh_token"``, or
      ``"other"`` for any other or none) and then by the status answered (``"200"``, ``"400"``...,
      or ``"dropped"``), for example ``{"password": {"200": 1, "400": 5}}``; injected faults
      included.
    """

    connections: int
    injected_token_503s: int
    injected_token_429s: int
    dropped_token_requests: int
    delayed_token_requests: int
    token_responses: dict[str, dict[str, int]]


ENDPOINT_STAT_NAMES: tuple[str, ...] = tuple(EndpointStats.__annotations__)
SERVER_STAT_NAMES: tuple[str, ...] = (
    *ENDPOINT_STAT_NAMES,
    "connections",
    "injected_token_503s",
    "injected_token_429s",
    "dropped_token_requests",
    "delayed_token_requests",
)
# Grant types that ``token_responses`` names; any other (or none) is counted as "other".
_TALLIED_GRANTS = frozenset({"password", "refresh_token"})


class Counters:
    """Thread-safe named counters; ``snapshot()`` copies them all at once."""

    def __init__(self, names: tuple[str, ...] = SERVER_STAT_NAMES) -> None:
        self._names = names
        self._lock = threading.Lock()
        self._values = dict.fromkeys(names, 0)
        self._token_responses: dict[str, dict[str, int]] = {}

    def increment(self, name: str) -> None:
        """Add one to a counter.

        Raises:
            KeyError: no counter has that name.
        """
        with self._lock:
            self._values[name] += 1

    def count_token_response(self, grant_type: Optional[str], status: str) -> None:
        """Count one token request's answer by grant type and status (``"dropped"``: no answer)."""
        grant = grant_type if grant_type is not None and grant_type in _TALLIED_GRANTS else "other"
        with self._lock:
            by_status = self._token_responses.setdefault(grant, {})
            by_status[status] = by_status.get(status, 0) + 1

    def snapshot(self) -> dict[str, int]:
        """A copy of every counter."""
        with self._lock:
            return dict(self._values)

    def reset(self) -> None:
        """Set every counter to zero."""
        with self._lock:
            self._values = dict.fromkeys(self._names, 0)
            self._token_responses = {}

    def server_stats(self) -> ServerStats:
        """Every counter and ``token_responses``, copied at once, typed as the reference server's stats."""
        with self._lock:
            stats: dict[str, object] = dict(self._values)
            stats["token_responses"] = {grant: dict(by_status) for grant, by_status in self._token_responses.items()}
        return cast(ServerStats, stats)

    def endpoint_stats(self) -> EndpointStats:
        """The snapshot typed as endpoint stats (for counters without ``connections``)."""
        return cast(EndpointStats, self.snapshot())
