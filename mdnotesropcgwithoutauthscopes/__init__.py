"""Python SDK for the MdNotes API, authenticated with the OAuth 2.0 password grant."""

from typing import TYPE_CHECKING, Any

from mdnotesropcgwithoutauthscopes import exceptions
from mdnotesropcgwithoutauthscopes.configuration import Configuration, Environment, Server
from mdnotesropcgwithoutauthscopes.exceptions import *  # noqa: F403 - every exception class, listed in its __all__
from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import (
    ClientAuthentication,
    OAuth2,
    ResourceOwnerAuthCredentials,
)
from mdnotesropcgwithoutauthscopes.http.auth.token_store import (
    MemoryTokenStore,
    RedisTokenStore,
    SQLiteTokenStore,
    TokenStore,
    TokenStoreError,
)
from mdnotesropcgwithoutauthscopes.http.http_call_back import HttpCallBack
from mdnotesropcgwithoutauthscopes.http.http_client import HttpClient
from mdnotesropcgwithoutauthscopes.http.http_method_enum import HttpMethodEnum
from mdnotesropcgwithoutauthscopes.http.http_request import HttpRequest
from mdnotesropcgwithoutauthscopes.http.http_response import HttpResponse
from mdnotesropcgwithoutauthscopes.http.proxy_settings import ProxySettings
from mdnotesropcgwithoutauthscopes.mdnotesropcgwithoutauthscopes_client import (
    MdnotesropcgwithoutauthscopesClient,
)
from mdnotesropcgwithoutauthscopes.models.note import Note
from mdnotesropcgwithoutauthscopes.models.o_auth_provider_error_enum import OAuthProviderErrorEnum
from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken
from mdnotesropcgwithoutauthscopes.models.service_status import ServiceStatus
from mdnotesropcgwithoutauthscopes.models.user import User

if TYPE_CHECKING:
    from mdnotesropcgwithoutauthscopes.http.requests_client import RequestsClient

# The one version string: pyproject.toml reads it ([tool.setuptools.dynamic]); the User-Agent sends it.
__version__ = "1.0.0"

# Names whose modules import a heavy dependency (requests): loaded on first use, so that importing
# the SDK stays as cheap as importing the client module.
_LAZY = {
    "RequestsClient": "mdnotesropcgwithoutauthscopes.http.requests_client",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "ClientAuthentication",
    "Configuration",
    "Environment",
    "HttpCallBack",
    "HttpClient",
    "HttpMethodEnum",
    "HttpRequest",
    "HttpResponse",
    "MdnotesropcgwithoutauthscopesClient",
    "MemoryTokenStore",
    "Note",
    "OAuth2",
    "OAuthProviderErrorEnum",
    "OAuthToken",
    "ProxySettings",
    "RedisTokenStore",
    "RequestsClient",
    "ResourceOwnerAuthCredentials",
    "SQLiteTokenStore",
    "Server",
    "ServiceStatus",
    "TokenStore",
    "TokenStoreError",
    "User",
    "__version__",
]
__all__ += exceptions.__all__
