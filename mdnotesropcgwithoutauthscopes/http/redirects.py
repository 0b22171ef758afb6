"""Redirects for the requests backend: which 3xx answers to follow, where to, and with what.

``RequestsClient`` follows redirects itself rather than letting requests do it: ``stop_at_redirect``
keeps requests from acting on each 3xx, ``redirect_target`` resolves its ``Location``, and
``next_hop`` builds the next request, keeping credentials only for the origin they were meant for.
"""

from __future__ import annotations

from typing import Any, Optional, cast
from urllib.parse import urljoin, urlsplit

import requests
from requests.cookies import extract_cookies_to_jar, merge_cookies
from requests.utils import requote_uri

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
DEFAULT_PORTS = {"http": 80, "https": 443}
# Headers that only the origin they were meant for may see.
_ORIGIN_HEADERS = ("Authorization", "Proxy-Authorization")


class HeldRedirect(requests.Response):
    """A 3xx answer that ``stop_at_redirect`` keeps from requests: requests sees no redirect in it."""

    @property
    def is_redirect(self) -> bool:
        return False


def stop_at_redirect(response: requests.Response, **_: Any) -> None:
    """The SDK's last response hook: hand every redirect to ``RequestsClient``.

    With ``allow_redirects=False`` requests still works out the next request of a redirect: it
    reads the whole 3xx body (no size cap, no deadline), reads ``~/.netrc`` and parses the
    ``Location`` (raising a bare ``ValueError`` for a bad one). Making the answer a
    ``HeldRedirect``, after the user's hooks ran, skips all of that; ``Session.send`` returns it
    as an ordinary answer (so the instrumentation of ``requests`` records a 3xx, not an error),
    and the client then decides what to follow and what to strip.
    """
    if response.status_code in REDIRECT_STATUSES and "location" in response.headers:
        response.__class__ = HeldRedirect


def redirect_target(response: requests.Response, previous_url: str) -> Optional[str]:
    """The absolute, prepared URL a 3xx points to; None when it is not a valid http(s) URL.

    The same resolution as requests' ``resolve_redirects`` (UTF-8 sent as Latin-1, scheme-relative
    and relative references, re-quoting), without its ``ValueError`` escaping for a bad one.
    """
    location = response.headers.get("Location") or ""
    try:
        try:
            location = location.encode("latin-1").decode("utf-8")
        except UnicodeError:
            pass  # not UTF-8: keep the Latin-1 reading
        if location.startswith("//"):
            location = urlsplit(previous_url).scheme + ":" + location
        parts = urlsplit(location)
        if not parts.netloc:
            if parts.scheme:
                return None  # "http://", "https:/path": a scheme without a host
            location = urljoin(previous_url, requote_uri(location))
        probe = requests.PreparedRequest()
        probe.prepare_url(location, None)
        target = probe.url
        if urlsplit(target).scheme.lower() not in DEFAULT_PORTS:
            return None  # file:, ftp:, javascript: ... never
        return target
    except ValueError:  # urlsplit's "Invalid IPv6 URL", requests' InvalidURL and MissingSchema
        return None


def _origin(url: str) -> tuple[str, str, Optional[int]]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or ""), parts.port or DEFAULT_PORTS.get(scheme)


def keeps_credentials(old_url: str, new_url: str) -> bool:
    """True when ``new_url`` is the same origin as ``old_url``, or its https upgrade on the standard ports."""
    old, new = _origin(old_url), _origin(new_url)
    if old == new:
        return True
    return old[0] == "http" and old[2] == 80 and new == ("https", old[1], 443)


def next_hop(
    session: requests.Session, prepared: requests.PreparedRequest, response: requests.Response, target: str
) -> requests.PreparedRequest:
    """The request for the next hop: method, body, credentials and cookies as the redirect allows."""
    following = prepared.copy()
    status = response.status_code
    method = following.method
    if (status in (302, 303) and method != "HEAD") or (status == 301 and method == "POST"):
        following.method = "GET"
    headers = following.headers
    if status not in (307, 308):  # only these two repeat the body
        for name in ("Content-Length", "Content-Type", "Transfer-Encoding"):
            headers.pop(name, None)
        following.body = None
    if not keeps_credentials(cast(str, prepared.url), target):
        for name in _ORIGIN_HEADERS:
            headers.pop(name, None)
    following.url = target
    headers.pop("Cookie", None)
    jar = following._cookies  # type: ignore[attr-defined]
    extract_cookies_to_jar(jar, prepared, response.raw)  # type: ignore[no-untyped-call]
    merge_cookies(jar, session.cookies)  # type: ignore[no-untyped-call]
    following.prepare_cookies(jar)
    return following
