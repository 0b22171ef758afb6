"""The OAuth 2 token returned by the token endpoint (RFC 6749 section 5.1)."""

import math
from typing import Any, Optional, Union

from mdnotesropcgwithoutauthscopes.models.base_model import BaseModel

# Beyond this many seconds (about 31,700 years) a number means "never", and float maths would overflow.
_MAX_SECONDS = 1e12


def _coerce_seconds(value: Any) -> Optional[Union[int, float]]:
    """``expires_in``/``expiry`` as a number: servers send 3600, 3600.0 or "3600"; junk counts as absent."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (ValueError, OverflowError):
        return None
    if not math.isfinite(number) or abs(number) > _MAX_SECONDS:
        return None
    return int(number) if number.is_integer() else number


class OAuthToken(BaseModel):
    """An access token, with its type, lifetime, scope, absolute expiry and refresh token.

    Args:
        access_token: the token sent as ``Authorization: Bearer``.
        token_type: ``Bearer`` (any case).
        expires_in: lifetime in seconds, as the server sent it (numeric strings are converted).
        scope: the granted scope, if the server named one.
        expiry: unix time (UTC seconds) at which the token expires; the SDK sets it when the token
            arrives, as arrival time plus ``expires_in``, rounded down to a whole second (an int).
            None means "no known expiry".
        refresh_token: the token for the refresh grant, if one was issued.
        additional_properties: any other fields of the token response.

    ``repr`` and ``str`` show the access and refresh tokens as ``***``.
    """

    _FIELDS = (
        ("access_token", "access_token"),
        ("token_type", "token_type"),
        ("expires_in", "expires_in"),
        ("scope", "scope"),
        ("expiry", "expiry"),
        ("refresh_token", "refresh_token"),
    )
    _SECRET_FIELDS = frozenset({"access_token", "refresh_token"})

    def __init__(
        self,
        access_token: Optional[str] = None,
        token_type: Optional[str] = None,
        expires_in: Any = None,
        scope: Optional[str] = None,
        expiry: Any = None,
        refresh_token: Optional[str] = None,
        additional_properties: Optional[dict[str, Any]] = None,
    ) -> None:
        self.access_token = access_token
        self.token_type = token_type
        self.expires_in = _coerce_seconds(expires_in)
        self.scope = scope
        self.expiry = _coerce_seconds(expiry)
        self.refresh_token = refresh_token
        self.additional_properties = dict(additional_properties) if additional_properties else {}
