"""The error codes of RFC 6749 section 5.2."""

from typing import Optional


class OAuthProviderErrorEnum:
    """OAuth 2 token endpoint error codes, as plain strings (``INVALID_GRANT == "invalid_grant"``)."""

    INVALID_REQUEST = "invalid_request"
    INVALID_CLIENT = "invalid_client"
    INVALID_GRANT = "invalid_grant"
    UNAUTHORIZED_CLIENT = "unauthorized_client"
    UNSUPPORTED_GRANT_TYPE = "unsupported_grant_type"
    INVALID_SCOPE = "invalid_scope"

    _ALL = frozenset(
        {INVALID_REQUEST, INVALID_CLIENT, INVALID_GRANT, UNAUTHORIZED_CLIENT, UNSUPPORTED_GRANT_TYPE, INVALID_SCOPE}
    )

    @classmethod
    def is_valid(cls, value: Optional[str]) -> bool:
        """True when ``value`` is one of the RFC 6749 codes."""
        return value in cls._ALL
