"""What a reference server knows apart from HTTP: users, tokens, counters; shared with the mock."""

from __future__ import annotations

import platform
import threading
import time
from datetime import datetime, timezone
from typing import Callable, Optional, Union

from .config import ServerConfig, ServerUser, check_lifetime, expires_in_value, numbered
from .oauth import equal_secret
from .stats import Counters
from .tokens import TokenStore


class FailureLockout:
    """Locks a name (a username or a client id) after ``threshold`` failures within ``period`` seconds.

    As identity servers do (Keycloak, Active Directory, Okta): failures older than ``period``
    are forgotten, a success forgets them all, and once locked the name stays locked for
    ``period`` seconds whatever is sent; failures while locked neither count nor extend the lock.
    Thread-safe.

    Args:
        threshold: failures that lock; 0 turns lockout off.
        period: seconds a failure is remembered, and seconds a lock lasts.
        clock: a monotonic clock.
    """

    def __init__(self, threshold: int, period: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = threshold
        self.period = float(period)
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, list[float]] = {}
        self._locked_until: dict[str, float] = {}

    def is_locked(self, name: str) -> bool:
        """Whether ``name`` is locked now."""
        with self._lock:
            return self._is_locked_locked(name, self._clock())

    def record_failure(self, name: str) -> bool:
        """Count a failure for ``name``; return whether it locked ``name`` (``False`` when lockout is off)."""
        if not self.threshold:
            return False
        with self._lock:
            now = self._clock()
            if self._is_locked_locked(name, now):
                return False
            recent = [moment for moment in self._failures.get(name, ()) if moment > now - self.period]
            recent.append(now)
            if len(recent) < self.threshold:
                self._failures[name] = recent
                return False
            self._failures.pop(name, None)
            self._locked_until[name] = now + self.period
            return True

    def record_success(self, name: str) -> None:
        """Forget the failures of ``name`` (a lock stays until it expires)."""
        with self._lock:
            self._failures.pop(name, None)

    def locked(self) -> tuple[str, ...]:
        """The names locked now, sorted."""
        with self._lock:
            now = self._clock()
            return tuple(sorted(name for name in list(self._locked_until) if self._is_locked_locked(name, now)))

    def reset(self) -> None:
        """Unlock every name and forget every failure."""
        with self._lock:
            self._failures.clear()
            self._locked_until.clear()

    def _is_locked_locked(self, name: str, now: float) -> bool:
        until = self._locked_until.get(name)
        if until is None:
            return False
        if until > now:
            return True
        del self._locked_until[name]
        return False


class ServerState:
    """Users, tokens and counters, with the settings that can change while a server runs.

    Args:
        config: the settings to start from.
        stat_names: the counters to keep.
    """

    def __init__(self, config: ServerConfig, stat_names: tuple[str, ...]) -> None:
        self.config = config
        self.tokens = TokenStore(float(config.token_lifetime))
        self.counters = Counters(stat_names)
        self.started_at = datetime.now(timezone.utc)
        self.os_name = f"{platform.system()} {platform.release()} {platform.machine()}".strip()
        self._users = {user.username: user for user in config.all_users()}
        self._users_lock = threading.Lock()
        self._rotate_refresh_tokens = config.rotate_refresh_tokens
        # Accounts and clients are counted apart, with the same settings.
        self.account_lockout = FailureLockout(config.lockout_threshold, config.lockout_period)
        self.client_lockout = FailureLockout(config.lockout_threshold, config.lockout_period)

    @property
    def client_id(self) -> str:
        """The OAuth client id it accepts."""
        return self.config.client_id

    @property
    def client_secret(self) -> str:
        """The OAuth client secret it accepts."""
        return self.config.client_secret

    @property
    def token_lifetime(self) -> float:
        """Lifetime in seconds of the access tokens it issues; setting it applies to later tokens.

        Raises:
            TypeError, ValueError: (on setting) not a positive number of seconds.
        """
        return self.tokens.access_lifetime

    @token_lifetime.setter
    def token_lifetime(self, seconds: float) -> None:
        self.tokens.access_lifetime = check_lifetime(seconds)

    @property
    def expires_in(self) -> Union[int, float]:
        """The ``expires_in`` it sends now: an int when the lifetime is whole seconds."""
        return expires_in_value(self.tokens.access_lifetime)

    @property
    def rotate_refresh_tokens(self) -> bool:
        """Whether a refresh issues a new refresh token and retires the old one; settable.

        Raises:
            TypeError: (on setting) not a bool.
        """
        return self._rotate_refresh_tokens

    @rotate_refresh_tokens.setter
    def rotate_refresh_tokens(self, rotate: bool) -> None:
        if not isinstance(rotate, bool):
            raise TypeError("rotate_refresh_tokens must be True or False")
        self._rotate_refresh_tokens = rotate

    @property
    def users(self) -> tuple[ServerUser, ...]:
        """Every user it accepts, with ``id`` and ``name`` filled in, in the order they were added."""
        with self._users_lock:
            return tuple(self._users.values())

    def add_user(self, username: str, password: str, *, name: str = "", id: Optional[int] = None) -> ServerUser:
        """Accept one more user from now on.

        Args:
            username: its username (unique here).
            password: its password.
            name: what ``GET /user`` answers as ``name``; empty means the username.
            id: what ``GET /user`` answers as ``id``; ``None`` takes the next number.

        Returns:
            The user as stored, with ``id`` and ``name`` filled in.

        Raises:
            TypeError, ValueError: a value is invalid or the username is taken.
        """
        user = ServerUser(username, password, name, id)
        with self._users_lock:
            if username in self._users:
                raise ValueError("a user with that username exists already")
            user = numbered(user, len(self._users) + 1)
            self._users[username] = user
        return user

    def authenticate_user(self, username: str, password: str) -> Optional[ServerUser]:
        """The user with these credentials, or ``None``; every user is compared in constant time."""
        found = None
        for user in self.users:
            if equal_secret(username, user.username) & equal_secret(password, user.password):
                found = user
        return found

    def user(self, username: str) -> Optional[ServerUser]:
        """The user with this username, if there is one."""
        with self._users_lock:
            return self._users.get(username)

    def expire_all_tokens(self) -> int:
        """Make every access token issued so far expired (as if its lifetime had passed); return how many were live.

        The API then answers them 401 ``invalid_token`` ("The access token expired"); refresh
        tokens keep working.
        """
        return self.tokens.expire_access_tokens()

    def revoke_all_tokens(self) -> int:
        """Revoke every access token (refresh tokens keep working); return how many were live."""
        return self.tokens.revoke_access_tokens()

    def reset_stats(self) -> None:
        """Set every counter to zero."""
        self.counters.reset()

    def locked_accounts(self) -> tuple[str, ...]:
        """The usernames locked now (after ``lockout_threshold`` wrong passwords), sorted."""
        return self.account_lockout.locked()

    def locked_clients(self) -> tuple[str, ...]:
        """The client ids locked now (after ``lockout_threshold`` wrong client secrets), sorted."""
        return self.client_lockout.locked()

    def reset_lockouts(self) -> None:
        """Unlock every account and client and forget every failed attempt."""
        self.account_lockout.reset()
        self.client_lockout.reset()
