"""Python SDK for the MdNotes API, authenticated with the OAuth 2.0 password grant."""

# Every public name loads on first use (PEP 562): importing the package, as the pytest plugin's
# entry point does, imports only this module and ``_version``. ``from mdnotesropcgwithoutauthscopes
# import X`` works as before; type checkers read the imports under TYPE_CHECKING.
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mdnotesropcgwithoutauthscopes._version import __version__ as __version__

if TYPE_CHECKING:
    from mdnotesropcgwithoutauthscopes.configuration import Configuration as Configuration
    from mdnotesropcgwithoutauthscopes.configuration import Environment as Environment
    from mdnotesropcgwithoutauthscopes.configuration import Server as Server
    from mdnotesropcgwithoutauthscopes.exceptions import APIConnectionException as APIConnectionException
    from mdnotesropcgwithoutauthscopes.exceptions import APIException as APIException
    from mdnotesropcgwithoutauthscopes.exceptions import APIStatusException as APIStatusException
    from mdnotesropcgwithoutauthscopes.exceptions import APITimeoutException as APITimeoutException
    from mdnotesropcgwithoutauthscopes.exceptions import AuthenticationException as AuthenticationException
    from mdnotesropcgwithoutauthscopes.exceptions import AuthValidationException as AuthValidationException
    from mdnotesropcgwithoutauthscopes.exceptions import BadRequestException as BadRequestException
    from mdnotesropcgwithoutauthscopes.exceptions import ClientClosedException as ClientClosedException
    from mdnotesropcgwithoutauthscopes.exceptions import ConflictException as ConflictException
    from mdnotesropcgwithoutauthscopes.exceptions import CredentialsHeldException as CredentialsHeldException
    from mdnotesropcgwithoutauthscopes.exceptions import InsecureTransportException as InsecureTransportException
    from mdnotesropcgwithoutauthscopes.exceptions import InvalidClientException as InvalidClientException
    from mdnotesropcgwithoutauthscopes.exceptions import InvalidGrantException as InvalidGrantException
    from mdnotesropcgwithoutauthscopes.exceptions import InvalidRequestException as InvalidRequestException
    from mdnotesropcgwithoutauthscopes.exceptions import InvalidScopeException as InvalidScopeException
    from mdnotesropcgwithoutauthscopes.exceptions import NotFoundException as NotFoundException
    from mdnotesropcgwithoutauthscopes.exceptions import OAuthProviderException as OAuthProviderException
    from mdnotesropcgwithoutauthscopes.exceptions import PermissionDeniedException as PermissionDeniedException
    from mdnotesropcgwithoutauthscopes.exceptions import RateLimitException as RateLimitException
    from mdnotesropcgwithoutauthscopes.exceptions import ResponseTooLargeException as ResponseTooLargeException
    from mdnotesropcgwithoutauthscopes.exceptions import ServerErrorException as ServerErrorException
    from mdnotesropcgwithoutauthscopes.exceptions import UnauthorizedClientException as UnauthorizedClientException
    from mdnotesropcgwithoutauthscopes.exceptions import (
        UnprocessableEntityException as UnprocessableEntityException,
    )
    from mdnotesropcgwithoutauthscopes.exceptions import (
        UnsupportedGrantTypeException as UnsupportedGrantTypeException,
    )
    from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import ClientAuthentication as ClientAuthentication
    from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import OAuth2 as OAuth2
    from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import (
        ResourceOwnerAuthCredentials as ResourceOwnerAuthCredentials,
    )
    from mdnotesropcgwithoutauthscopes.http.auth.token_store import MemoryTokenStore as MemoryTokenStore
    from mdnotesropcgwithoutauthscopes.http.auth.token_store import RedisTokenStore as RedisTokenStore
    from mdnotesropcgwithoutauthscopes.http.auth.token_store import SQLiteTokenStore as SQLiteTokenStore
    from mdnotesropcgwithoutauthscopes.http.auth.token_store import TokenStore as TokenStore
    from mdnotesropcgwithoutauthscopes.http.auth.token_store import TokenStoreError as TokenStoreError
    from mdnotesropcgwithoutauthscopes.http.http_call_back import HttpCallBack as HttpCallBack
    from mdnotesropcgwithoutauthscopes.http.http_client import HttpClient as HttpClient
    from mdnotesropcgwithoutauthscopes.http.http_method_enum import HttpMethodEnum as HttpMethodEnum
    from mdnotesropcgwithoutauthscopes.http.http_request import HttpRequest as HttpRequest
    from mdnotesropcgwithoutauthscopes.http.http_response import HttpResponse as HttpResponse
    from mdnotesropcgwithoutauthscopes.http.proxy_settings import ProxySettings as ProxySettings
    from mdnotesropcgwithoutauthscopes.http.requests_client import RequestsClient as RequestsClient
    from mdnotesropcgwithoutauthscopes.mdnotesropcgwithoutauthscopes_client import (
        MdnotesropcgwithoutauthscopesClient as MdnotesropcgwithoutauthscopesClient,
    )
    from mdnotesropcgwithoutauthscopes.models.note import Note as Note
    from mdnotesropcgwithoutauthscopes.models.o_auth_provider_error_enum import (
        OAuthProviderErrorEnum as OAuthProviderErrorEnum,
    )
    from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken as OAuthToken
    from mdnotesropcgwithoutauthscopes.models.service_status import ServiceStatus as ServiceStatus
    from mdnotesropcgwithoutauthscopes.models.user import User as User

_EXCEPTIONS = (
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
)

# Each public name and the module it lives in (below this package).
_HOMES: dict[str, str] = {
    "ClientAuthentication": "http.auth.o_auth_2",
    "Configuration": "configuration",
    "Environment": "configuration",
    "HttpCallBack": "http.http_call_back",
    "HttpClient": "http.http_client",
    "HttpMethodEnum": "http.http_method_enum",
    "HttpRequest": "http.http_request",
    "HttpResponse": "http.http_response",
    "MdnotesropcgwithoutauthscopesClient": "mdnotesropcgwithoutauthscopes_client",
    "MemoryTokenStore": "http.auth.token_store",
    "Note": "models.note",
    "OAuth2": "http.auth.o_auth_2",
    "OAuthProviderErrorEnum": "models.o_auth_provider_error_enum",
    "OAuthToken": "models.o_auth_token",
    "ProxySettings": "http.proxy_settings",
    "RedisTokenStore": "http.auth.token_store",
    "RequestsClient": "http.requests_client",
    "ResourceOwnerAuthCredentials": "http.auth.o_auth_2",
    "SQLiteTokenStore": "http.auth.token_store",
    "Server": "configuration",
    "ServiceStatus": "models.service_status",
    "TokenStore": "http.auth.token_store",
    "TokenStoreError": "http.auth.token_store",
    "User": "models.user",
    **dict.fromkeys(_EXCEPTIONS, "exceptions"),
}

__all__ = [*sorted(_HOMES), "__version__"]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
