"""The ``HttpClient`` built on ``requests``: the only class of the SDK that uses it.

Its helpers, which import ``requests`` or urllib3 too and nothing else of the SDK imports, sit
beside it: ``redirects`` (which 3xx to follow, and with what), ``transport_errors`` (failures in
words) and ``deadline`` (one deadline for the status line and headers).
"""

from __future__ import annotations

import http.client
import logging
import os
import socket
import time
from typing import Any, Optional, cast

import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from requests.cookies import RequestsCookieJar, merge_cookies
from requests.sessions import merge_setting
from requests.structures import CaseInsensitiveDict
from requests.utils import check_header_validity, to_native_string
from urllib3 import exceptions as urllib3_exceptions

from mdnotesropcgwithoutauthscopes._constants import DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT
from mdnotesropcgwithoutauthscopes._version import __version__
from mdnotesropcgwithoutauthscopes.api_helper import APIHelper
from mdnotesropcgwithoutauthscopes.exceptions.api_exception import APIException
from mdnotesropcgwithoutauthscopes.exceptions.response_too_large_exception import ResponseTooLargeException
from mdnotesropcgwithoutauthscopes.http.deadline import DeadlineTimeout, DeadlineWatchdog, Watch
from mdnotesropcgwithoutauthscopes.http.forking import reset_after_fork
from mdnotesropcgwithoutauthscopes.http.http_client import HttpClient
from mdnotesropcgwithoutauthscopes.http.http_request import HttpRequest
from mdnotesropcgwithoutauthscopes.http.http_response import HttpResponse
from mdnotesropcgwithoutauthscopes.http.redirects import HeldRedirect, next_hop, redirect_target, stop_at_redirect
from mdnotesropcgwithoutauthscopes.http.transport_errors import timed_out, transport_error

logger = logging.getLogger("mdnotesropcgwithoutauthscopes")

_CHUNK = 64 * 1024
# Prepared URLs kept per client; endpoint URLs are few, but a path with an id in it is not.
_URL_CACHE_SIZE = 256
_HEADER_CACHE_SIZE = 64
_SETTINGS_CACHE_SIZE = 64
# Checked on every call instead: a cache must not keep old tokens alive.
_UNCACHED_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
# The environment variables requests reads for proxies and CA bundles (both spellings on POSIX).
_ENV_NAMES = tuple(
    name for base in ("http_proxy", "https_proxy", "all_proxy", "no_proxy") for name in (base, base.upper())
) + ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
# On POSIX, os.environ keeps its values in a dict with bytes keys; reading it directly is 20 times
# cheaper than os.environ.get, which matters on every call. Elsewhere os.environ.get is used.
_ENV_DATA: Optional[dict[Any, Any]] = getattr(os.environ, "_data", None) if os.name == "posix" else None
_ENV_KEYS: tuple[Any, ...] = tuple(n.encode() for n in _ENV_NAMES) if _ENV_DATA is not None else _ENV_NAMES
_env_get = _ENV_DATA.get if _ENV_DATA is not None else os.environ.get


class _NoNetrc(AuthBase):
    """Auth is the SDK's business: passing an auth object stops requests reading ~/.netrc per call."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


_NO_NETRC = _NoNetrc()


class RequestsClient(HttpClient):
    """Sends requests through one pooled ``requests.Session`` (keep-alive, thread-safe for sending).

    Redirects are followed by this client, not by requests: the SDK's ``Authorization`` goes to
    the origin it was meant for and nowhere else, ``~/.netrc`` is never read, and a request whose
    ``follow_redirects`` is False (token requests) gets the 3xx answer back.

    Args:
        timeout: seconds to wait for the server when ``execute`` is not given one
            (``Configuration``'s default when neither says). The SDK's pipeline always passes the configuration's ``timeout``, the
            one place where a client's timeout lives.
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
        timeout: Optional[float] = None,
        *,
        proxies: Optional[dict[str, str]] = None,
        verify: Any = True,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
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
        self._proxies = dict(proxies) if apply_ours and proxies else None
        self._verify = verify if apply_ours else None
        # Proxy and CA settings per (scheme, host) and everything they are computed from (the
        # session's settings and the environment): requests would otherwise scan os.environ and
        # parse NO_PROXY on every call. A change to any of them makes a new key.
        self._send_settings: dict[tuple[Any, ...], dict[str, Any]] = {}
        # URL as given -> URL as requests prepares it (IDNA, quoting); a pure function of the URL.
        self._prepared_urls: dict[str, str] = {}
        # (lower-case name, value) pairs requests' header check has passed (a pure function);
        # credentials are never kept here.
        self._valid_headers: set[tuple[Any, Any]] = set()
        self._watchdog = DeadlineWatchdog()
        self._forked = False  # set in a forked child (http/forking.py): its pooled sockets are the parent's
        reset_after_fork(self)

    def execute(self, request: HttpRequest, *, timeout: Optional[float] = None) -> HttpResponse:
        """Send ``request``, follow redirects it allows, and read the whole (capped) body.

        Raises:
            ValueError: a header or the URL cannot be sent as it is (nothing was sent).
            APITimeoutException: no complete answer within the timeout.
            APIConnectionException: the connection failed.
            ResponseTooLargeException: the body exceeds ``max_response_bytes``.
            APIException: a redirect that cannot be followed (bad ``Location``, too many hops).
        """
        url = request.query_url
        if timeout is None:
            timeout = self.timeout if self.timeout is not None else DEFAULT_TIMEOUT
        if self._forked:
            self._forget_parent_connections()
        deadline = time.monotonic() + timeout
        prepared = self._prepare(request)
        prepared.hooks["response"].append(stop_at_redirect)
        watch = Watch(deadline)
        try:
            response = self._exchange(request, prepared, timeout, deadline, watch)
            body = self._read_body(response, url, deadline)
        except APIException:
            raise
        except (
            requests.exceptions.RequestException,
            urllib3_exceptions.HTTPError,
            http.client.HTTPException,
            OSError,
        ) as exc:
            if watch.fired:  # the deadline passed while the status line or headers trickled in
                raise timed_out(url, timeout) from exc
            raise transport_error(exc, url, timeout) from exc
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

        Raises:
            ValueError: a header that cannot be sent (CR/LF, not text, not Latin-1) or a URL
                that is not valid; the message names the header, never its value.
        """
        session = self.session
        p = requests.PreparedRequest()
        p.method = to_native_string(request.http_method.upper())  # type: ignore[no-untyped-call]

        url = request.query_url
        query = request.query_parameters
        try:
            if query or session.params:
                p.prepare_url(url, merge_setting(query, session.params))  # type: ignore[no-untyped-call]
            else:
                prepared_url = self._prepared_urls.get(url)
                if prepared_url is None:
                    p.prepare_url(url, None)
                    if len(self._prepared_urls) >= _URL_CACHE_SIZE:
                        self._prepared_urls.clear()
                    self._prepared_urls[url] = cast(str, p.url)
                else:
                    p.url = prepared_url
        except ValueError as exc:  # requests' InvalidURL, MissingSchema, InvalidSchema are ValueErrors
            raise ValueError(f"Cannot send a request to {url!r}: not a valid http(s) URL ({exc})") from None

        headers: CaseInsensitiveDict[Any] = CaseInsensitiveDict()
        for source in (session.headers, request.headers):
            if source:
                for name, value in source.items():
                    headers[name if name.__class__ is str else to_native_string(name)] = value  # type: ignore[no-untyped-call]
        dropped = None
        valid = self._valid_headers
        for header in headers.lower_items():
            name, value = header
            if value is None:  # requests' way to remove a session header for one request
                dropped = [name] if dropped is None else dropped + [name]
                continue
            try:
                known = header in valid
            except TypeError:  # an unhashable value: let the check say what is wrong with it
                known = False
            if not known:
                problem = _header_problem(header)
                if problem is not None:
                    # The value may be a secret: only the name (as the caller spelled it) is shown.
                    spelled = next((key for key in headers if key.lower() == name), name)
                    shown = APIHelper.clean_text(spelled, 100) if isinstance(spelled, str) else repr(spelled)
                    raise ValueError(f"The request header {shown!r} {problem}; nothing was sent")
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
            p.prepare_cookies(merge_cookies(RequestsCookieJar(), jar))  # type: ignore[no-untyped-call]
        else:
            p._cookies = RequestsCookieJar()  # type: ignore[attr-defined]  # what prepare_cookies leaves for redirects; no header to add

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

    def _exchange(
        self,
        request: HttpRequest,
        prepared: requests.PreparedRequest,
        timeout: float,
        deadline: float,
        watch: Watch,
    ) -> requests.Response:
        """Send ``prepared`` and follow the redirects ``request`` allows; return the last answer.

        Every hop is checked here, not by requests: ``Authorization`` and ``Proxy-Authorization``
        go only to the origin (scheme, host, port) they were set for, or its https upgrade;
        ``~/.netrc`` is never read; only http(s) targets are followed; 301/302 turn a POST into a
        GET and 303 anything but HEAD, as requests and browsers do; at most ``max_redirects`` hops.
        """
        session = self.session
        follow = getattr(request, "follow_redirects", True)
        hops = 0
        while True:
            url = cast(str, prepared.url)
            # requests' own adapter hands the timeout object to urllib3, whose reading of it arms
            # the watchdog: the status line and headers must arrive by the deadline too.
            limit: Any = (
                DeadlineTimeout(timeout, self._watchdog, watch)
                if isinstance(session.get_adapter(url), HTTPAdapter)
                else timeout
            )
            try:
                response = session.send(
                    prepared, stream=True, timeout=limit, allow_redirects=False, **self._settings_for(url)
                )
            finally:
                self._watchdog.release(watch)
            if not isinstance(response, HeldRedirect):
                return response
            if not follow:
                return response  # the caller turns the 3xx into its own error
            body = self._read_body(response, request.query_url, deadline)  # frees the connection
            target = redirect_target(response, url)
            if target is None:
                raise APIException(
                    f"The server redirected to a URL that cannot be followed "
                    f"({APIHelper.clean_text(response.headers.get('Location'), 200)!r})",
                    _http_response(response, body, request),
                )
            hops += 1
            if hops > session.max_redirects:
                raise APIException(
                    f"More than {session.max_redirects} redirects", _http_response(response, body, request)
                )
            prepared = next_hop(session, prepared, response, target)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise requests.exceptions.ReadTimeout("no final answer within the timeout")
            timeout = min(timeout, remaining)

    def _settings_for(self, url: str) -> dict[str, Any]:
        """``proxies``, ``verify`` and ``cert`` for ``url``, as ``Session.request`` would compute them."""
        session = self.session
        scheme, _, rest = url.partition("://")
        trust_env = session.trust_env
        env = tuple(map(_env_get, _ENV_KEYS)) if trust_env else None
        proxies = session.proxies
        key = (
            scheme,
            rest.split("/", 1)[0],
            trust_env,
            env,
            session.verify,
            session.cert,
            tuple(proxies.items()) if proxies else None,
        )
        try:
            settings = self._send_settings.get(key)
        except TypeError:  # an unhashable setting (a cert given as a list): compute it every time
            return self._compute_settings(url)
        if settings is None:
            settings = self._compute_settings(url)
            if len(self._send_settings) >= _SETTINGS_CACHE_SIZE:
                self._send_settings.clear()
            self._send_settings[key] = settings
        return settings

    def _compute_settings(self, url: str) -> dict[str, Any]:
        # A copy: merge_environment_settings adds the environment's proxies to the dict it is given.
        proxies = dict(self._proxies) if self._proxies else {}
        settings: dict[str, Any] = dict(self.session.merge_environment_settings(url, proxies, True, self._verify, None))
        del settings["stream"]  # the client streams every body itself
        return settings

    def _read_body(self, response: requests.Response, url: str, deadline: float) -> bytes:
        """Read the whole body against one deadline and the size cap, then free the connection."""
        limit = self.max_response_bytes
        headers = response.headers
        length = headers.get("Content-Length")
        expected = -1  # bytes that complete the body, when the headers say so
        if length is not None and length.isdigit() and "Content-Encoding" not in headers:
            expected = int(length)
            if expected > limit:
                response.close()
                raise ResponseTooLargeException(url, limit)
        raw = response.raw
        read1 = getattr(raw, "read1", None)  # urllib3 2: at most one recv() per call
        if read1 is None:
            return self._read_chunks(response, url, deadline)
        sock = _socket_of(raw)
        chunks = []
        size = 0
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise requests.exceptions.ReadTimeout("body not complete within the timeout")
                if sock is not None:
                    # One deadline for the whole body: each recv() may wait only for what is left.
                    try:
                        sock.settimeout(remaining)
                    except OSError:  # closed once the last byte arrived: nothing left to wait for
                        sock = None
                chunk = read1(_CHUNK, decode_content=True)
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    raise ResponseTooLargeException(url, limit)
                chunks.append(chunk)
                if size == expected:
                    break  # complete: no need for the read that would return b""
        except BaseException:
            response.close()  # a half-read connection is never reused
            raise
        response._content_consumed = True  # type: ignore[attr-defined]  # fully read: close() hands the connection back to the pool
        response.close()
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def _read_chunks(self, response: requests.Response, url: str, deadline: float) -> bytes:
        """The body of a response without ``read1`` (urllib3 1.x, a custom adapter's raw)."""
        limit = self.max_response_bytes
        chunks = []
        size = 0
        for chunk in response.iter_content(_CHUNK):
            size += len(chunk)
            if size > limit:
                response.close()
                raise ResponseTooLargeException(url, limit)
            if time.monotonic() > deadline:
                response.close()
                raise requests.exceptions.ReadTimeout("body not complete within the timeout")
            chunks.append(chunk)
        response.close()
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def _after_fork_in_child(self) -> None:
        # The parent's watchdog thread is not in the child, and its lock may be held. The pooled
        # sockets are dropped on the child's first request, not here: a child that never sends
        # one pays nothing at fork.
        self._watchdog = DeadlineWatchdog()
        self._forked = True

    def _forget_parent_connections(self) -> None:
        """In a forked child, drop the pooled sockets inherited from the parent.

        Parent and child would otherwise read and write the same connections, and one process
        could receive the other's responses (and tokens). Closing the child's copies sends nothing
        to the server while the parent still holds them, so the parent's connections live on.
        """
        self._forked = False
        for adapter in self.session.adapters.values():
            adapter.close()

    def __repr__(self) -> str:
        # No proxies: a proxy URL may carry a password.
        return (
            f"{type(self).__name__}(timeout={self.timeout!r}, max_response_bytes={self.max_response_bytes}, "
            f"owns_session={self._owns_session})"
        )

    def close(self) -> None:
        """Close the session this client created (a session passed in is left to its owner)."""
        self._watchdog.close()
        if self._owns_session:
            self.session.close()


def _header_problem(header: tuple[Any, Any]) -> Optional[str]:
    """What makes a header unsendable, in words (None when it is fine).

    requests' own check (CR/LF, leading whitespace, not str or bytes), plus what ``http.client``
    would fail on only while sending: a value outside Latin-1, a name outside ASCII.
    """
    name, value = header
    try:
        check_header_validity(header)
    except requests.exceptions.InvalidHeader:
        return "holds a line break or leading whitespace, or is not text"
    if isinstance(value, str) and not _encodes(value, "latin-1"):
        return "has characters outside Latin-1, which HTTP headers cannot carry"
    if isinstance(name, str) and not _encodes(name, "ascii"):
        return "has a name that is not ASCII"
    return None


def _encodes(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeError:
        return False
    return True


def _socket_of(raw: Any) -> Optional[socket.socket]:
    """The socket a urllib3 response reads from, or None (no socket: a stub or mock adapter)."""
    sock = getattr(getattr(raw, "_connection", None), "sock", None)
    if sock is None:
        # "Connection: close": urllib3 let go of the connection, http.client's file still reads it.
        buffered = getattr(getattr(raw, "_fp", None), "fp", None)
        sock = getattr(getattr(buffered, "raw", None), "_sock", None)
    return sock if isinstance(sock, socket.socket) else None


def _charset(response: requests.Response) -> Optional[str]:
    content_type = response.headers.get("Content-Type", "")
    if "charset=" not in content_type.lower():
        return None
    return requests.utils.get_encoding_from_headers(response.headers)


def _http_response(response: requests.Response, body: bytes, request: HttpRequest) -> HttpResponse:
    return HttpResponse(
        response.status_code, response.reason, response.headers, body, request, encoding=_charset(response)
    )
