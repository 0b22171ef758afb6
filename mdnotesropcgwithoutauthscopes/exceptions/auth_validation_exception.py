"""Raised before a request is sent when the credentials cannot authorize it."""

from mdnotesropcgwithoutauthscopes.exceptions.api_exception import APIException


class AuthValidationException(APIException, ValueError):
    """The SDK cannot obtain or apply a token with the credentials it was given.

    For example: a stored token alone that has expired, ``fetch_token()`` without a username or
    password, an API call on a client without credentials, or an ``o_auth_token_provider`` that
    returns something other than a token. Nothing was sent.
    It is also a ``ValueError``, because it always points at missing or bad input.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason, None)
