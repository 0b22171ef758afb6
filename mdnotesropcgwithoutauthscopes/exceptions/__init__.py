"""Exceptions raised by the SDK; every one derives from ``APIException``."""

from mdnotesropcgwithoutauthscopes.exceptions.api_connection_exception import (
    APIConnectionException,
    APITimeoutException,
)
from mdnotesropcgwithoutauthscopes.exceptions.api_exception import APIException
from mdnotesropcgwithoutauthscopes.exceptions.api_status_exceptions import (
    APIStatusException,
    AuthenticationException,
    BadRequestException,
    ConflictException,
    NotFoundException,
    PermissionDeniedException,
    RateLimitException,
    ServerErrorException,
    UnprocessableEntityException,
)
from mdnotesropcgwithoutauthscopes.exceptions.auth_validation_exception import (
    AuthValidationException,
)
from mdnotesropcgwithoutauthscopes.exceptions.client_closed_exception import (
    ClientClosedException,
)
from mdnotesropcgwithoutauthscopes.exceptions.credentials_held_exception import (
    CredentialsHeldException,
)
from mdnotesropcgwithoutauthscopes.exceptions.insecure_transport_exception import (
    InsecureTransportException,
)
from mdnotesropcgwithoutauthscopes.exceptions.o_auth_provider_exception import (
    InvalidClientException,
    InvalidGrantException,
    InvalidRequestException,
    InvalidScopeException,
    OAuthProviderException,
    UnauthorizedClientException,
    UnsupportedGrantTypeException,
)
from mdnotesropcgwithoutauthscopes.exceptions.response_too_large_exception import (
    ResponseTooLargeException,
)

__all__ = [
    "APIConnectionException",
    "APIException",
    "APIStatusException",
    "APITimeoutException",
    "AuthValidationException",
    "AuthenticationException",
    "BadRequestException",
    "ClientClosedException",
    "ConflictException",
    "CredentialsHeldException",
    "InsecureTransportException",
    "InvalidClientException",
    "InvalidGrantException",
    "InvalidRequestException",
    "InvalidScopeException",
    "NotFoundException",
    "OAuthProviderException",
    "PermissionDeniedException",
    "RateLimitException",
    "ResponseTooLargeException",
    "ServerErrorException",
    "UnauthorizedClientException",
    "UnprocessableEntityException",
    "UnsupportedGrantTypeException",
]
