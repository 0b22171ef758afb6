"""The SDK's entry point: ``MdnotesropcgwithoutauthscopesClient``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NoReturn, Optional, SupportsIndex, TypeVar, Union

from mdnotesropcgwithoutauthscopes._constants import DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_MAX_RETRY_WAIT, DEFAULT_TIMEOUT
from mdnotesropcgwithoutauthscopes.configuration import (
    DEFAULT_RETRY_METHODS,
    DEFAULT_RETRY_STATUSES,
    Configuration,
    Environment,
)
from mdnotesropcgwithoutauthscopes.controllers.base_controller import CallPipeline
from mdnotesropcgwithoutauthscopes.controllers.o_auth_authorization_controller import OAuthAuthorizationController
from mdnotesropcgwithoutauthscopes.controllers.service_controller import ServiceController
from mdnotesropcgwithoutauthscopes.controllers.user_controller import UserController
from mdnotesropcgwithoutauthscopes.exceptions.client_closed_exception import ClientClosedException
from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import OAuth2, ResourceOwnerAuthCredentials
from mdnotesropcgwithoutauthscopes.http.http_client import HttpClient
from mdnotesropcgwithoutauthscopes.http.http_request import HttpRequest
from mdnotesropcgwithoutauthscopes.http.http_response import HttpResponse
from mdnotesropcgwithoutauthscopes.http.proxy_settings import ProxySettings
from mdnotesropcgwithoutauthscopes.immutable_settings import KeywordChecked

if TYPE_CHECKING:  # annotations only: requests is imported when the first client is built
    import requests

    from mdnotesropcgwithoutauthscopes.http.http_call_back import HttpCallBack

ClientT = TypeVar("ClientT", bound="MdnotesropcgwithoutauthscopesClient")


class MdnotesropcgwithoutauthscopesClient(KeywordChecked):
    """A client of the MdNotes API.

    Build it from settings (``MdnotesropcgwithoutauthscopesClient(timeout=10, ...)``, the
    parameters of ``Configuration``, with the same types and defaults) or from a whole
    ``Configuration`` (``config=...``), not both. It owns a pooled HTTP session: close it with
    ``close()`` or use it in a ``with`` block; a closed client raises ``ClientClosedException``.
    Clients cannot be pickled or copied: build one per process from its ``config``.

    Args:
        config: a whole ``Configuration``; then every other argument must keep its default.
        http_client_instance: see ``Configuration`` for this and every other setting.

    Attributes:
        config: the immutable ``Configuration``.
        http_ropcg: the ``OAuth2`` auth manager (``fetch_token``, ``refresh_token``...).
        service: ``ServiceController`` (``get_status``).
        user: ``UserController`` (``get_user``).
        o_auth_authorization: ``OAuthAuthorizationController`` (raw token requests).

    Raises:
        TypeError: both ``config`` and a setting were given, or a setting name is unknown (the
            message names the setting probably meant), or a setting has the wrong type.
        ValueError: a setting is out of range.
    """

    @classmethod
    def _keywords(cls) -> Iterable[str]:
        return _PARAMETERS

    def __init__(
        self,
        config: Optional[Configuration] = None,
        *,
        http_client_instance: Union[requests.Session, HttpClient, None] = None,
        override_http_client_configuration: bool = False,
        http_call_back: Optional[HttpCallBack] = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = 0,
        backoff_factor: float = 2,
        retry_statuses: Iterable[int] = DEFAULT_RETRY_STATUSES,
        retry_methods: Iterable[str] = DEFAULT_RETRY_METHODS,
        proxy_settings: Optional[ProxySettings] = None,
        environment: Environment = Environment.PRODUCTION,
        base_uri: Optional[str] = None,
        resource_owner_auth_credentials: Optional[ResourceOwnerAuthCredentials] = None,
        allow_insecure_http: bool = False,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT,
        verify_ssl: Union[bool, str] = True,
    ) -> None:
        arguments = locals()
        settings = {name: arguments[name] for name in Configuration._FIELDS}
        if config is not None:
            if not isinstance(config, Configuration):
                raise TypeError(f"config must be a Configuration, not {type(config).__name__}")
            given = sorted(name for name, value in settings.items() if not _is_default(value, _DEFAULTS[name]))
            if given:
                raise TypeError("pass either config= or individual settings, not both: " + ", ".join(given))
        else:
            config = Configuration(**settings)
        self.config = config
        self._http_client = _make_http_client(config)
        self._pipeline = CallPipeline(config, self._http_client)
        self.o_auth_authorization = OAuthAuthorizationController(self._pipeline)
        # The auth manager's own view of the token endpoint: the same pipeline, but the manager
        # paces repeated token requests itself (API.md section 9), so the pipeline does not retry them.
        self.http_ropcg = OAuth2(
            config.resource_owner_auth_credentials, OAuthAuthorizationController(self._pipeline, retries=False)
        )
        self._pipeline.auth = self.http_ropcg
        self.service = ServiceController(self._pipeline)
        self.user = UserController(self._pipeline)
        self._closed = False

    @property
    def http_client(self) -> HttpClient:
        """The ``HttpClient`` that sends this client's requests."""
        return self._http_client

    @property
    def closed(self) -> bool:
        """True once ``close()`` was called."""
        return self._closed

    def close(self) -> None:
        """Release the HTTP connections this client opened; later calls raise ``ClientClosedException``.

        Closing twice is harmless. A ``requests.Session`` passed as ``http_client_instance`` is
        left open for its owner; an ``HttpClient`` passed in is closed.
        """
        if self._closed:
            return
        self._closed = True
        self.http_ropcg.close()
        self._pipeline.http_client = _ClosedHttpClient()
        self._http_client.close()

    def __enter__(self: ClientT) -> ClientT:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __reduce_ex__(self, protocol: SupportsIndex) -> NoReturn:
        # A client holds locks, pooled sockets and a live token; a copy in another process could
        # not use them. Its Configuration pickles, so each process builds its own client.
        raise TypeError(
            f"{type(self).__name__} objects cannot be pickled or copied: "
            "build one client per process from its Configuration (client.config)"
        )

    def __repr__(self) -> str:
        # One short line: the whole configuration (client.config) is a screenful, and needs no repeating here.
        config = self.config
        return (
            f"{type(self).__name__}(base_uri={config.get_base_uri()!r}, "
            f"environment={config.environment}, closed={self._closed})"
        )


# Every name the constructor takes: config plus the settings of Configuration, in order.
_PARAMETERS = ("config", *Configuration._FIELDS)
# The settings' defaults, to tell which ones a caller passed along with config=.
_DEFAULTS: dict[str, Any] = MdnotesropcgwithoutauthscopesClient.__init__.__kwdefaults__ or {}


def _is_default(value: Any, default: Any) -> bool:
    return value is default or (type(value) is type(default) and value == default)


class _ClosedHttpClient(HttpClient):
    """What a closed client sends through: nothing."""

    def execute(self, request: HttpRequest, *, timeout: Optional[float] = None) -> HttpResponse:
        raise ClientClosedException()


def _make_http_client(config: Configuration) -> HttpClient:
    if isinstance(config.http_client_instance, HttpClient):
        return config.http_client_instance
    from mdnotesropcgwithoutauthscopes.http.requests_client import RequestsClient

    # The timeout is not given here: the pipeline passes config.timeout with every request.
    return RequestsClient(
        proxies=config.proxy_settings.to_proxies() if config.proxy_settings is not None else None,
        verify=config.verify_ssl,
        max_response_bytes=config.max_response_bytes,
        http_client_instance=config.http_client_instance,
        override_http_client_configuration=config.override_http_client_configuration,
    )
