"""What the token, ``/status`` and ``/user`` endpoints answer, apart from HTTP: shared by the server and the mock."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any, Optional, Protocol, Union
from urllib.parse import parse_qsl

from .faults import FaultAction
from .oauth import REALM, InvalidClient, OAuthError, authenticate_client, invalid_client, invalid_request, parse_form
from .state import FailureLockout
from .stats import Counters
from .tokens import AccessTokenExpired, IssuedTokens, RefreshTokenReused, TokenError, TokenStore

FORM_TYPE = "application/x-www-form-urlencoded"
ACCOUNT_LOCKED = "account is locked"
CLIENT_LOCKED = "client is locked"
NO_STORE = (("Cache-Control", "no-store"), ("Pragma", "no-cache"))

Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Reply:
    """A JSON response waiting to be sent."""

    status: int
    payload: Any
    headers: Headers = ()


class Refused(Exception):
    """Ends a request early with the reply it carries."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


class UserLike(Protocol):
    """A user as ``GET /user`` describes it."""

    @property
    def username(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def id(self) -> Optional[int]: ...


class Backend(Protocol):
    """The state the endpoints read and change: the server's, or the ``responses`` helper's."""

    tokens: TokenStore
    counters: Counters
    account_lockout: FailureLockout
    client_lockout: FailureLockout
    started_at: datetime
    os_name: str

    @property
    def client_id(self) -> str: ...

    @property
    def client_secret(self) -> str: ...

    @property
    def expires_in(self) -> Union[int, float]: ...

    @property
    def rotate_refresh_tokens(self) -> bool: ...

    @property
    def users(self) -> tuple[Any, ...]: ...

    def authenticate_user(self, username: str, password: str) -> Optional[Any]: ...

    def user(self, username: str) -> Optional[UserLike]: ...


def error_reply(status: int, error: str, description: str, headers: Headers = ()) -> Reply:
    """A reply with the ``{"error", "error_description"}`` body every error here uses."""
    return Reply(status, {"error": error, "error_description": description}, headers)


def invalid_request_reply(description: str) -> Reply:
    """A 400 ``invalid_request`` reply."""
    return error_reply(400, "invalid_request", description)


_FAULT_ERRORS = MappingProxyType(
    {
        FaultAction.UNAVAILABLE: (503, "temporarily_unavailable", "Injected fault: service unavailable"),
        FaultAction.RATE_LIMITED: (429, "too_many_requests", "Injected fault: too many requests"),
    }
)


def fault_reply(action: FaultAction, retry_after: str) -> Reply:
    """The 503 or 429 answer of an injected fault, with ``Retry-After``."""
    status, error, description = _FAULT_ERRORS[action]
    return error_reply(status, error, description, (("Retry-After", retry_after),) + NO_STORE)


def utc_iso(moment: datetime) -> str:
    """ISO-8601 UTC with a ``Z`` suffix."""
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


# grant_type -> the counter of token requests that sent it.
_GRANT_COUNTERS = MappingProxyType({"password": "password_grant_requests", "refresh_token": "refresh_grant_requests"})


def grant_type_of(body: bytes) -> Optional[str]:
    """The ``grant_type`` a token request body sent, read leniently (``None`` if unclear)."""
    try:
        pairs = parse_qsl(body.decode("utf-8", "replace"), max_num_fields=50)
    except ValueError:
        return None
    grants = [value for name, value in pairs if name == "grant_type"]
    return grants[0] if len(grants) == 1 else None


def count_token_request(counters: Counters, body: bytes) -> None:
    """Count a token request, and by grant where it sent a known one (before any fault applies)."""
    counters.increment("token_requests")
    counter = _GRANT_COUNTERS.get(grant_type_of(body) or "")
    if counter is not None:
        counters.increment(counter)


# -- token endpoint -----------------------------------------------------------------------------


def token_reply(backend: Backend, *, media_type: str, authorization: Optional[str], body: bytes) -> Reply:
    """Answer a token request (RFC 6749 §4.3 and §6).

    Args:
        backend: the state to read and change.
        media_type: the request's Content-Type without parameters, lower case.
        authorization: its ``Authorization`` header, if any.
        body: its body.
    """
    try:
        payload = _grant(backend, media_type, authorization, body)
    except OAuthError as exc:
        return oauth_error_reply(exc)
    return Reply(200, payload, NO_STORE)


def oauth_error_reply(error: OAuthError) -> Reply:
    """The RFC 6749 §5.2 answer to a refused token request."""
    return Reply(error.status, error.body(), error.headers + NO_STORE)


def _grant(backend: Backend, media_type: str, authorization: Optional[str], body: bytes) -> dict[str, Any]:
    if media_type != FORM_TYPE:
        raise invalid_request(f"The Content-Type must be {FORM_TYPE}")
    form = parse_form(body)
    client_id = _authenticate_client(backend, authorization, form)
    grant_type = form.get("grant_type")
    if grant_type == "password":
        issued = _password_grant(backend, form, client_id)
    elif grant_type == "refresh_token":
        issued = _refresh_grant(backend, form, client_id)
    elif grant_type is None:
        raise invalid_request("The grant_type parameter is required")
    else:
        raise OAuthError("unsupported_grant_type", f"The grant type {grant_type!r} is not supported")
    payload: dict[str, Any] = {
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "expires_in": backend.expires_in,
        "refresh_token": issued.refresh_token,
    }
    if "scope" in form:
        payload["scope"] = form["scope"]
    return payload


def _authenticate_client(backend: Backend, authorization: Optional[str], form: Mapping[str, str]) -> str:
    """The client's id once authenticated and not locked; counts failures towards its lockout."""
    counters, lockout = backend.counters, backend.client_lockout
    try:
        client_id = authenticate_client(authorization, form, backend.client_id, backend.client_secret)
    except InvalidClient as exc:
        counters.increment("client_authentication_failures")
        if exc.client_id is not None:
            if lockout.is_locked(exc.client_id):
                counters.increment("locked_client_refusals")
                raise invalid_client(CLIENT_LOCKED, client_id=exc.client_id) from exc
            if lockout.record_failure(exc.client_id):
                counters.increment("client_lockouts")
        raise
    if lockout.is_locked(client_id):
        counters.increment("client_authentication_failures")
        counters.increment("locked_client_refusals")
        raise invalid_client(CLIENT_LOCKED, client_id=client_id)
    lockout.record_success(client_id)
    return client_id


def _password_grant(backend: Backend, form: Mapping[str, str], client_id: str) -> IssuedTokens:
    username, password = form.get("username"), form.get("password")
    if username is None or password is None:
        raise invalid_request("The username and password parameters are required")
    counters, lockout = backend.counters, backend.account_lockout
    user = backend.authenticate_user(username, password)
    if lockout.is_locked(username):
        counters.increment("refused_password_grants")
        counters.increment("locked_account_refusals")
        raise OAuthError("invalid_grant", ACCOUNT_LOCKED)
    if user is None:
        counters.increment("refused_password_grants")
        # Only an account that exists can be locked, as on a real identity server.
        if backend.user(username) is not None and lockout.record_failure(username):
            counters.increment("account_lockouts")
        raise OAuthError("invalid_grant", "The username or password is wrong")
    lockout.record_success(username)
    issued = backend.tokens.issue(client_id, username)
    backend.counters.increment("password_grants")
    return issued


def _refresh_grant(backend: Backend, form: Mapping[str, str], client_id: str) -> IssuedTokens:
    refresh_token = form.get("refresh_token")
    if refresh_token is None:
        raise invalid_request("The refresh_token parameter is required")
    try:
        issued = backend.tokens.rotate(refresh_token, client_id, rotate=backend.rotate_refresh_tokens)
    except RefreshTokenReused as exc:
        backend.counters.increment("reused_refresh_tokens")
        raise OAuthError("invalid_grant", str(exc)) from exc
    except TokenError as exc:
        raise OAuthError("invalid_grant", str(exc)) from exc
    backend.counters.increment("refresh_grants")
    return issued


# -- API ----------------------------------------------------------------------------------------


def invalid_token_reply(description: str) -> Reply:
    """401 for an expired, revoked or unknown access token, with the RFC 6750 §3 challenge."""
    challenge = f'Bearer realm="{REALM}", error="invalid_token", error_description="{description}"'
    return error_reply(401, "invalid_token", description, (("WWW-Authenticate", challenge),))


def _bearer_user(backend: Backend, authorization: Optional[str]) -> str:
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        # RFC 6750 §3.1: a request without credentials gets a challenge with no error code.
        raise Refused(
            Reply(
                401,
                {"message": "Send an access token as 'Authorization: Bearer <token>'"},
                (("WWW-Authenticate", f'Bearer realm="{REALM}"'),),
            )
        )
    try:
        return backend.tokens.authenticate(token)
    except TokenError as exc:
        if isinstance(exc, AccessTokenExpired):
            backend.counters.increment("expired_access_tokens")
        raise Refused(invalid_token_reply(str(exc))) from exc


def status_reply(backend: Backend, authorization: Optional[str]) -> Reply:
    """Answer ``GET /status`` (a ``ServiceStatus``)."""
    try:
        _bearer_user(backend, authorization)
    except Refused as exc:
        return exc.reply
    return Reply(
        200,
        {
            "app": "MdNotes",
            "moto": "Notes made simple",
            "notes": 0,
            "users": len(backend.users),
            "time": utc_iso(datetime.now(timezone.utc)),
            "os": backend.os_name,
            "php_version": "n/a (python reference server)",
            "status": "ok",
        },
    )


def user_reply(backend: Backend, authorization: Optional[str]) -> Reply:
    """Answer ``GET /user`` (a ``User``: the token's owner)."""
    try:
        email = _bearer_user(backend, authorization)
    except Refused as exc:
        return exc.reply
    user = backend.user(email)
    if user is None:  # users are never removed, so a valid token always has its user
        return invalid_token_reply("The token's user no longer exists")
    created = utc_iso(backend.started_at)
    return Reply(200, {"id": user.id, "name": user.name, "email": email, "created_at": created, "updated_at": created})
