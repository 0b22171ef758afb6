"""The ``HttpClient`` built on ``requests``: the only module of the SDK that imports it."""

import logging
import os
import time
from typing import Any, Optional

import requests
from requests.auth import AuthBase
from requests.cookies import RequestsCookieJar, merge_cookies
from requests.sessions import merge_setting
from requests.structures import CaseInsensitiveDict
from requests.utils import check_header_validity, to_native_string

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
# Prepared URLs kept per client; endpoint URLs are few, but a path with an id in it is not.
_URL_CACHE_SIZE = 256
_HEADER_CACHE_SIZE = 64
# Checked on every call instead: a cache must not keep old tokens alive.
_UNCACHED_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


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
        proxies: Optional[dict[str, str]] = None,
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
        self._send_settings: dict[tuple[str, str], dict[str, Any]] = {}
        # URL as given -> URL as requests prepares it (IDNA, quoting); a pure function of the URL.
        self._prepared_urls: dict[str, str] = {}
        # (lower-case name, value) pairs requests' header check has passed (a pure function);
        # credentials are never kept here.
        self._valid_headers: set[tuple[Any, Any]] = set()
        self._pid = os.getpid()

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
        if self._pid != os.getpid():
            self._forget_parent_connections()
        try:
            prepared = self._prepare(request)
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
        return HttpResponse(
            response.status_code, response.reason, response.headers, body, request, encoding=_charset(response)
        )

    def _prepare(self, request: HttpRequest) -> requests.PreparedRequest:
        """What ``session.prepare_request(requests.Request(...))`` builds, without its per-call overhead.

        Same result: session headers, params, cookies and hooks merged in; ``None`` header values
        drop a session header; headers validated; ``session.auth`` and ~/.netrc not used (auth is
        the SDK's). The savings: the URL is prepared once per distinct URL, a header is validated
        once per distinct value, and requests' ``merge_setting`` (whose ``isinstance`` checks
        against a typing ``Protocol`` cost more than the rest of the request) is skipped unless
        there are query parameters to merge.
        """
        session = self.session
        p = requests.PreparedRequest()
        p.method = to_native_string(request.http_method.upper())

        url = request.query_url
        query = request.query_parameters
        if query or session.params:
            p.prepare_url(url, merge_setting(query, session.params))
        else:
            prepared_url = self._prepared_urls.get(url)
            if prepared_url is None:
                p.prepare_url(url, None)
                if len(self._prepared_urls) >= _URL_CACHE_SIZE:
                    self._prepared_urls.clear()
                self._prepared_urls[url] = p.url
            else:
                p.url = prepared_url

        headers = CaseInsensitiveDict()
        for source in (session.headers, request.headers):
            if source:
                for name, value in source.items():
                    headers[name if name.__class__ is str else to_native_string(name)] = value
        dropped = None
        valid = self._valid_headers
        for header in headers.lower_items():
            name, value = header
            if value is None:  # requests' way to remove a session header for one request
                dropped = [name] if dropped is None else dropped + [name]
                continue
            try:
                known = header in valid
            except TypeError:  # an unhashable value: let requests say what is wrong with it
                known = False
            if not known:
                check_header_validity(header)  # raises InvalidHeader for CR/LF, bad types...
                if name not in _UNCACHED_HEADERS:
                    if len(valid) >= _HEADER_CACHE_SIZE:
                        valid.clear()
                    valid.add(header)
        if dropped is not None:
            for name in dropped:
                del headers[name]
        p.headers = headers

        jar = session.cookies
        if len(jar):
            # A copy, as requests makes: the Cookie header is computed from it and redirects add to it.
            p.prepare_cookies(merge_cookies(RequestsCookieJar(), jar))
        else:
            p._cookies = RequestsCookieJar()  # what prepare_cookies leaves for redirects; no header to add

        if request.parameters or request.files:
            p.prepare_body(request.parameters, request.files)
        else:
            p.prepare_content_length(None)  # Content-Length: 0 on a bodiless POST, as requests sends

        # An auth object given means requests neither reads ~/.netrc nor turns URL user info into
        # Basic auth, and session.auth is not applied: the SDK sets Authorization itself.
        p.prepare_auth(_NO_NETRC)

        hooks = session.hooks
        if hooks is not None and hooks.get("response") != []:  # as requests' merge_hooks decides
            p.prepare_hooks(hooks)
        return p

    def _settings_for(self, url: str) -> dict[str, Any]:
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
        if (
            length is not None
            and length.isdigit()
            and int(length) > limit
            and "Content-Encoding" not in response.headers
        ):
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

    def _forget_parent_connections(self) -> None:
        """In a forked child, drop the pooled sockets inherited from the parent.

        Parent and child would otherwise read and write the same connections, and one process
        could receive the other's responses (and tokens). Closing the child's copies sends nothing
        to the server while the parent still holds them, so the parent's connections live on.
        """
        for adapter in self.session.adapters.values():
            adapter.close()
        self._pid = os.getpid()

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
        inner = getattr(seen, "reason", None) or (
            seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None
        )
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
