"""The ``HttpClient`` built on ``requests``: the only module of the SDK that imports it."""

import logging
import time
from typing import Any, Dict, Optional, Tuple

import requests
from requests.auth import AuthBase

from mdnotesropcgwithoutauthscopes import __version__
from mdnotesropcgwithoutauthscopes.exceptions.api_connection_exception import (
    APIConnectionException,
    APITimeoutException,
)
from mdnotesropcgwithoutauthscopes.exceptions.response_too_large_exception import ResponseTooLargeException
from mdnotesropcgwithoutauthscopes.http.http_client import HttpClient
from mdnotesropcgwithoutauthscopes.http.http_request import HttpRequest
from mdnotesropcgwithoutauthscopes.http.http_response import HttpResponse

logger = logging.getLogger("mdnotesropcgwithoutauthscopes")

_CHUNK = 64 * 1024


class _NoNetrc(AuthBase):
    """Auth is the SDK's business: passing an auth object stops requests reading ~/.netrc per call."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


_NO_NETRC = _NoNetrc()


class RequestsClient(HttpClient):
    """Sends requests through one pooled ``requests.Session`` (keep-alive, thread-safe for sending).

    Args:
        timeout: default seconds to wait for the server.
        proxies: a ``requests`` proxies mapping (see ``ProxySettings.to_proxies``).
        verify: TLS verification: True, False or a CA bundle path.
        max_response_bytes: the largest body read, after decompression.
        http_client_instance: a ``requests.Session`` to use instead of a new one; it is not
            closed by ``close()``, since its owner may still use it.
        override_http_client_configuration: with ``http_client_instance``, apply ``proxies`` and
            ``verify`` to its requests; otherwise the session's own settings are used.
    """

    def __init__(
        self,
        timeout: float = 60,
        *,
        proxies: Optional[Dict[str, str]] = None,
        verify: Any = True,
        max_response_bytes: int = 10 * 1024 * 1024,
        http_client_instance: Optional[requests.Session] = None,
        override_http_client_configuration: bool = False,
    ) -> None:
        if http_client_instance is not None and not isinstance(http_client_instance, requests.Session):
            raise TypeError(
                f"http_client_instance must be a requests.Session, not {type(http_client_instance).__name__}"
            )
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        self._owns_session = http_client_instance is None
        if http_client_instance is None:
            http_client_instance = requests.Session()
            http_client_instance.headers["User-Agent"] = f"mdnotesropcgwithoutauthscopes-python/{__version__}"
        self.session = http_client_instance
        apply_ours = self._owns_session or override_http_client_configuration
        self._proxies = proxies if apply_ours else None
        self._verify = verify if apply_ours else None
        # Proxy and CA settings from the environment, per scheme and host, looked up once: requests
        # would otherwise scan os.environ on every call.
        self._send_settings: Dict[Tuple[str, str], Dict[str, Any]] = {}

    def execute(self, request: HttpRequest, *, timeout: Optional[float] = None) -> HttpResponse:
        """Send ``request`` and read the whole (capped) body.

        Raises:
            APITimeoutException: no answer within the timeout.
            APIConnectionException: the connection failed.
            ResponseTooLargeException: the body exceeds ``max_response_bytes``.
        """
        url = request.query_url
        timeout = self.timeout if timeout is None else timeout
        session = self.session
        try:
            prepared = session.prepare_request(
                requests.Request(
                    request.http_method,
                    url,
                    headers=request.headers,
                    params=request.query_parameters,
                    data=request.parameters,
                    files=request.files,
                    auth=_NO_NETRC,
                )
            )
            deadline = time.monotonic() + timeout
            response = session.send(prepared, timeout=timeout, stream=True, **self._settings_for(prepared.url))
            body = self._read_body(response, url, deadline)
        except requests.exceptions.ConnectTimeout as exc:
            raise APITimeoutException(f"Timed out connecting after {timeout}s", url, request_sent=False) from exc
        except requests.exceptions.Timeout as exc:
            raise APITimeoutException(f"No answer within {timeout}s", url) from exc
        except requests.exceptions.ConnectionError as exc:
            raise APIConnectionException(
                f"Connection failed: {_cause_name(exc)}", url, request_sent=not _failed_before_sending(exc)
            ) from exc
        except requests.exceptions.RequestException as exc:
            raise APIConnectionException(f"Request failed: {type(exc).__name__}", url) from exc
        return HttpResponse(response.status_code, response.reason, response.headers, body, request, encoding=_charset(response))

    def _settings_for(self, url: str) -> Dict[str, Any]:
        scheme, _, rest = url.partition("://")
        key = (scheme, rest.split("/", 1)[0])
        settings = self._send_settings.get(key)
        if settings is None:
            settings = self.session.merge_environment_settings(url, self._proxies or {}, True, self._verify, None)
            settings.pop("stream", None)
            self._send_settings[key] = settings
        return settings

    def _read_body(self, response: requests.Response, url: str, deadline: float) -> bytes:
        limit = self.max_response_bytes
        length = response.headers.get("Content-Length")
        if length is not None and length.isdigit() and int(length) > limit and "Content-Encoding" not in response.headers:
            response.close()
            raise ResponseTooLargeException(url, limit)
        chunks = []
        size = 0
        for chunk in response.iter_content(_CHUNK):
            size += len(chunk)
            if size > limit:
                response.close()
                raise ResponseTooLargeException(url, limit)
            if time.monotonic() > deadline + 1:
                response.close()  # a body that trickles in forever must not hang the caller
                raise requests.exceptions.ReadTimeout("body not complete within the timeout")
            chunks.append(chunk)
        response.close()  # fully read: this hands the connection back to the pool
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def close(self) -> None:
        """Close the session this client created (a session passed in is left to its owner)."""
        if self._owns_session:
            self.session.close()


def _charset(response: requests.Response) -> Optional[str]:
    content_type = response.headers.get("Content-Type", "")
    if "charset=" not in content_type.lower():
        return None
    return requests.utils.get_encoding_from_headers(response.headers)


def _cause_name(exc: BaseException) -> str:
    """The innermost cause's class, e.g. ``NewConnectionError``; never its text, which may be long."""
    seen = exc
    while True:
        inner = getattr(seen, "reason", None) or (seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None)
        if inner is None or inner is seen:
            return type(seen).__name__
        seen = inner


def _failed_before_sending(exc: requests.exceptions.ConnectionError) -> bool:
    """True when the connection was never made (refused, DNS), so nothing reached the server."""
    from urllib3 import exceptions as urllib3_exceptions

    never_connected = tuple(
        getattr(urllib3_exceptions, name)
        for name in ("NewConnectionError", "NameResolutionError")
        if hasattr(urllib3_exceptions, name)  # NameResolutionError is urllib3 2 only
    )
    inner = exc.args[0] if exc.args else None
    reason = getattr(inner, "reason", inner)
    return isinstance(reason, never_connected)
