"""The one call pipeline every endpoint goes through: build, authorize, send, retry, decode."""

import ipaddress
import logging
import random
import re
import time
from collections.abc import Mapping
from typing import Any, Callable, Generic, Optional, TypeVar
from urllib.parse import urlsplit

from mdnotesropcgwithoutauthscopes.api_helper import APIHelper
from mdnotesropcgwithoutauthscopes.configuration import Configuration, Server
from mdnotesropcgwithoutauthscopes.exceptions.api_connection_exception import APIConnectionException
from mdnotesropcgwithoutauthscopes.exceptions.api_exception import APIException
from mdnotesropcgwithoutauthscopes.exceptions.api_status_exceptions import exception_class_for_status
from mdnotesropcgwithoutauthscopes.exceptions.auth_validation_exception import AuthValidationException
from mdnotesropcgwithoutauthscopes.exceptions.insecure_transport_exception import InsecureTransportException
from mdnotesropcgwithoutauthscopes.exceptions.o_auth_provider_exception import OAuthProviderException
from mdnotesropcgwithoutauthscopes.http.auth.auth import Auth
from mdnotesropcgwithoutauthscopes.http.http_client import HttpClient
from mdnotesropcgwithoutauthscopes.http.http_request import HttpRequest
from mdnotesropcgwithoutauthscopes.http.http_response import HttpResponse
from mdnotesropcgwithoutauthscopes.http.tracing import CallSpan, call_span
from mdnotesropcgwithoutauthscopes.models.base_model import BaseModel

logger = logging.getLogger("mdnotesropcgwithoutauthscopes")

# The three HTTP-date forms of RFC 9110 section 5.6.7 (IMF-fixdate, RFC 850, asctime); anything
# else in Retry-After is ignored rather than handed to a lenient date parser.
_HTTP_DATE = re.compile(
    r"[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$"
    r"|[A-Za-z]+, \d{2}-[A-Za-z]{3}-\d{2} \d{2}:\d{2}:\d{2} GMT$"
    r"|[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$"
)

# Statuses after which a token request may be repeated: the server said "not now", not "no".
_TOKEN_RETRY_STATUSES = frozenset({429, 503})
# A token request answered 429/503 gets at least this many retries (max_retries may raise it):
# without a token no call can proceed, and the server said it did nothing. A refused connection
# gets only max_retries: it usually means the server is down, and waiting would only delay that.
_TOKEN_MIN_RETRIES = 2


ModelT = TypeVar("ModelT", bound=BaseModel)


class Endpoint(Generic[ModelT]):
    """The declaration of one endpoint: what the pipeline needs to call it and decode the answer.

    Args:
        method: HTTP method.
        path: path below the server's base URL.
        response_model: model class with ``from_dictionary`` for a 2xx body.
        server: which ``Server`` of the environment serves it.
        requires_auth: True to send ``Authorization: Bearer`` from the auth manager.
        sends_credentials: True when the request itself carries secrets (token requests).
        errors: status code to ``(exception class, reason)`` for this endpoint; any other error
            status gets the class of the SDK-wide table (``exception_class_for_status``).
        retries: False to send each request once, whatever the retry settings.
    """

    __slots__ = (
        "method",
        "path",
        "response_model",
        "server",
        "requires_auth",
        "sends_credentials",
        "errors",
        "retries",
    )

    def __init__(
        self,
        method: str,
        path: str,
        response_model: type[ModelT],
        *,
        server: Server = Server.DEFAULT,
        requires_auth: bool = False,
        sends_credentials: bool = False,
        errors: Optional[Mapping[int, tuple[type[APIException], str]]] = None,
        retries: bool = True,
    ) -> None:
        self.method = method
        self.path = path
        self.response_model = response_model
        self.server = server
        self.requires_auth = requires_auth
        self.sends_credentials = sends_credentials
        self.errors: dict[int, tuple[type[APIException], str]] = dict(errors or {})
        self.retries = retries

    def without_retries(self) -> "Endpoint[ModelT]":
        """The same declaration, sent once whatever the retry settings."""
        return Endpoint(
            self.method,
            self.path,
            self.response_model,
            server=self.server,
            requires_auth=self.requires_auth,
            sends_credentials=self.sends_credentials,
            errors=self.errors,
            retries=False,
        )


class CallPipeline:
    """Turns an ``Endpoint`` plus arguments into a model or a typed exception.

    One instance per client. It holds no token: the auth manager (``auth``) does.

    Args:
        config: the client's configuration.
        http_client: the transport.
        sleep: how to wait between retries (``time.sleep``); tests pass one that records.
    """

    def __init__(
        self, config: Configuration, http_client: HttpClient, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.config = config
        self.http_client = http_client
        self.auth: Optional[Auth] = None  # the auth manager, wired by the client after construction
        self._sleep = sleep
        self._urls: dict[Endpoint[Any], str] = {}

    @staticmethod
    def _jitter() -> float:
        """The share of a back-off step to wait: half to all of it, so clients do not retry in step."""
        return random.uniform(0.5, 1.0)

    def call(
        self,
        endpoint: Endpoint[ModelT],
        *,
        headers: Optional[dict[str, str]] = None,
        form: Optional[dict[str, Any]] = None,
        query: Optional[dict[str, Any]] = None,
    ) -> ModelT:
        """Send ``endpoint``'s request and return its model.

        Raises:
            APIException: (or a subclass) for non-2xx answers, transport failures, bad bodies.
        """
        url = self._urls.get(endpoint)
        if url is None:
            url = self._url_for(endpoint)
        request_headers = {"Accept": "application/json"}
        if headers:
            request_headers.update(headers)
        request = HttpRequest(endpoint.method, url, request_headers, query, form)
        # One span per call (when the application traces), covering retries, the repeat after a
        # 401 and, as its children, the token requests the call needed.
        with call_span(request, endpoint.path, token_request=endpoint.sends_credentials) as span:
            if endpoint.requires_auth:
                response = self._send_authorized(request, endpoint, span)
            else:
                response = self._send(request, endpoint, span)
            return self._result(endpoint, response)

    def _send_authorized(
        self, request: HttpRequest, endpoint: Endpoint[Any], span: Optional[CallSpan] = None
    ) -> HttpResponse:
        """Drive the auth manager's flow: send each request it yields, hand it each response."""
        if self.auth is None:
            raise AuthValidationException("This endpoint needs OAuth 2 credentials and the client has none")
        flow = self.auth.auth_flow(request)
        try:
            request = next(flow)
            while True:
                response = self._send(request, endpoint, span)
                try:
                    request = flow.send(response)
                except StopIteration:
                    return response
        finally:
            flow.close()

    def _url_for(self, endpoint: Endpoint[Any]) -> str:
        url = self.config.get_base_uri(endpoint.server) + endpoint.path
        if (endpoint.requires_auth or endpoint.sends_credentials) and not self.config.allow_insecure_http:
            parts = urlsplit(url)
            if parts.scheme == "http" and not _is_loopback(parts.hostname):
                raise InsecureTransportException(url)
        self._urls[endpoint] = url
        return url

    def _send(self, request: HttpRequest, endpoint: Endpoint[Any], span: Optional[CallSpan] = None) -> HttpResponse:
        """Send with the retry policy; callbacks see every attempt (and ``span`` counts them).

        A request that carries credentials is never redirected: the password, client secret or
        refresh token must reach the configured server and no other, so a 3xx answer to it is an
        error here rather than a hop.
        """
        config = self.config
        callback = config.http_call_back
        debug = logger.isEnabledFor(logging.DEBUG)
        if endpoint.sends_credentials:
            request.follow_redirects = False
        attempt = 0
        while True:
            if callback is not None:
                callback.on_before_request(request)
            started = time.monotonic() if debug else 0.0
            if span is not None:
                span.attempts += 1
                span.status_code = None
            try:
                response = self.http_client.execute(request, timeout=config.timeout)
            except APIConnectionException as exc:
                if debug:
                    logger.debug("%s %s failed: %s", request.http_method, request.query_url, exc)
                delay = self._retry_delay(endpoint, attempt, None, exc)
                if delay is None:
                    raise
            else:
                if span is not None:
                    span.status_code = response.status_code
                if debug:
                    logger.debug(
                        "%s %s -> %s in %.1f ms headers=%s form=%s",
                        request.http_method,
                        request.query_url,
                        response.status_code,
                        (time.monotonic() - started) * 1000,
                        APIHelper.redact_mapping(request.headers),
                        APIHelper.redact_mapping(request.parameters),
                    )
                if callback is not None:
                    callback.on_after_response(response)
                if endpoint.sends_credentials and 300 <= response.status_code < 400:
                    location = APIHelper.clean_text(response.headers.get("Location"), 200)
                    raise APIException(
                        f"The token endpoint answered {response.status_code}"
                        + (f" (redirect to {location})" if location else "")
                        + "; token requests are never redirected, so credentials stay with the configured server",
                        response,
                    )
                delay = self._retry_delay(endpoint, attempt, response, None)
                if delay is None:
                    return response
            attempt += 1
            self._sleep(delay)

    def _retry_delay(
        self,
        endpoint: Endpoint[Any],
        attempt: int,
        response: Optional[HttpResponse],
        error: Optional[APIConnectionException],
    ) -> Optional[float]:
        """The whole retry policy: seconds to wait before the next attempt, or None to stop."""
        if not endpoint.retries:
            return None
        config = self.config
        max_retries = config.max_retries
        if endpoint.sends_credentials and response is not None and response.status_code in _TOKEN_RETRY_STATUSES:
            max_retries = max(max_retries, _TOKEN_MIN_RETRIES)
        if attempt >= max_retries:
            return None
        if error is not None:
            # Nothing reached the server: repeating is safe for any method. Otherwise only for
            # methods the caller declared retryable (never a token POST, whose outcome is unknown).
            retry = not error.request_sent or (
                endpoint.method in config.retry_methods and not endpoint.sends_credentials
            )
        elif response is None:
            return None
        elif endpoint.sends_credentials:
            retry = response.status_code in _TOKEN_RETRY_STATUSES
        else:
            retry = endpoint.method in config.retry_methods and response.status_code in config.retry_statuses
        if not retry:
            return None
        delay = _retry_after(response) if response is not None else None
        if delay is None:
            # Exponential back-off with jitter (half to all of each step), so clients do not retry in step.
            delay = config.backoff_factor * (2**attempt) * self._jitter()
        delay = min(delay, config.max_retry_wait)
        logger.debug(
            "Retrying %s %s in %.2fs (attempt %d of %d, %s)",
            endpoint.method,
            endpoint.path,
            delay,
            attempt + 1,
            max_retries,
            f"status {response.status_code}" if response is not None else type(error).__name__,
        )
        return delay

    def _result(self, endpoint: Endpoint[ModelT], response: HttpResponse) -> ModelT:
        status = response.status_code
        if 200 <= status < 300:
            try:
                body = response.json()
            except ValueError:
                body = None
            if not isinstance(body, dict):
                raise APIException(f"The response from {endpoint.path} is not a JSON object as expected", response)
            try:
                return endpoint.response_model.from_dictionary(body)
            except (TypeError, ValueError) as exc:
                # The model refused the body (a token without access_token...): the server's fault,
                # so an APIException with the answer attached, not the model's own error.
                model = endpoint.response_model.__name__
                raise APIException(
                    f"The response from {endpoint.path} is not a valid {model}: {exc}", response
                ) from exc
        raise _error_for(endpoint, response)


class BaseController:
    """What every controller shares: the client's call pipeline."""

    def __init__(self, pipeline: CallPipeline) -> None:
        self._pipeline = pipeline

    @property
    def config(self) -> Configuration:
        """The client's configuration."""
        return self._pipeline.config

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_uri={self._pipeline.config.get_base_uri()!r})"


def _error_for(endpoint: Endpoint[Any], response: HttpResponse) -> APIException:
    """The exception for an error answer: the endpoint's own class if it declares one, else the SDK-wide table's."""
    declared = endpoint.errors.get(response.status_code)
    if declared is None:
        return exception_class_for_status(response.status_code)("HTTP response not OK.", response)
    exception_class, reason = declared
    if issubclass(exception_class, OAuthProviderException):
        return exception_class.from_response(reason, response)  # the class of the body's error code
    return exception_class(reason, response)


def _retry_after(response: HttpResponse) -> Optional[float]:
    """``Retry-After`` in seconds, from either of its forms (RFC 9110 section 10.2.3)."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    if not _HTTP_DATE.match(value):
        return None  # "1.5", "-1", junk: not one of the two forms, so back off as usual
    from datetime import timezone

    from dateutil import parser as date_parser  # only on the retry path: keeps import time low

    try:
        when = date_parser.parse(value)
    except (ValueError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)  # HTTP dates are always GMT
    return max(0.0, when.timestamp() - time.time())


def _is_loopback(host: Optional[str]) -> bool:
    if not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
