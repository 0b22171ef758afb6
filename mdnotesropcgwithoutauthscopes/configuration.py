"""SDK configuration: environments, servers and the immutable ``Configuration``."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from enum import Enum
from typing import TYPE_CHECKING, Any, Optional, Union

from mdnotesropcgwithoutauthscopes._constants import DEFAULT_MAX_RESPONSE_BYTES as DEFAULT_MAX_RESPONSE_BYTES
from mdnotesropcgwithoutauthscopes._constants import DEFAULT_MAX_RETRY_WAIT, DEFAULT_TIMEOUT
from mdnotesropcgwithoutauthscopes.api_helper import check_type
from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import ResourceOwnerAuthCredentials
from mdnotesropcgwithoutauthscopes.http.proxy_settings import ProxySettings
from mdnotesropcgwithoutauthscopes.immutable_settings import ImmutableSettings

if TYPE_CHECKING:  # annotations only: importing requests here would slow down importing the SDK
    import requests

    from mdnotesropcgwithoutauthscopes.http.http_call_back import HttpCallBack
    from mdnotesropcgwithoutauthscopes.http.http_client import HttpClient


class Environment(Enum):
    """Deployments of the API."""

    PRODUCTION = 0


class Server(Enum):
    """Servers within an environment."""

    DEFAULT = 0
    AUTH = 1


_ENVIRONMENTS = {
    Environment.PRODUCTION: {
        Server.DEFAULT: "http://localhost:3000/oauth2/non-auth-server",
        Server.AUTH: "http://localhost:3000/oauth2/auth-server",
    },
}

DEFAULT_RETRY_STATUSES: tuple[int, ...] = (408, 413, 429, 500, 502, 503, 504, 521, 522, 524)
DEFAULT_RETRY_METHODS: tuple[str, ...] = ("GET", "PUT")


# An HTTP method is a token (RFC 9110 section 9.1 and 5.6.2): no spaces, line breaks or separators.
_METHOD_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def _number(name: str, value: Any, *, positive: bool) -> float:
    check_type(name, value, (int, float), allow_none=False)
    number: float = value
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"{name} must be a finite number, not {number!r}")
    if positive and number <= 0:
        raise ValueError(f"{name} must be greater than 0, not {number!r}")
    if number < 0:
        raise ValueError(f"{name} must not be negative, not {number!r}")
    return number


def _verify_ssl(value: Any) -> Any:
    """``verify_ssl`` checked now rather than at the first HTTPS request: True, False or an existing path."""
    if isinstance(value, bool):
        return value
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise ValueError(f"verify_ssl must be True, False or the path of a CA bundle, not {type(value).__name__}")
    if not os.path.exists(value):
        raise ValueError(
            f"verify_ssl must be True, False or the path of a CA bundle file or directory; {value!r} does not exist"
        )
    return value


def base_uri_problem(base_uri: str) -> Optional[str]:
    """What makes ``base_uri`` unusable, in words that never repeat its user info; None when it is fine.

    User info (``user:password@``) is refused: the SDK never sends it, and a URL holding a password
    would put it in every message, repr and log line that names the server.
    """
    scheme, sep, rest = base_uri.partition("://")
    authority = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0] if sep else ""
    if "@" in authority:
        host = authority.rsplit("@", 1)[1]
        return (
            "base_uri must not contain user info (user:password@): the SDK never sends it, and a password "
            f"there would show wherever the URL does; use {scheme}://{host}/... and put the credentials in "
            "resource_owner_auth_credentials"
        )
    if not base_uri.lower().startswith(("http://", "https://")):
        return f"base_uri must start with http:// or https://, not {base_uri!r}"
    return None


def _checked_base_uri(base_uri: str) -> str:
    problem = base_uri_problem(base_uri)
    if problem is not None:
        raise ValueError(problem)
    return base_uri.rstrip("/")


def _int_tuple(name: str, values: Iterable[int]) -> tuple[int, ...]:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be an iterable of HTTP status codes")
    result = tuple(values)
    for code in result:
        check_type(f"{name} item", code, int, allow_none=False)
    return result


def _method_tuple(name: str, values: Iterable[str]) -> tuple[str, ...]:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be an iterable of HTTP method names, such as ('GET', 'PUT')")
    result = []
    for method in values:
        check_type(f"{name} item", method, str, allow_none=False)
        if not _METHOD_TOKEN.fullmatch(method):
            raise ValueError(f"{name} items must be HTTP method names such as 'GET', not {method!r}")
        result.append(str(method).upper())
    return tuple(result)


class Configuration(ImmutableSettings):
    """Everything a client needs: where the API is, how to send requests, and the credentials.

    Immutable: ``clone_with(**changes)`` returns a changed copy. See ``doc/client.md`` for each
    setting.

    Args:
        http_client_instance: a ``requests.Session`` to send requests through (or an
            ``HttpClient``); by default the client makes its own pooled session. A session passed
            in is not closed by ``client.close()``; an ``HttpClient`` is.
        override_http_client_configuration: with a ``requests.Session`` as
            ``http_client_instance``, True applies this configuration's ``proxy_settings`` and
            ``verify_ssl`` to its requests; False keeps the session's own proxies and certificate
            settings. ``timeout``, retries and ``max_response_bytes`` apply either way.
        http_call_back: an ``HttpCallBack`` called before each request and after each response.
        timeout: seconds to wait for the server, for every request (token requests included).
        max_retries: how many times a failed request is repeated (0 = never).
        backoff_factor: base of the exponential back-off between retries, in seconds.
        retry_statuses: HTTP statuses that are retried.
        retry_methods: HTTP methods that are retried.
        proxy_settings: a ``ProxySettings`` for all requests (None: the HTTP_PROXY / HTTPS_PROXY /
            NO_PROXY environment variables apply).
        environment: the ``Environment`` whose servers are used.
        base_uri: replaces the environment's DEFAULT server URL (self-hosted or test servers);
            an ``http://`` or ``https://`` URL without user info (``user:password@`` is a
            ``ValueError`` whose message does not repeat it).
        resource_owner_auth_credentials: the ``ResourceOwnerAuthCredentials`` used for OAuth 2.
            Never None on the object: None (the default) is stored as an empty
            ``ResourceOwnerAuthCredentials()``, which stands for "no credentials".
        allow_insecure_http: True allows sending credentials and tokens over plain ``http://`` to
            hosts that are not loopback (refused by default).
        max_response_bytes: responses larger than this (after decompression) are refused.
        max_retry_wait: the longest the SDK waits before a retry, even if ``Retry-After`` asks
            for more, in seconds.
        verify_ssl: TLS certificate verification: True, False, or the path of a CA bundle file
            (or of a directory of certificates); a path that does not exist is a ``ValueError``.
    """

    __slots__ = (
        "http_client_instance",
        "override_http_client_configuration",
        "http_call_back",
        "timeout",
        "max_retries",
        "backoff_factor",
        "retry_statuses",
        "retry_methods",
        "proxy_settings",
        "environment",
        "base_uri",
        "resource_owner_auth_credentials",
        "allow_insecure_http",
        "max_response_bytes",
        "max_retry_wait",
        "verify_ssl",
    )
    _FIELDS = __slots__

    def __init__(
        self,
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
        *,
        allow_insecure_http: bool = False,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT,
        verify_ssl: Union[bool, str] = True,
    ) -> None:
        check_type("override_http_client_configuration", override_http_client_configuration, bool, allow_none=False)
        if http_call_back is not None and not (
            callable(getattr(http_call_back, "on_before_request", None))
            and callable(getattr(http_call_back, "on_after_response", None))
        ):
            raise TypeError("http_call_back must be an HttpCallBack (with on_before_request and on_after_response)")
        check_type("max_retries", max_retries, int, allow_none=False)
        if max_retries < 0:
            raise ValueError(f"max_retries must not be negative, not {max_retries}")
        check_type("proxy_settings", proxy_settings, ProxySettings)
        check_type("environment", environment, Environment, allow_none=False)
        check_type("base_uri", base_uri, str)
        if base_uri is not None:
            base_uri = _checked_base_uri(base_uri)
        check_type("resource_owner_auth_credentials", resource_owner_auth_credentials, ResourceOwnerAuthCredentials)
        check_type("allow_insecure_http", allow_insecure_http, bool, allow_none=False)
        check_type("max_response_bytes", max_response_bytes, int, allow_none=False)
        if max_response_bytes <= 0:
            raise ValueError(f"max_response_bytes must be greater than 0, not {max_response_bytes}")
        verify_ssl = _verify_ssl(verify_ssl)

        self.http_client_instance = http_client_instance
        self.override_http_client_configuration = override_http_client_configuration
        self.http_call_back = http_call_back
        self.timeout = _number("timeout", timeout, positive=True)
        self.max_retries = max_retries
        self.backoff_factor = _number("backoff_factor", backoff_factor, positive=False)
        self.retry_statuses = _int_tuple("retry_statuses", retry_statuses)
        self.retry_methods = _method_tuple("retry_methods", retry_methods)
        self.proxy_settings = proxy_settings
        self.environment = environment
        self.base_uri = base_uri
        self.resource_owner_auth_credentials: ResourceOwnerAuthCredentials = (
            resource_owner_auth_credentials
            if resource_owner_auth_credentials is not None
            else ResourceOwnerAuthCredentials()
        )
        self.allow_insecure_http = allow_insecure_http
        self.max_response_bytes = max_response_bytes
        self.max_retry_wait = _number("max_retry_wait", max_retry_wait, positive=False)
        self.verify_ssl = verify_ssl
        self._freeze()

    def get_base_uri(self, server: Server = Server.DEFAULT) -> str:
        """The base URL of ``server`` in this configuration's environment (``base_uri`` wins for DEFAULT)."""
        if server is Server.DEFAULT and self.base_uri is not None:
            return self.base_uri
        return _ENVIRONMENTS[self.environment][server]
