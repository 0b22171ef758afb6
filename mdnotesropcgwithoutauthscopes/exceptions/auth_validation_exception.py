"""Raised when the credentials cannot authorize a request and the SDK cannot obtain a token."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from mdnotesropcgwithoutauthscopes.exceptions.api_exception import APIException

if TYPE_CHECKING:
    from mdnotesropcgwithoutauthscopes.http.http_response import HttpResponse


class AuthValidationException(APIException, ValueError):
    """The SDK cannot obtain or apply a token with the credentials it was given.

    For example: a stored token alone that has expired, ``fetch_token()`` without a username or
    password, an API call on a client without credentials, or an ``o_auth_token_provider`` that
    returns something other than a token: then nothing was sent and ``response`` is None. When
    the server refused a token (401) that the SDK cannot replace, ``response`` is that answer.
    It is also a ``ValueError``, because it always points at missing or bad input.
    """

    def __init__(self, reason: str, response: Optional[HttpResponse] = None) -> None:
        super().__init__(reason, response)
