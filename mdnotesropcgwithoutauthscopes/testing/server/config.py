"""The reference server's settings: ``ServerConfig`` and the users it accepts (``ServerUser``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Optional, Union

from .faults import FaultSettings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 3000
DEFAULT_TOKEN_LIFETIME = 3600.0
DEFAULT_CLIENT_ID = "demo-client"
DEFAULT_CLIENT_SECRET = "demo-secret"
DEFAULT_USERNAME = "demo@example.com"
DEFAULT_PASSWORD = "demo-password"
DEFAULT_NAME = "Demo User"
DEFAULT_LOCKOUT_THRESHOLD = 0  # off
DEFAULT_LOCKOUT_PERIOD = 60.0


@dataclass(frozen=True)
class ServerUser:
    """A resource owner the server accepts in password grants; ``GET /user`` describes it.

    Args:
        username: the ``username`` of the password grant (``GET /user`` answers it as ``email``).
        password: its password.
        name: the ``name`` that ``GET /user`` answers; empty means the username.
        id: the ``id`` that ``GET /user`` answers; ``None`` numbers users 1, 2, ... in order.
    """

    username: str
    password: str = field(repr=False)
    name: str = ""
    id: Optional[int] = None

    def __post_init__(self) -> None:
        for name in ("username", "password"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"{name} must be a non-empty string")
        if not isinstance(self.name, str):
            raise TypeError("name must be a string")
        if self.id is not None and (isinstance(self.id, bool) or not isinstance(self.id, int)):
            raise TypeError(f"id must be an int or None, not {type(self.id).__name__}")


def check_lifetime(value: object) -> float:
    """``value`` as a float if it is a valid token lifetime.

    Raises:
        TypeError, ValueError: it is not a positive, finite number.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("token_lifetime must be a number of seconds")
    if not 0 < value < float("inf"):
        raise ValueError("token_lifetime must be a positive, finite number of seconds")
    return float(value)


def check_lockout(threshold: object, period: object) -> None:
    """Check the lockout settings.

    Raises:
        TypeError, ValueError: ``threshold`` is not an int of 0 or more, or ``period`` not a
            positive, finite number of seconds.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, int):
        raise TypeError(f"lockout_threshold must be an int, not {type(threshold).__name__}")
    if threshold < 0:
        raise ValueError("lockout_threshold must be 0 (off) or more")
    if isinstance(period, bool) or not isinstance(period, (int, float)):
        raise TypeError("lockout_period must be a number of seconds")
    if not 0 < period < float("inf"):
        raise ValueError("lockout_period must be a positive, finite number of seconds")


def expires_in_value(lifetime: float) -> Union[int, float]:
    """``expires_in`` as sent: an int when the lifetime is whole seconds, else a float."""
    return int(lifetime) if lifetime.is_integer() else lifetime


@dataclass(frozen=True)
class ServerConfig:
    """Everything a server is started with (see ``MdNotesServer`` for each setting)."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    token_lifetime: float = DEFAULT_TOKEN_LIFETIME
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = field(default=DEFAULT_CLIENT_SECRET, repr=False)
    username: str = DEFAULT_USERNAME
    password: str = field(default=DEFAULT_PASSWORD, repr=False)
    users: tuple[ServerUser, ...] = ()
    rotate_refresh_tokens: bool = True
    lockout_threshold: int = DEFAULT_LOCKOUT_THRESHOLD
    lockout_period: float = DEFAULT_LOCKOUT_PERIOD
    faults: FaultSettings = field(default_factory=FaultSettings)
    enable_faults: bool = False
    verbose: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.port, bool) or not isinstance(self.port, int) or not 0 <= self.port <= 65535:
            raise ValueError(f"port must be an int from 0 to 65535, not {self.port!r}")
        check_lifetime(self.token_lifetime)
        for name in ("client_id", "client_secret", "username", "password"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"{name} must be a non-empty string")
        if not isinstance(self.users, tuple) or not all(isinstance(user, ServerUser) for user in self.users):
            raise TypeError("users must be a tuple of ServerUser")
        usernames = [self.username, *(user.username for user in self.users)]
        if len(set(usernames)) != len(usernames):
            raise ValueError("every user needs a username of its own")
        check_lockout(self.lockout_threshold, self.lockout_period)
        for name in ("rotate_refresh_tokens", "enable_faults", "verbose"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be True or False")
        if not isinstance(self.faults, FaultSettings):
            raise TypeError("faults must be a FaultSettings")

    @property
    def expires_in(self) -> Union[int, float]:
        """``expires_in`` as sent: an int when the lifetime is whole seconds, else a float."""
        return expires_in_value(float(self.token_lifetime))

    def all_users(self) -> tuple[ServerUser, ...]:
        """The ``username``/``password`` user first, then ``users``, numbered where ``id`` is unset."""
        primary = ServerUser(self.username, self.password, DEFAULT_NAME)
        return tuple(numbered(user, number) for number, user in enumerate((primary, *self.users), start=1))


def users_tuple(users: Sequence[ServerUser]) -> tuple[ServerUser, ...]:
    """``users`` as the tuple ``ServerConfig`` keeps (its items are checked there).

    Raises:
        TypeError: ``users`` is a string rather than a sequence of users.
    """
    if isinstance(users, (str, bytes)):
        raise TypeError("users must be a sequence of ServerUser")
    return tuple(users)


def numbered(user: ServerUser, number: int) -> ServerUser:
    """``user`` with ``id`` (if unset) and ``name`` (if empty) filled in."""
    return replace(user, id=number if user.id is None else user.id, name=user.name or user.username)
