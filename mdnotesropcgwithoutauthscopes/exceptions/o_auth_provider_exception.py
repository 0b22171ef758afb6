"""The error an OAuth 2 token endpoint returns (RFC 6749 section 5.2), one class per error code."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Optional

from mdnotesropcgwithoutauthscopes.api_helper import APIHelper
from mdnotesropcgwithoutauthscopes.exceptions.api_status_exceptions import APIStatusException
from mdnotesropcgwithoutauthscopes.models.o_auth_provider_error_enum import OAuthProviderErrorEnum

if TYPE_CHECKING:  # only for the annotation: exceptions import nothing of http/ at run time
    from mdnotesropcgwithoutauthscopes.http.http_response import HttpResponse


class OAuthProviderException(APIStatusException):
    """The token endpoint refused a request.

    The SDK raises the subclass named after the ``error`` code (``InvalidGrantException`` for
    ``invalid_grant``...), and this class itself for a code outside RFC 6749 or no code at all.

    Attributes:
        error: the error code: a plain string such as ``"invalid_grant"`` (so it compares equal to
            ``OAuthProviderErrorEnum.INVALID_GRANT``), or the server's own string when it is not
            one of RFC 6749's; None when the body had none.
        error_description: the server's explanation, cleaned of control characters and capped.
        error_uri: the server's link to more information, cleaned the same way.
        additional_properties: the other fields of the JSON error body.
        refused_client: True when the server refused the client (see the property).
        refused_grant: True when the server refused the password or refresh token.
    """

    def __init__(self, reason: str, response: Optional[HttpResponse] = None) -> None:
        super().__init__(reason, response)
        self.error: Optional[str] = None
        self.error_description: Optional[str] = None
        self.error_uri: Optional[str] = None
        self.additional_properties: dict[str, Any] = {}
        body = _error_body(response)
        if body is not None:
            error = body.get("error")
            if isinstance(error, str):
                self.error = APIHelper.clean_text(error, 128)
            self.error_description = APIHelper.clean_text(body.get("error_description"))
            self.error_uri = APIHelper.clean_text(body.get("error_uri"), 256)
            self.additional_properties = {
                k: v for k, v in body.items() if k not in ("error", "error_description", "error_uri")
            }

    @classmethod
    def from_response(cls, reason: str, response: HttpResponse) -> OAuthProviderException:
        """The exception for a refusal of the token endpoint: the class of its ``error`` code.

        Args:
            reason: what went wrong, in words.
            response: the token endpoint's answer.

        Returns:
            OAuthProviderException: an instance of the code's subclass (``InvalidGrantException``
            for ``invalid_grant``...), or of ``cls`` for an unknown or missing code.
        """
        body = _error_body(response)
        code = body.get("error") if body is not None else None
        exception_class = O_AUTH_ERROR_EXCEPTIONS.get(code, cls) if isinstance(code, str) else cls
        return exception_class(reason, response)

    @property
    def refused_client(self) -> bool:
        """True when the server refused the client itself (its id, secret or authentication method).

        That is ``invalid_client``, or a 401 naming no error whose ``WWW-Authenticate`` challenge
        is ``Basic`` (RFC 6749 section 5.2). A 401 with a ``Bearer`` challenge or none may be a
        wrong password, and some servers answer a wrong password with 401 ``invalid_grant``:
        neither is a refused client.
        """
        if self.error == "invalid_client":
            return True
        if self.response_code != 401 or self.error is not None or self.response is None:
            return False
        challenge = self.response.headers.get("WWW-Authenticate") or ""
        return any(part.strip().lower().startswith("basic") for part in challenge.split(","))

    @property
    def refused_grant(self) -> bool:
        """True when the server refused the grant: the username and password, or the refresh token.

        That is ``invalid_grant``, or a 400, 401 or 403 that names no error and is not a refused
        client (a framework's ``{"detail": ...}`` answer to a wrong password).
        """
        if self.error == "invalid_grant":
            return True
        return self.response_code in (400, 401, 403) and self.error is None and not self.refused_client

    def _details(self) -> str:
        if self.error is None:
            return ""
        text = f": {self.error}"
        if self.error_description:
            text += f" ({self.error_description})"
        return text


class InvalidRequestException(OAuthProviderException):
    """``invalid_request``: a parameter is missing, repeated or malformed (some servers: a wrong password)."""


class InvalidClientException(OAuthProviderException):
    """``invalid_client``: client authentication failed (unknown client, wrong secret, method refused)."""


class InvalidGrantException(OAuthProviderException):
    """``invalid_grant``: a wrong username or password, or a refresh token that is no longer valid."""


class UnauthorizedClientException(OAuthProviderException):
    """``unauthorized_client``: this client may not use this grant type."""


class UnsupportedGrantTypeException(OAuthProviderException):
    """``unsupported_grant_type``: the server does not support this grant type."""


class InvalidScopeException(OAuthProviderException):
    """``invalid_scope``: the requested scope is invalid, unknown or too broad."""


#: RFC 6749 section 5.2 error code to its exception class; the keys equal their plain strings.
O_AUTH_ERROR_EXCEPTIONS: Mapping[str, type[OAuthProviderException]] = MappingProxyType(
    {
        OAuthProviderErrorEnum.INVALID_REQUEST: InvalidRequestException,
        OAuthProviderErrorEnum.INVALID_CLIENT: InvalidClientException,
        OAuthProviderErrorEnum.INVALID_GRANT: InvalidGrantException,
        OAuthProviderErrorEnum.UNAUTHORIZED_CLIENT: UnauthorizedClientException,
        OAuthProviderErrorEnum.UNSUPPORTED_GRANT_TYPE: UnsupportedGrantTypeException,
        OAuthProviderErrorEnum.INVALID_SCOPE: InvalidScopeException,
    }
)


def _error_body(response: Optional[HttpResponse]) -> Optional[dict[str, Any]]:
    if response is None:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
