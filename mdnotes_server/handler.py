"""HTTP request handler: routing, the OAuth token endpoint, the API and the admin API."""

from __future__ import annotations

import enum
import ipaddress
import json
import socket
import time
import traceback
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, Optional
from urllib.parse import urlsplit

from .faults import FaultAction, FaultDecision
from .oauth import REALM, OAuthError, authenticate_client, equal_secret, invalid_request, parse_form
from .tokens import IssuedTokens, TokenError

if TYPE_CHECKING:
    from .server import MdNotesServer

BASE_PATHS = ("/oauth2/non-auth-server", "/oauth2/auth-server")
JSON_TYPE = "application/json;charset=UTF-8"
FORM_TYPE = "application/x-www-form-urlencoded"
NO_STORE = (("Cache-Control", "no-store"), ("Pragma", "no-cache"))
MAX_BODY = 1 << 20

Headers = tuple[tuple[str, str], ...]


class RouteKind(enum.Enum):
    """Route families; the value is the stats counter a request to the route bumps."""

    TOKEN = "token_requests"
    API = "api_requests"
    ADMIN = None


@dataclass(frozen=True)
class Route:
    """One path: the method it answers and the handler method that serves it."""

    method: str
    action: str
    kind: RouteKind


@dataclass(frozen=True)
class Reply:
    """A JSON response waiting to be sent."""

    status: int
    payload: Any
    headers: Headers = ()


class _Refused(Exception):
    """Ends a request early with the reply it carries."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


def _build_routes() -> Mapping[str, Route]:
    routes = {}
    for base in BASE_PATHS:
        routes[f"{base}/token"] = Route("POST", "_token", RouteKind.TOKEN)
        routes[f"{base}/status"] = Route("GET", "_status", RouteKind.API)
        routes[f"{base}/user"] = Route("GET", "_user", RouteKind.API)
    routes["/_admin/faults"] = Route("POST", "_admin_faults", RouteKind.ADMIN)
    routes["/_admin/reset"] = Route("POST", "_admin_reset", RouteKind.ADMIN)
    routes["/_admin/stats"] = Route("GET", "_admin_stats", RouteKind.ADMIN)
    routes["/_admin/revoke"] = Route("POST", "_admin_revoke", RouteKind.ADMIN)
    return MappingProxyType(routes)


ROUTES = _build_routes()

_FAULT_ERRORS = MappingProxyType(
    {
        FaultAction.UNAVAILABLE: (503, "temporarily_unavailable", "Injected fault: service unavailable"),
        FaultAction.RATE_LIMITED: (429, "too_many_requests", "Injected fault: too many requests"),
    }
)


def error_reply(status: int, error: str, description: str, headers: Headers = ()) -> Reply:
    """A reply with the ``{"error", "error_description"}`` body every error here uses."""
    return Reply(status, {"error": error, "error_description": description}, headers)


def invalid_request_reply(description: str) -> Reply:
    """A 400 ``invalid_request`` reply."""
    return error_reply(400, "invalid_request", description)


_TOO_LARGE = error_reply(413, "invalid_request", f"The request body is larger than {MAX_BODY} bytes")


def is_loopback(address: str) -> bool:
    """Whether a client address is a loopback address (IPv4, IPv6 or IPv4-mapped IPv6)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


def utc_iso(moment: datetime) -> str:
    """ISO-8601 UTC with a ``Z`` suffix."""
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


class RequestHandler(BaseHTTPRequestHandler):
    """Serves one connection; keep-alive lets it serve many requests in turn."""

    protocol_version = "HTTP/1.1"
    server_version = "MdNotesReference/1.0"
    # An idle keep-alive connection gives its thread back after this long.
    timeout = 120.0
    # Headers and body go out in two writes; with Nagle's algorithm the second waits for the
    # client's delayed ACK (40 ms on Linux) on every keep-alive request.
    disable_nagle_algorithm = True

    @property
    def app(self) -> "MdNotesServer":
        """The server whose state this request reads and changes."""
        app: MdNotesServer = self.server.app  # type: ignore[attr-defined]
        return app

    def do_GET(self) -> None:  # noqa: N802 - BaseHTTPRequestHandler's naming
        """Serve any method: routing decides what is allowed where."""
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        """Log only with ``--verbose``: a per-request line on stderr drowns test output."""
        if self.app.config.verbose:
            super().log_message(format, *args)

    # -- dispatch -------------------------------------------------------------------------------

    def _dispatch(self) -> None:
        try:
            body = self._read_body()
        except _Refused as exc:
            # The rest of the body is still unread, so this connection cannot carry another request.
            self.close_connection = True
            self._send(exc.reply)
            return
        route = ROUTES.get(urlsplit(self.path).path)
        if route is not None and route.kind is RouteKind.ADMIN:
            reply: Optional[Reply] = self._admin_reply(route, body)
        else:
            reply = self._public_reply(route, body)
            if route is not None and route.kind is RouteKind.TOKEN and (reply is None or reply.status != 200):
                # Counted before answering, so a client reading stats() right after sees it.
                self.app.counters.increment("failed_token_requests")
        if reply is None:
            self._drop_connection()
        else:
            self._send(reply)

    def _public_reply(self, route: Optional[Route], body: bytes) -> Optional[Reply]:
        """The reply for a token or API request after faults apply; ``None`` drops the connection."""
        if route is None:
            return self._reply(None, body)
        self.app.counters.increment(route.kind.value)
        fault = self.app.faults.decide()
        if fault.latency:
            time.sleep(fault.latency)
        if fault.action is FaultAction.DROP:
            return None
        if fault.action is not FaultAction.NONE:
            return self._fault_reply(fault)
        return self._reply(route, body)

    def _admin_reply(self, route: Route, body: bytes) -> Reply:
        if not self.app.config.enable_faults:
            return self._reply(None, body)
        if not is_loopback(self.client_address[0]):
            return error_reply(403, "forbidden", "The admin API only answers loopback clients")
        return self._reply(route, body)

    def _reply(self, route: Optional[Route], body: bytes) -> Reply:
        if route is None:
            return error_reply(404, "not_found", f"Nothing at {urlsplit(self.path).path}")
        if self.command != route.method:
            allow = (("Allow", route.method),)
            return error_reply(405, "method_not_allowed", f"Use {route.method} here", allow)
        action: Callable[[bytes], Reply] = getattr(self, route.action)
        try:
            return action(body)
        except _Refused as exc:
            return exc.reply
        except Exception:  # noqa: BLE001 - a bug in this server: answer 500 and keep serving
            traceback.print_exc()
            return error_reply(500, "server_error", "Unexpected server error")

    # -- wire -----------------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        if not length.strip().isdigit():
            raise _Refused(invalid_request_reply("Content-Length is not a number"))
        if int(length) > MAX_BODY:
            raise _Refused(_TOO_LARGE)
        return self.rfile.read(int(length))

    def _read_chunked(self) -> bytes:
        chunks = []
        total = 0
        while True:
            size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise _Refused(invalid_request_reply("Malformed chunked body")) from None
            if size == 0:
                break
            total += size
            if total > MAX_BODY:
                raise _Refused(_TOO_LARGE)
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)  # the CRLF after each chunk
        while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
            pass  # trailers carry nothing this server uses
        return b"".join(chunks)

    def _send(self, reply: Reply) -> None:
        body = json.dumps(reply.payload).encode("utf-8")
        self.send_response(reply.status)
        self.send_header("Content-Type", JSON_TYPE)
        self.send_header("Content-Length", str(len(body)))
        for name, value in reply.headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _drop_connection(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # the client may have gone already; dropped is dropped

    @staticmethod
    def _fault_reply(fault: FaultDecision) -> Reply:
        status, error, description = _FAULT_ERRORS[fault.action]
        return error_reply(status, error, description, (("Retry-After", fault.retry_after),) + NO_STORE)

    # -- token endpoint -------------------------------------------------------------------------

    def _token(self, body: bytes) -> Reply:
        try:
            payload = self._grant(body)
        except OAuthError as exc:
            return Reply(exc.status, exc.body(), exc.headers + NO_STORE)
        return Reply(200, payload, NO_STORE)

    def _grant(self, body: bytes) -> dict[str, Any]:
        config = self.app.config
        if self.headers.get_content_type() != FORM_TYPE:
            raise invalid_request(f"The Content-Type must be {FORM_TYPE}")
        form = parse_form(body)
        client_id = authenticate_client(self.headers.get("Authorization"), form, config.client_id, config.client_secret)
        grant_type = form.get("grant_type")
        if grant_type == "password":
            issued = self._password_grant(form, client_id)
        elif grant_type == "refresh_token":
            issued = self._refresh_grant(form, client_id)
        elif grant_type is None:
            raise invalid_request("The grant_type parameter is required")
        else:
            raise OAuthError("unsupported_grant_type", f"The grant type {grant_type!r} is not supported")
        payload: dict[str, Any] = {
            "access_token": issued.access_token,
            "token_type": "Bearer",
            "expires_in": config.expires_in,
            "refresh_token": issued.refresh_token,
        }
        if "scope" in form:
            payload["scope"] = form["scope"]
        return payload

    def _password_grant(self, form: Mapping[str, str], client_id: str) -> IssuedTokens:
        config = self.app.config
        username, password = form.get("username"), form.get("password")
        if username is None or password is None:
            raise invalid_request("The username and password parameters are required")
        if not (equal_secret(username, config.username) & equal_secret(password, config.password)):
            raise OAuthError("invalid_grant", "The username or password is wrong")
        issued = self.app.tokens.issue(client_id, username)
        self.app.counters.increment("password_grants")
        return issued

    def _refresh_grant(self, form: Mapping[str, str], client_id: str) -> IssuedTokens:
        refresh_token = form.get("refresh_token")
        if refresh_token is None:
            raise invalid_request("The refresh_token parameter is required")
        try:
            issued = self.app.tokens.rotate(refresh_token, client_id)
        except TokenError as exc:
            raise OAuthError("invalid_grant", str(exc)) from exc
        self.app.counters.increment("refresh_grants")
        return issued

    # -- API ------------------------------------------------------------------------------------

    def _bearer_user(self) -> str:
        scheme, _, token = (self.headers.get("Authorization") or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            # RFC 6750 §3.1: a request without credentials gets a challenge with no error code.
            raise _Refused(
                Reply(
                    401,
                    {"message": "Send an access token as 'Authorization: Bearer <token>'"},
                    (("WWW-Authenticate", f'Bearer realm="{REALM}"'),),
                )
            )
        try:
            return self.app.tokens.authenticate(token)
        except TokenError as exc:
            challenge = f'Bearer realm="{REALM}", error="invalid_token", error_description="{exc}"'
            reply = error_reply(401, "invalid_token", str(exc), (("WWW-Authenticate", challenge),))
            raise _Refused(reply) from exc

    def _status(self, body: bytes) -> Reply:
        self._bearer_user()
        return Reply(
            200,
            {
                "app": "MdNotes",
                "moto": "Notes made simple",
                "notes": 0,
                "users": 1,
                "time": utc_iso(datetime.now(timezone.utc)),
                "os": self.app.os_name,
                "php_version": "n/a (python reference server)",
                "status": "ok",
            },
        )

    def _user(self, body: bytes) -> Reply:
        email = self._bearer_user()
        created = utc_iso(self.app.started_at)
        return Reply(200, {"id": 1, "name": "Demo User", "email": email, "created_at": created, "updated_at": created})

    # -- admin API (only routed when faults are enabled, and only for loopback clients) ---------

    def _admin_faults(self, body: bytes) -> Reply:
        try:
            settings = json.loads(body or b"{}")
        except ValueError:
            settings = None
        if not isinstance(settings, dict):
            raise _Refused(invalid_request_reply("The body must be a JSON object of fault settings"))
        try:
            self.app.set_faults(**settings)
        except (TypeError, ValueError) as exc:
            raise _Refused(invalid_request_reply(str(exc))) from exc
        return Reply(200, {"faults": asdict(self.app.faults.settings)})

    def _admin_reset(self, body: bytes) -> Reply:
        self.app.clear_faults()
        self.app.reset_stats()
        return Reply(200, {"status": "ok"})

    def _admin_stats(self, body: bytes) -> Reply:
        return Reply(200, self.app.stats())

    def _admin_revoke(self, body: bytes) -> Reply:
        return Reply(200, {"revoked": self.app.revoke_all_tokens()})
