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

    The default window is half the token's usable life (its lifetime less the clock skew; the
    whole lifetime with the default skew of 0): renewing at half-life leaves the other half to ride
    out an outage of the token endpoint (API.md section 9), at the cost of one token request per
    half-lifetime (from one party when a store is set). The window never opens before a renewal
    could get a later expiry (``expiry + 1 - lifetime``, as expiries are whole seconds).

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

    def state(self, token: OAuthToken, now: float) -> TokenState:
        """The state of ``token`` (which carries its ``expiry``) as seen at ``now``."""
        header = "Bearer " + str(token.access_token)
        expiry = token.expiry
        if expiry is None:
            return TokenState(token, header, None, None)
        lifetime = lifetime_of(token)
        span = lifetime if lifetime is not None else max(0.0, float(expiry) - now)
        deadline = float(expiry) - min(self._skew, span / 2)  # never born expired
        # The window is a share of the time the token is usable: from its issue (``expiry`` less its
        # lifetime) to its deadline, which the clock skew shortens. Measured on the lifetime alone,
        # a skew of half the lifetime made every token due as it arrived: renewed again at once,
        # in a loop.
        usable = span - (float(expiry) - deadline)
        window = usable * self.DEFAULT_WINDOW_SHARE if self._window is None else min(self._window, usable / 2)
        renew_at = deadline - window
        if lifetime is not None:
            # The expiry is whole seconds, rounded down: a token obtained before ``expiry + 1 -
            # lifetime`` gets the same expiry again. Renewing earlier buys nothing, and for tokens
            # of a second or two it looped (a 1 s token: 19 requests in 5 s; 4 processes with 1.5 s
            # tokens: 97 in 6 s), so the window never opens before then.
            renew_at = max(renew_at, float(expiry) + 1.0 - lifetime)
        if window <= 0 or renew_at >= deadline:
            return TokenState(token, header, deadline, None)
        return TokenState(token, header, deadline, renew_at)

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
