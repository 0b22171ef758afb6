"""OpenTelemetry spans for API calls and token requests, when the application uses OpenTelemetry."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any, Optional, Union
from urllib.parse import urlsplit

from mdnotesropcgwithoutauthscopes.exceptions.api_exception import APIException
from mdnotesropcgwithoutauthscopes.exceptions.o_auth_provider_exception import OAuthProviderException
from mdnotesropcgwithoutauthscopes.models.o_auth_provider_error_enum import OAuthProviderErrorEnum

if TYPE_CHECKING:
    from contextvars import Token

    from opentelemetry.context import Context
    from opentelemetry.trace import Span, Tracer, TracerProvider

    from mdnotesropcgwithoutauthscopes.http.http_request import HttpRequest

logger = logging.getLogger("mdnotesropcgwithoutauthscopes")

# The instrumentation scope of every span the SDK creates.
TRACER_NAME = "mdnotesropcgwithoutauthscopes"
# The attribute names follow the stable HTTP semantic conventions of this schema.
SCHEMA_URL = "https://opentelemetry.io/schemas/1.26.0"

# Events on the call's span; the auth manager adds them with ``add_event``.
EVENT_TOKEN_ADOPTED = "oauth2.token_adopted"  # a valid token another process saved in the store
EVENT_SIGN_IN_HELD = "oauth2.sign_in_held"  # the refused-credentials hold stopped the call

AttributeValue = Union[str, bool, int, float]

_DEFAULT_PORTS = {"http": 80, "https": 443}
# grant_type values recorded as they are; anything else a caller put in the form is "_OTHER".
_GRANT_TYPES = frozenset({"password", "refresh_token", "client_credentials", "authorization_code"})
_OAUTH_ERRORS = frozenset(member.value for member in OAuthProviderErrorEnum)
# A URL in a message: its user info and its query string or fragment are dropped. A string, not a
# compiled pattern: ``re`` compiles it on first use (the error path), not at import.
_URL_IN_TEXT = r"([A-Za-z][A-Za-z0-9+.\-]*://)(?:[^/\s@]*@)?([^\s?#'\")\]]*)(?:[?#][^\s'\")\]]*)?"


class _Api:
    """The parts of the OpenTelemetry API the spans use, looked up once."""

    def __init__(self) -> None:
        from opentelemetry import context, trace

        self.trace = trace
        self.context = context
        self.client_kind = trace.SpanKind.CLIENT
        self.error = trace.StatusCode.ERROR
        # Providers that make only non-recording spans: with them the SDK starts no span at all.
        self.no_op_providers = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)
        self._tracer: Optional[tuple[TracerProvider, Tracer]] = None

    def tracer(self, provider: TracerProvider) -> Tracer:
        """The SDK's tracer from ``provider``, kept while the application keeps that provider."""
        cached = self._tracer
        if cached is not None and cached[0] is provider:
            return cached[1]
        from mdnotesropcgwithoutauthscopes._version import __version__

        tracer = provider.get_tracer(TRACER_NAME, __version__, schema_url=SCHEMA_URL)
        self._tracer = (provider, tracer)  # one tuple: threads replacing it race harmlessly
        return tracer


# None until the application has imported OpenTelemetry (see ``_api``).
_loaded: Optional[_Api] = None


def _api() -> Optional[_Api]:
    """The OpenTelemetry API once the application has imported it, else None; never imports it.

    An application that traces has imported ``opentelemetry.trace`` to set its tracer provider
    (or its instrumentation did), so the SDK looks in ``sys.modules`` instead of importing:
    without OpenTelemetry, or with it installed and unused, nothing is imported and a call pays
    one dictionary look-up.
    """
    global _loaded
    if _loaded is None:
        if sys.modules.get("opentelemetry.trace") is None:
            return None
        _loaded = _Api()
    return _loaded


class _NoSpan:
    """What ``call_span`` returns when nothing is traced: a ``with`` block that gives None."""

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        return None


_NO_SPAN = _NoSpan()


def call_span(request: HttpRequest, path: str, *, token_request: bool = False) -> Union[_NoSpan, CallSpan]:
    """The span of one call of the endpoint at ``path``, as a context manager; None when not tracing.

    ``path`` is the endpoint's path template (never the URL, which may hold a query); a
    ``token_request`` span also names its grant type.

    The pipeline counts attempts in ``CallSpan.attempts`` and the last answer's status in
    ``CallSpan.status_code``; leaving the block records them, the error and ends the span.
    """
    api = _loaded or _api()
    if api is None:
        return _NO_SPAN
    provider = api.trace.get_tracer_provider()
    if isinstance(provider, api.no_op_providers):
        return _NO_SPAN
    return CallSpan(api, api.tracer(provider), request, path, token_request)


def add_event(name: str, attributes: Optional[Mapping[str, AttributeValue]] = None) -> None:
    """Add an event to the span of the call in progress (nothing when not tracing).

    Args:
        name: the event's name, such as ``EVENT_TOKEN_ADOPTED``.
        attributes: low-cardinality facts about it; never a secret, username or URL query.
    """
    api = _loaded or _api()
    if api is None:
        return
    span = api.trace.get_current_span()
    if span.is_recording():
        span.add_event(name, attributes)


class CallSpan:
    """The CLIENT span of one call, current while the call runs (token requests become its children)."""

    __slots__ = ("attempts", "status_code", "_api", "_span", "_name", "_request", "_token")

    def __init__(self, api: _Api, tracer: Tracer, request: HttpRequest, path: str, token_request: bool) -> None:
        self.attempts = 0  # requests sent for this call: retries and the repeat after a 401 included
        self.status_code: Optional[int] = None  # of the last answer; None when the last attempt got none
        self._api = api
        self._request = request
        method = request.http_method
        attributes = _url_attributes(method, request.query_url)
        if token_request:
            attributes = _with_grant_type(attributes, request.parameters)
        self._name = f"{method} {path}"
        self._span: Span = tracer.start_span(self._name, kind=api.client_kind, attributes=attributes)
        self._token: Optional[Token[Context]] = None

    def __enter__(self) -> CallSpan:
        api = self._api
        self._token = api.context.attach(api.trace.set_span_in_context(self._span))
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        span = self._span
        try:
            if span.is_recording():
                self._record(span, exc)
        except Exception as failure:  # noqa: BLE001 - tracing must never change what the call raises or returns
            logger.debug("Recording the span %r failed (%s)", self._name, type(failure).__name__)
        finally:
            if self._token is not None:
                self._api.context.detach(self._token)
            span.end()

    def _record(self, span: Span, exc: Optional[BaseException]) -> None:
        if self.attempts > 1:
            span.set_attribute("http.request.resend_count", self.attempts - 1)
        status = self.status_code
        if status is not None:
            span.set_attribute("http.response.status_code", status)
        if exc is None:
            return
        answered = isinstance(exc, APIException) and exc.response is not None and exc.response.request is self._request
        if answered and status is not None and status >= 400:
            error_type = str(status)
        else:
            error_type = _qualified_name(type(exc))
        span.set_attribute("error.type", error_type)
        span.set_status(self._api.error, _description(exc))


@lru_cache(maxsize=256)
def _url_attributes(method: str, url: str) -> Mapping[str, AttributeValue]:
    """The request attributes a URL gives, computed once per URL (the mapping is shared, so read-only)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    try:
        explicit = parts.port
    except ValueError:  # a port that is not a number: the transport will say so
        explicit = None
    shown_host = f"[{host}]" if ":" in host else host
    netloc = f"{shown_host}:{explicit}" if explicit is not None else shown_host
    attributes: dict[str, AttributeValue] = {
        "http.request.method": method,
        "server.address": host,
        # Without user info, query string or fragment: they may hold credentials.
        "url.full": f"{scheme}://{netloc}{parts.path}",
    }
    port = explicit if explicit is not None else _DEFAULT_PORTS.get(scheme)
    if port is not None:
        attributes["server.port"] = port
    return MappingProxyType(attributes)


def _with_grant_type(
    attributes: Mapping[str, AttributeValue], form: Optional[Mapping[str, Any]]
) -> Mapping[str, AttributeValue]:
    """``attributes`` plus ``oauth2.grant_type`` read from the form: the one form field ever recorded."""
    grant_type = form.get("grant_type") if form else None
    if grant_type is None:
        return attributes
    return {**attributes, "oauth2.grant_type": grant_type if grant_type in _GRANT_TYPES else "_OTHER"}


def _qualified_name(cls: type) -> str:
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def _description(exc: BaseException) -> Optional[str]:
    """The status description: the SDK's own words for its exceptions, nothing for others.

    Only ``reason`` (never ``str(exc)``, which adds the server's ``error_description``), with an
    RFC 6749 error code when there is one, and any URL in it cut to scheme, host and path.
    """
    if not isinstance(exc, APIException):
        return None  # a message the SDK did not write may hold anything; error.type names it
    text = exc.reason
    if isinstance(exc, OAuthProviderException) and exc.error in _OAUTH_ERRORS:
        text = f"{text} ({exc.error})"
    return re.sub(_URL_IN_TEXT, r"\1\2", text)
