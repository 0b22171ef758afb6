"""The OAuth 2 token returned by the token endpoint (RFC 6749 section 5.1)."""

from __future__ import annotations

import math
from typing import Any, Optional, Union

from mdnotesropcgwithoutauthscopes.models.base_model import BaseModel

# Beyond this many seconds (about 31,700 years) a number means "never", and float maths would overflow.
_MAX_SECONDS = 1e12

Seconds = Union[int, float]


def _parse_seconds(value: Any) -> Optional[Seconds]:
    """``expires_in``/``expiry`` as a number (servers send 3600, 3600.0 or "3600"); None when it is not one."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (ValueError, OverflowError):
        return None
    if not math.isfinite(number) or abs(number) > _MAX_SECONDS:
        return None
    return int(number) if number.is_integer() else number


def _seconds(name: str, value: Any) -> Optional[Seconds]:
    """A number of seconds given by a caller: None, a number or a numeric string; anything else is refused."""
    if value is None:
        return None
    number = _parse_seconds(value)
    if number is None:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise TypeError(f"OAuthToken {name} must be a number of seconds, not {type(value).__name__}")
        raise ValueError(f"OAuthToken {name} must be a finite number of seconds, not {value!r}")
    return number


def _required_text(name: str, value: Any) -> str:
    """``access_token`` and ``token_type``: RFC 6749 section 5.1 requires both. Never echoes the value."""
    if value is None:
        raise ValueError(f"OAuthToken needs {name} (RFC 6749 section 5.1 requires access_token and token_type)")
    if not isinstance(value, str):
        raise TypeError(f"OAuthToken {name} must be a string, not {type(value).__name__}")
    if not value:
        raise ValueError(f"OAuthToken {name} must not be empty")
    return value


class OAuthToken(BaseModel):
    """An access token, with its type, lifetime, scope, absolute expiry and refresh token.

    Args:
        access_token: the token sent as ``Authorization: Bearer`` (required, a non-empty string).
        token_type: ``Bearer`` in any case (required, a non-empty string).
        expires_in: lifetime in seconds (numeric strings are converted).
        scope: the granted scope, if the server named one.
        expiry: unix time (UTC seconds) at which the token expires; the SDK sets it when the token
            arrives, as arrival time plus ``expires_in``, rounded down to a whole second (an int).
            None means "no known expiry".
        refresh_token: the token for the refresh grant, if one was issued.
        additional_properties: any other fields of the token response.

    Raises:
        ValueError: ``access_token`` or ``token_type`` is missing or empty, or ``expires_in`` /
            ``expiry`` is not a number (``"soon"``). ``from_dictionary`` is lenient there: an
            ``expires_in`` or ``expiry`` that is not a number, as a server may send, counts as
            unknown (None), like a missing one.
        TypeError: a field has the wrong type.

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
        access_token: str,
        token_type: str,
        expires_in: Union[int, float, str, None] = None,
        scope: Optional[str] = None,
        expiry: Union[int, float, str, None] = None,
        refresh_token: Optional[str] = None,
        additional_properties: Optional[dict[str, Any]] = None,
    ) -> None:
        self.access_token: str = _required_text("access_token", access_token)
        self.token_type: str = _required_text("token_type", token_type)
        self.expires_in: Optional[Seconds] = _seconds("expires_in", expires_in)
        self.scope = scope
        self.expiry: Optional[Seconds] = _seconds("expiry", expiry)
        self.refresh_token = refresh_token
        self.additional_properties = dict(additional_properties) if additional_properties else {}

    @classmethod
    def _fields_from_json(cls, fields: dict[str, Any]) -> dict[str, Any]:
        # A server (or a stored copy of what one sent) may say "expires_in": "soon": that is no
        # known lifetime, the same as none at all, rather than a reason to refuse the token.
        for name in ("expires_in", "expiry"):
            if name in fields:
                fields[name] = _parse_seconds(fields[name])
        for name in ("access_token", "token_type"):
            fields.setdefault(name, None)  # missing gives the constructor's "needs ..." error
        return fields
