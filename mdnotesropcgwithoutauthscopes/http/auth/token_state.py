"""``TokenState``: the installed token as one immutable value, with its one expiry and its phase."""

from __future__ import annotations

import enum
import math
from typing import NamedTuple, Optional

from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken


class Phase(enum.Enum):
    """Where a token is in its life."""

    #: Valid, and not yet in its renewal window.
    FRESH = "fresh"
    #: Valid, in its renewal window: a background renewal should run, calls keep using it.
    DUE = "due"
    #: Past its (skewed) expiry: no call may use it.
    EXPIRED = "expired"


class TokenState(NamedTuple):
    """An installed token and what the hot path needs of it, computed once when it arrives.

    There is one notion of expiry: the token's own ``expiry`` (whole unix seconds, stamped by the
    SDK from ``expires_in`` when the token arrived). ``deadline`` is that minus the clock skew;
    ``renew_at`` is when the renewal window opens.
    """

    token: OAuthToken
    header: str
    deadline: Optional[float]  # when it counts as expired; None: never
    renew_at: Optional[float]  # when a background renewal starts; None: never early

    def phase(self, now: float) -> Phase:
        """The token's phase at ``now`` (unix seconds)."""
        if self.deadline is not None and now >= self.deadline:
            return Phase.EXPIRED
        if self.renew_at is not None and now >= self.renew_at:
            return Phase.DUE
        return Phase.FRESH

    def serves(self, now: float, *, early: bool) -> bool:
        """True when this state answers a need: valid for a call; also out of its window for a renewal."""
        phase = self.phase(now)
        return phase is Phase.FRESH or (phase is Phase.DUE and not early)


class Timing:
    """Turns a token into a ``TokenState``: the clock skew and the renewal window, in one place.

    The default window is half the token's usable life (its lifetime less the skew): renewing at
    half-life leaves the other half to ride out an outage of the token endpoint (API.md section
    9), at the cost of one token request per half-lifetime (from one party when a store is set).

    Args:
        clock_skew: seconds taken off the expiry (capped at half the lifetime).
        refresh_window: seconds before the deadline at which renewal starts; None for the
            default, 0 for never. Never more than half the lifetime.
    """

    __slots__ = ("_skew", "_window")

    #: The default window, as a share of the token's lifetime (the most that is allowed).
    DEFAULT_WINDOW_SHARE = 0.5

    def __init__(self, clock_skew: float, refresh_window: Optional[float]) -> None:
        self._skew = clock_skew
        self._window = refresh_window

    def state(self, token: OAuthToken, now: float, *, obtained: bool = False) -> TokenState:
        """The state of ``token`` (which carries its ``expiry``) as seen at ``now``.

        ``obtained``: the token has just arrived from the token endpoint (not adopted).
        """
        header = "Bearer " + str(token.access_token)
        expiry = token.expiry
        if expiry is None:
            return TokenState(token, header, None, None)
        lifetime = lifetime_of(token)
        span = lifetime if lifetime is not None else max(0.0, float(expiry) - now)
        skew = min(self._skew, span / 2)  # never born expired
        deadline = float(expiry) - skew
        usable = span - skew  # what the window is a share of: the life the SDK will use
        window = usable * self.DEFAULT_WINDOW_SHARE if self._window is None else min(self._window, usable / 2)
        if obtained:
            # Never born due: a short token whose expiry lost most of a second to rounding is
            # renewed halfway through what it has left, not at once.
            window = min(window, max(0.0, deadline - now) / 2)
        return TokenState(token, header, deadline, deadline - window if window > 0 else None)

    def deadline(self, token: OAuthToken) -> Optional[float]:
        """When ``token`` counts as expired (its expiry less the skew), or None for never."""
        if token.expiry is None:
            return None
        lifetime = lifetime_of(token)
        return float(token.expiry) - (min(self._skew, lifetime / 2) if lifetime is not None else self._skew)


def lifetime_of(token: OAuthToken) -> Optional[float]:
    """The token's lifetime in seconds (``expires_in``), or None when it has none."""
    expires_in = token.expires_in
    return float(expires_in) if expires_in is not None and expires_in > 0 else None


def stamped(token: OAuthToken, sent_at: float) -> Optional[int]:
    """The expiry of a token whose request was sent at ``sent_at``: whole seconds, rounded down.

    Rounded down so the SDK errs early and never sends a token the server thinks expired.
    """
    if token.expires_in is None:
        return None
    return math.floor(sent_at + float(token.expires_in))
