"""Thread-safe store of the access and refresh tokens the reference server has issued."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from typing import Callable

REFRESH_TOKEN_LIFETIME = 30 * 24 * 3600.0
# Expired tokens are kept for a while so a late caller hears "expired" rather than "unknown",
# and used refresh tokens must be kept for reuse detection; pruning on a timer keeps issuing O(1).
_PRUNE_INTERVAL = 60.0


class TokenError(Exception):
    """A token was refused; the message is safe to send to the client."""


class AccessTokenExpired(TokenError):
    """An access token was presented after its lifetime (or ``expire_access_tokens()``)."""


class RefreshTokenReused(TokenError):
    """A rotated (already used) refresh token came back; its whole token family is now revoked."""


@dataclass(frozen=True)
class IssuedTokens:
    """An access token and the refresh token issued with it."""

    access_token: str
    refresh_token: str


@dataclass
class _Grant:
    client_id: str
    username: str
    family: str
    expires_at: float
    used: bool = False


class TokenStore:
    """Issues, validates, rotates and revokes tokens; every method is thread-safe."""

    def __init__(
        self,
        access_lifetime: float,
        *,
        refresh_lifetime: float = REFRESH_TOKEN_LIFETIME,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # Read and replaced without the lock: a float attribute swap is atomic, and a token issued
        # while it changes may get either lifetime.
        self.access_lifetime = access_lifetime
        self._refresh_lifetime = refresh_lifetime
        self._clock = clock
        self._lock = threading.Lock()
        self._access: dict[str, _Grant] = {}
        self._refresh: dict[str, _Grant] = {}
        self._next_prune = clock() + _PRUNE_INTERVAL

    def issue(self, client_id: str, username: str) -> IssuedTokens:
        """Start a new token family (a password grant) and return its first token pair."""
        with self._lock:
            return self._issue_locked(client_id, username, secrets.token_hex(8))

    def rotate(self, refresh_token: str, client_id: str, *, rotate: bool = True) -> IssuedTokens:
        """Exchange a refresh token for a new access token in the same family.

        Args:
            refresh_token: the refresh token the client sent.
            client_id: the authenticated client.
            rotate: issue a new refresh token and retire this one (reuse then revokes the family);
                ``False`` keeps this refresh token valid and returns it again.

        Raises:
            RefreshTokenReused: the token was already exchanged (its family is now revoked).
            TokenError: the token is unknown, belongs to another client or expired.
        """
        with self._lock:
            grant = self._refresh.get(refresh_token)
            if grant is None or grant.client_id != client_id:
                raise TokenError("The refresh token is unknown or revoked")
            if grant.used:
                # A second use means the token leaked or two clients share it: revoke the whole
                # family, as the OAuth 2.0 Security BCP (refresh token rotation) recommends.
                self._discard_locked(lambda other: other.family == grant.family)
                raise RefreshTokenReused("The refresh token was already used; its token family is revoked")
            if grant.expires_at <= self._clock():
                raise TokenError("The refresh token expired")
            if not rotate:
                access_token = self._issue_access_locked(grant)
                return IssuedTokens(access_token, refresh_token)
            grant.used = True
            return self._issue_locked(client_id, grant.username, grant.family)

    def authenticate(self, access_token: str) -> str:
        """Return the username an access token was issued for.

        Raises:
            AccessTokenExpired: the token expired.
            TokenError: the token is unknown or revoked.
        """
        with self._lock:
            grant = self._access.get(access_token)
            if grant is None:
                raise TokenError("The access token is unknown or revoked")
            if grant.expires_at <= self._clock():
                raise AccessTokenExpired("The access token expired")
            return grant.username

    def expire_access_tokens(self) -> int:
        """Make every access token issued so far expired now; return how many were still live."""
        with self._lock:
            now = self._clock()
            live = [grant for grant in self._access.values() if grant.expires_at > now]
            for grant in live:
                grant.expires_at = now
            return len(live)

    def revoke_access_tokens(self) -> int:
        """Revoke every access token (refresh tokens keep working); return how many there were."""
        with self._lock:
            count = len(self._access)
            self._access.clear()
            return count

    def _issue_locked(self, client_id: str, username: str, family: str) -> IssuedTokens:
        now = self._clock()
        if now >= self._next_prune:
            self._prune_locked(now)
        grant = _Grant(client_id, username, family, now + self._refresh_lifetime)
        issued = IssuedTokens(self._issue_access_locked(grant), secrets.token_urlsafe(32))
        self._refresh[issued.refresh_token] = grant
        return issued

    def _issue_access_locked(self, refresh_grant: _Grant) -> str:
        """A new access token for the same client, user and family as ``refresh_grant``."""
        token = secrets.token_urlsafe(32)
        expires_at = self._clock() + self.access_lifetime
        self._access[token] = _Grant(refresh_grant.client_id, refresh_grant.username, refresh_grant.family, expires_at)
        return token

    def _prune_locked(self, now: float) -> None:
        self._discard_locked(lambda grant: grant.expires_at + _PRUNE_INTERVAL <= now)
        self._next_prune = now + _PRUNE_INTERVAL

    def _discard_locked(self, doomed: Callable[[_Grant], bool]) -> None:
        for store in (self._access, self._refresh):
            for token in [token for token, grant in store.items() if doomed(grant)]:
                del store[token]
