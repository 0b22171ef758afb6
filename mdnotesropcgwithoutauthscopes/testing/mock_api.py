"""``MdNotesResponses``: the token, ``/status`` and ``/user`` endpoints mocked with ``responses`` for unit tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Optional, Union

from .server.config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_PASSWORD,
    DEFAULT_TOKEN_LIFETIME,
    DEFAULT_USERNAME,
    ServerConfig,
    ServerUser,
    users_tuple,
)
from .server.endpoints import (
    Reply,
    count_token_request,
    fault_reply,
    grant_type_of,
    oauth_error_reply,
    status_reply,
    token_reply,
    user_reply,
)
from .server.faults import FaultAction, FaultSettings, RetryAfter
from .server.oauth import OAuthError, invalid_client
from .server.state import ServerState
from .server.stats import ENDPOINT_STAT_NAMES, EndpointStats

if TYPE_CHECKING:
    import responses
    from requests import PreparedRequest

INSTALL_HINT = (
    "MdNotesResponses needs the 'responses' package, which the SDK does not install: "
    "pip install responses (or pip install 'mdnotesropcgwithoutauthscopes[testing]')"
)
ENDPOINTS = ("token", "status", "user")
_JSON_HEADERS = {"Content-Type": "application/json;charset=UTF-8"}

_CallbackResult = Union[Exception, tuple[int, dict[str, str], str]]


def _new_requests_mock() -> responses.RequestsMock:
    try:
        import responses
    except ImportError as exc:
        raise ModuleNotFoundError(INSTALL_HINT, name="responses") from exc
    return responses.RequestsMock(assert_all_requests_are_fired=False)


@dataclass
class _Scripted:
    """An answer queued by a ``script_*`` method: for which requests, what, and how many more times."""

    endpoint: Optional[str]  # None: any of ENDPOINTS
    grant_type: Optional[str]  # token requests only: None matches any grant
    reply: Optional[Reply]  # None: the connection fails
    times: int

    def matches(self, endpoint: str, grant_type: Optional[str]) -> bool:
        return self.endpoint in (None, endpoint) and self.grant_type in (None, grant_type)


def _check_times(times: object) -> int:
    if isinstance(times, bool) or not isinstance(times, int):
        raise TypeError(f"times must be an int, not {type(times).__name__}")
    if times < 1:
        raise ValueError("times must be at least 1")
    return times


def _check_endpoint(endpoint: Optional[str]) -> Optional[str]:
    if endpoint is not None and endpoint not in ENDPOINTS:
        raise ValueError(f"endpoint must be one of {', '.join(ENDPOINTS)} or None, not {endpoint!r}")
    return endpoint


def _body_bytes(body: Union[str, bytes, None]) -> bytes:
    if body is None:
        return b""
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def _media_type(content_type: Optional[str]) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


class MdNotesResponses(ServerState):
    """The MdNotes token, ``/status`` and ``/user`` endpoints on a base URI, answered by ``responses``.

    The answers are the reference server's own (the same OAuth checks, token rotation, error
    bodies and ``WWW-Authenticate`` challenges), without a socket. Use it as a context manager::

        with MdNotesResponses() as api:
            client = client_for(api)
            client.service.get_status()
            assert api.stats()["password_grants"] == 1

    Args:
        base_uri: where to answer (default: the SDK's default ``base_uri``, so a client built
            without one reaches it).
        token_lifetime: ``expires_in`` of issued tokens, in seconds.
        client_id: the OAuth client id it accepts.
        client_secret: its secret.
        username: the first user's username.
        password: the first user's password.
        users: more users, as ``ServerUser`` values.
        rotate_refresh_tokens: as in ``MdNotesServer``.
        requests_mock: a ``responses.RequestsMock`` to register on (for example one the test
            already uses); it is not started or stopped here. Default: a new one of its own,
            started on entry and stopped on exit.

    Raises:
        ModuleNotFoundError: ``responses`` is not installed.
        TypeError, ValueError: a setting is invalid.
    """

    def __init__(
        self,
        *,
        base_uri: Optional[str] = None,
        token_lifetime: float = DEFAULT_TOKEN_LIFETIME,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        users: Sequence[ServerUser] = (),
        rotate_refresh_tokens: bool = True,
        requests_mock: Optional[responses.RequestsMock] = None,
    ) -> None:
        config = ServerConfig(
            token_lifetime=token_lifetime,
            client_id=client_id,
            client_secret=client_secret,
            username=username,
            password=password,
            users=users_tuple(users),
            rotate_refresh_tokens=rotate_refresh_tokens,
        )
        super().__init__(config, ENDPOINT_STAT_NAMES)
        if base_uri is None:
            from ..configuration import Configuration

            base_uri = Configuration().get_base_uri()
        if not isinstance(base_uri, str) or not base_uri.startswith(("http://", "https://")):
            raise ValueError(f"base_uri must be an http:// or https:// URL, not {base_uri!r}")
        self._base_uri = base_uri.rstrip("/")
        self._owns_mock = requests_mock is None
        self._mock = _new_requests_mock() if requests_mock is None else requests_mock
        self._script: list[_Scripted] = []
        self._script_lock = threading.Lock()
        self._registered: list[responses.BaseResponse] = []

    # -- where ------------------------------------------------------------------------------------

    @property
    def base_uri(self) -> str:
        """The base URI it answers on (pass it as the client's ``base_uri``)."""
        return self._base_uri

    @property
    def token_url(self) -> str:
        """``{base_uri}/token``."""
        return self._base_uri + "/token"

    @property
    def status_url(self) -> str:
        """``{base_uri}/status``."""
        return self._base_uri + "/status"

    @property
    def user_url(self) -> str:
        """``{base_uri}/user``."""
        return self._base_uri + "/user"

    @property
    def requests_mock(self) -> responses.RequestsMock:
        """The ``responses.RequestsMock`` it registers on (its ``calls`` record every request)."""
        return self._mock

    @property
    def calls(self) -> responses.CallList:
        """Every request the mock saw, with its response: ``calls[0].request.headers`` and so on."""
        return self._mock.calls

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> MdNotesResponses:
        """Register the three endpoints (and start its own mock, if it has one).

        Raises:
            RuntimeError: it was started already.
        """
        if self._registered:
            raise RuntimeError("MdNotesResponses is started already")
        self._registered = [
            self._mock.add_callback("POST", self.token_url, callback=self._on_token, content_type=None),
            self._mock.add_callback("GET", self.status_url, callback=self._on_status, content_type=None),
            self._mock.add_callback("GET", self.user_url, callback=self._on_user, content_type=None),
        ]
        if self._owns_mock:
            self._mock.start()
        return self

    def stop(self) -> None:
        """Stop its own mock, or remove the endpoints from the one it was given; safe to call twice."""
        registered, self._registered = self._registered, []
        if not registered:
            return
        if self._owns_mock:
            self._mock.stop()
            self._mock.reset()
        else:
            for response in registered:
                self._mock.remove(response)

    def __enter__(self) -> MdNotesResponses:
        return self.start()

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<MdNotesResponses {self._base_uri}>"

    # -- counters ---------------------------------------------------------------------------------

    def stats(self) -> EndpointStats:
        """Counters since creation or the last ``reset_stats()`` (see ``EndpointStats``)."""
        return self.counters.endpoint_stats()

    # -- scripted errors --------------------------------------------------------------------------

    def script_wrong_password(self, times: int = 1) -> None:
        """Answer the next ``times`` password grants 400 ``invalid_grant``, as for a wrong password.

        Raises:
            TypeError, ValueError: ``times`` is not a positive int.
        """
        reply = oauth_error_reply(OAuthError("invalid_grant", "The username or password is wrong"))
        self._queue(_Scripted("token", "password", reply, _check_times(times)))

    def script_invalid_client(self, times: int = 1) -> None:
        """Answer the next ``times`` token requests 401 ``invalid_client`` with ``WWW-Authenticate: Basic``.

        Raises:
            TypeError, ValueError: ``times`` is not a positive int.
        """
        reply = oauth_error_reply(invalid_client("Client authentication failed"))
        self._queue(_Scripted("token", None, reply, _check_times(times)))

    def script_unavailable(
        self, times: int = 1, *, retry_after: RetryAfter = None, endpoint: Optional[str] = None
    ) -> None:
        """Answer the next ``times`` requests 503 with ``Retry-After``.

        Args:
            times: how many requests.
            retry_after: the ``Retry-After`` value (seconds or an HTTP date); ``None`` sends 1.
            endpoint: only requests to ``"token"``, ``"status"`` or ``"user"``; ``None``: any.

        Raises:
            TypeError, ValueError: a value is invalid.
        """
        self._script_fault(FaultAction.UNAVAILABLE, times, retry_after, endpoint)

    def script_rate_limited(
        self, times: int = 1, *, retry_after: RetryAfter = None, endpoint: Optional[str] = None
    ) -> None:
        """Answer the next ``times`` requests 429 with ``Retry-After`` (arguments as ``script_unavailable``).

        Raises:
            TypeError, ValueError: a value is invalid.
        """
        self._script_fault(FaultAction.RATE_LIMITED, times, retry_after, endpoint)

    def script_connection_error(self, times: int = 1, *, endpoint: Optional[str] = None) -> None:
        """Fail the next ``times`` requests with a connection error, as a dropped connection would.

        Raises:
            TypeError, ValueError: a value is invalid.
        """
        self._queue(_Scripted(_check_endpoint(endpoint), None, None, _check_times(times)))

    def script_reply(
        self,
        endpoint: str,
        status: int,
        payload: object,
        *,
        headers: Sequence[tuple[str, str]] = (),
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests to ``endpoint`` with this status and JSON body.

        Raises:
            TypeError, ValueError: a value is invalid.
        """
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise ValueError(f"status must be an HTTP status code, not {status!r}")
        endpoint = _check_endpoint(endpoint) or ""
        if not endpoint:
            raise ValueError("script_reply needs an endpoint")
        json.dumps(payload)  # fail here, not inside the request, if it is not JSON
        self._queue(_Scripted(endpoint, None, Reply(status, payload, tuple(headers)), _check_times(times)))

    def clear_script(self) -> None:
        """Forget every scripted answer not used yet."""
        with self._script_lock:
            self._script.clear()

    def _script_fault(self, action: FaultAction, times: int, retry_after: RetryAfter, endpoint: Optional[str]) -> None:
        header = FaultSettings(retry_after=retry_after).retry_after_header
        self._queue(_Scripted(_check_endpoint(endpoint), None, fault_reply(action, header), _check_times(times)))

    def _queue(self, scripted: _Scripted) -> None:
        with self._script_lock:
            self._script.append(scripted)

    def _take(self, endpoint: str, grant_type: Optional[str]) -> Optional[_Scripted]:
        """Use up one scripted answer for this request, if one applies."""
        with self._script_lock:
            for index, scripted in enumerate(self._script):
                if scripted.matches(endpoint, grant_type if endpoint == "token" else None):
                    scripted.times -= 1
                    if not scripted.times:
                        del self._script[index]
                    return scripted
        return None

    # -- the responses callbacks ------------------------------------------------------------------

    def _on_token(self, request: PreparedRequest) -> _CallbackResult:
        body = _body_bytes(request.body)
        count_token_request(self.counters, body)
        scripted = self._take("token", grant_type_of(body))
        if scripted is not None:
            reply = scripted.reply
        else:
            reply = token_reply(
                self,
                media_type=_media_type(request.headers.get("Content-Type")),
                authorization=request.headers.get("Authorization"),
                body=body,
            )
        if reply is None or reply.status != 200:
            self.counters.increment("failed_token_requests")
        return _answer(reply)

    def _on_status(self, request: PreparedRequest) -> _CallbackResult:
        return self._on_api("status", request)

    def _on_user(self, request: PreparedRequest) -> _CallbackResult:
        return self._on_api("user", request)

    def _on_api(self, endpoint: str, request: PreparedRequest) -> _CallbackResult:
        self.counters.increment("api_requests")
        self.counters.increment(f"{endpoint}_requests")
        scripted = self._take(endpoint, None)
        if scripted is not None:
            return _answer(scripted.reply)
        answer = status_reply if endpoint == "status" else user_reply
        return _answer(answer(self, request.headers.get("Authorization")))


def _answer(reply: Optional[Reply]) -> _CallbackResult:
    """What a ``responses`` callback returns for a reply; ``None`` is a failed connection."""
    if reply is None:
        from requests.exceptions import ConnectionError as RequestsConnectionError

        return RequestsConnectionError("Connection aborted: MdNotesResponses dropped it as scripted")
    headers = dict(_JSON_HEADERS)
    headers.update(reply.headers)
    return reply.status, headers, json.dumps(reply.payload)
