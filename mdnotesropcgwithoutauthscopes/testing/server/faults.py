"""Fault injection (latency, 503, 429, dropped connections) for the reference server.

Most faults hit token and API requests alike; ``token_503_for`` and ``token_delay`` hit token
requests only.
"""

from __future__ import annotations

import enum
import random
import threading
import time
from dataclasses import dataclass, fields
from typing import Callable, Union

RetryAfter = Union[int, float, str, None]


class FaultAction(enum.Enum):
    """What to do with the next request instead of (or before) serving it."""

    NONE = "none"
    DROP = "drop"
    UNAVAILABLE = "503"
    RATE_LIMITED = "429"


@dataclass(frozen=True)
class FaultSettings:
    """The faults to inject; see ``MdNotesServer.set_faults`` for what each one does."""

    latency: float = 0.0
    status_503_count: int = 0
    status_503_ratio: float = 0.0
    retry_after: RetryAfter = None
    status_429_count: int = 0
    drop_next: int = 0
    token_503_for: float = 0.0
    token_delay: float = 0.0
    token_delay_count: int = 0

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name == "retry_after":
                _check_retry_after(value)
            else:
                _check_non_negative(field.name, value, integer=field.type == "int")
        if self.status_503_ratio > 1:
            raise ValueError("status_503_ratio must be between 0 and 1")
        if bool(self.token_delay) != bool(self.token_delay_count):
            raise ValueError("token_delay and token_delay_count go together: both set, or neither")

    @property
    def retry_after_header(self) -> str:
        """The ``Retry-After`` value sent with injected 503 and 429 responses."""
        value = self.retry_after
        if value is None:
            return "1"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)


@dataclass(frozen=True)
class FaultDecision:
    """The faults that apply to one request."""

    latency: float
    action: FaultAction
    retry_after: str


class FaultInjector:
    """Hands out one ``FaultDecision`` per request; counters are consumed under a lock.

    Args:
        clock: the monotonic clock that times ``token_503_for``.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._random = random.Random()
        self._clock = clock
        self.configure(FaultSettings())

    @property
    def settings(self) -> FaultSettings:
        """The settings last configured."""
        return self._settings

    def configure(self, settings: FaultSettings) -> None:
        """Replace every fault setting and restart the counters."""
        with self._lock:
            self._settings = settings
            self._drops_left = settings.drop_next
            self._unavailable_left = settings.status_503_count
            self._rate_limited_left = settings.status_429_count
            self._token_503_until = self._clock() + settings.token_503_for if settings.token_503_for else 0.0
            self._token_delays_left = settings.token_delay_count

    def decide(self, *, token: bool = False) -> FaultDecision:
        """Pick the fault for the next request; a counted fault is used up by this call.

        Args:
            token: the request is a token request (``token_503_for`` and ``token_delay`` apply
                to those only).
        """
        with self._lock:
            settings = self._settings
            latency = settings.latency
            if token and self._token_delays_left:
                self._token_delays_left -= 1
                latency += settings.token_delay
            if self._drops_left:
                self._drops_left -= 1
                action = FaultAction.DROP
            elif self._unavailable_left:
                self._unavailable_left -= 1
                action = FaultAction.UNAVAILABLE
            elif self._rate_limited_left:
                self._rate_limited_left -= 1
                action = FaultAction.RATE_LIMITED
            elif token and self._token_503_until and self._clock() < self._token_503_until:
                action = FaultAction.UNAVAILABLE
            elif settings.status_503_ratio and self._random.random() < settings.status_503_ratio:
                action = FaultAction.UNAVAILABLE
            else:
                action = FaultAction.NONE
        return FaultDecision(latency, action, settings.retry_after_header)


def _check_non_negative(name: str, value: object, *, integer: bool) -> None:
    # bool is an int subclass, but True as a count is almost certainly a mistake.
    allowed = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, allowed):
        raise TypeError(f"{name} must be {'an int' if integer else 'a number'}, not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must not be negative")


def _check_retry_after(value: object) -> None:
    if isinstance(value, str):
        if not value.strip() or "\n" in value or "\r" in value:
            raise ValueError("retry_after must be a non-empty single-line string")
    elif value is not None:
        _check_non_negative("retry_after", value, integer=False)
