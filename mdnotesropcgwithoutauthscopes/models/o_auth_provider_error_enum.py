"""The error codes of RFC 6749 section 5.2."""

from mdnotesropcgwithoutauthscopes.str_enum import StrEnum


class OAuthProviderErrorEnum(StrEnum):
    """OAuth 2 token endpoint error codes.

    A ``str`` enum: ``OAuthProviderErrorEnum.INVALID_GRANT == "invalid_grant"``, members hash like
    their strings and ``str()`` gives the code. ``is_valid(value)`` tells whether a string is one
    of these codes.
    """

    INVALID_REQUEST = "invalid_request"
    INVALID_CLIENT = "invalid_client"
    INVALID_GRANT = "invalid_grant"
    UNAUTHORIZED_CLIENT = "unauthorized_client"
    UNSUPPORTED_GRANT_TYPE = "unsupported_grant_type"
    INVALID_SCOPE = "invalid_scope"
