"""The SDK's entry point: ``MdnotesropcgwithoutauthscopesClient``."""

from typing import Any, Optional

from mdnotesropcgwithoutauthscopes.configuration import Configuration
from mdnotesropcgwithoutauthscopes.controllers.base_controller import CallPipeline
from mdnotesropcgwithoutauthscopes.controllers.o_auth_authorization_controller import OAuthAuthorizationController
from mdnotesropcgwithoutauthscopes.controllers.service_controller import ServiceController
from mdnotesropcgwithoutauthscopes.controllers.user_controller import UserController
from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import OAuth2
from mdnotesropcgwithoutauthscopes.http.http_client import HttpClient


class MdnotesropcgwithoutauthscopesClient:
    """A client of the MdNotes API.

    Build it from settings (``MdnotesropcgwithoutauthscopesClient(timeout=10, ...)``, the names of
    ``Configuration``) or from a whole ``Configuration`` (``config=...``), not both. It owns a
    pooled HTTP session: close it with ``close()`` or use it in a ``with`` block.

    Attributes:
        config: the immutable ``Configuration``.
        http_ropcg: the ``OAuth2`` auth manager (``fetch_token``, ``refresh_token``...).
        service: ``ServiceController`` (``get_status``).
        user: ``UserController`` (``get_user``).
        o_auth_authorization: ``OAuthAuthorizationController`` (raw token requests).
    """

    def __init__(self, config: Optional[Configuration] = None, **settings: Any) -> None:
        if config is not None:
            if settings:
                raise TypeError("pass either config= or individual settings, not both: " + ", ".join(sorted(settings)))
            if not isinstance(config, Configuration):
                raise TypeError(f"config must be a Configuration, not {type(config).__name__}")
        else:
            config = Configuration(**settings)
        self.config = config
        self._pipeline = CallPipeline(config, _make_http_client(config))
        self.o_auth_authorization = OAuthAuthorizationController(self._pipeline)
        self.http_ropcg = OAuth2(config.resource_owner_auth_credentials, self.o_auth_authorization)
        self._pipeline.auth = self.http_ropcg
        self.service = ServiceController(self._pipeline)
        self.user = UserController(self._pipeline)

    @property
    def http_client(self) -> HttpClient:
        """The ``HttpClient`` that sends this client's requests."""
        return self._pipeline.http_client

    def close(self) -> None:
        """Release the HTTP connections this client opened."""
        self._pipeline.http_client.close()

    def __enter__(self) -> "MdnotesropcgwithoutauthscopesClient":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MdnotesropcgwithoutauthscopesClient(config={self.config!r})"


def _make_http_client(config: Configuration) -> HttpClient:
    if isinstance(config.http_client_instance, HttpClient):
        return config.http_client_instance
    from mdnotesropcgwithoutauthscopes.http.requests_client import RequestsClient

    return RequestsClient(
        config.timeout,
        proxies=config.proxy_settings.to_proxies() if config.proxy_settings is not None else None,
        verify=config.verify_ssl,
        max_response_bytes=config.max_response_bytes,
        http_client_instance=config.http_client_instance,
        override_http_client_configuration=config.override_http_client_configuration,
    )
