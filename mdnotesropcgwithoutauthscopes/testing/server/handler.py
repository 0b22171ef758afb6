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
from http.server import BaseHTTPRequestHandler
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, Optional
from urllib.parse import urlsplit

from .endpoints import (
    Refused,
    Reply,
    count_token_request,
    error_reply,
    fault_reply,
    grant_type_of,
    invalid_request_reply,
    status_reply,
    token_reply,
    user_reply,
)
from .faults import FaultAction

if TYPE_CHECKING:
    from .server import MdNotesServer

BASE_PATHS = ("/oauth2/non-auth-server", "/oauth2/auth-server")
JSON_TYPE = "application/json;charset=UTF-8"
MAX_BODY = 1 << 20


class RouteKind(enum.Enum):
    """Route families: the token endpoint, the API (faults apply to both) and the admin API."""

    TOKEN = "token"
    API = "api"
    ADMIN = "admin"


@dataclass(frozen=True)
class Route:
    """One path: the method it answers, the handler method that serves it, and its own counter."""

    method: str
    action: str
    kind: RouteKind
    counter: Optional[str] = None


def _build_routes() -> Mapping[str, Route]:
    routes = {}
    for base in BASE_PATHS:
        routes[f"{base}/token"] = Route("POST", "_token", RouteKind.TOKEN)
        routes[f"{base}/status"] = Route("GET", "_status", RouteKind.API, "status_requests")
        routes[f"{base}/user"] = Route("GET", "_user", RouteKind.API, "user_requests")
    routes["/_admin/faults"] = Route("POST", "_admin_faults", RouteKind.ADMIN)
    routes["/_admin/reset"] = Route("POST", "_admin_reset", RouteKind.ADMIN)
    routes["/_admin/stats"] = Route("GET", "_admin_stats", RouteKind.ADMIN)
    routes["/_admin/revoke"] = Route("POST", "_admin_revoke", RouteKind.ADMIN)
    routes["/_admin/lockouts"] = Route("GET", "_admin_lockouts", RouteKind.ADMIN)
    return MappingProxyType(routes)


ROUTES = _build_routes()

# An injected fault's action -> the counter of token requests it hit.
_TOKEN_FAULT_COUNTERS = MappingProxyType(
    {
        FaultAction.DROP: "dropped_token_requests",
        FaultAction.UNAVAILABLE: "injected_token_503s",
        FaultAction.RATE_LIMITED: "injected_token_429s",
    }
)

_TOO_LARGE = error_reply(413, "invalid_request", f"The request body is larger than {MAX_BODY} bytes")


def is_loopback(address: str) -> bool:
    """Whether a client address is a loopback address (IPv4, IPv6 or IPv4-mapped IPv6)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


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
        return self.server.app  # type: ignore[attr-defined,no-any-return]

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
        except Refused as exc:
            # The rest of the body is still unread, so this connection cannot carry another request.
            self.close_connection = True
            self._send(exc.reply)
            return
        route = ROUTES.get(urlsplit(self.path).path)
        if route is not None and route.kind is RouteKind.ADMIN:
            reply: Optional[Reply] = self._admin_reply(route, body)
        else:
            reply = self._public_reply(route, body)
            if route is not None and route.kind is RouteKind.TOKEN:
                # Counted before answering, so a client reading stats() right after sees it.
                counters = self.app.counters
                counters.count_token_response(grant_type_of(body), "dropped" if reply is None else str(reply.status))
                if reply is None or reply.status != 200:
                    counters.increment("failed_token_requests")
        if reply is None:
            self._drop_connection()
        else:
            self._send(reply)

    def _public_reply(self, route: Optional[Route], body: bytes) -> Optional[Reply]:
        """The reply for a token or API request after faults apply; ``None`` drops the connection."""
        if route is None:
            return self._reply(None, body)
        counters = self.app.counters
        token = route.kind is RouteKind.TOKEN
        if token:
            count_token_request(counters, body)
        else:
            counters.increment("api_requests")
            if route.counter is not None:
                counters.increment(route.counter)
        fault = self.app.faults.decide(token=token)
        if token and fault.action is not FaultAction.NONE:
            counters.increment(_TOKEN_FAULT_COUNTERS[fault.action])
        if fault.latency:
            if token:
                counters.increment("delayed_token_requests")
            time.sleep(fault.latency)
        if fault.action is FaultAction.DROP:
            return None
        if fault.action is not FaultAction.NONE:
            return fault_reply(fault.action, fault.retry_after)
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
        except Refused as exc:
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
            raise Refused(invalid_request_reply("Content-Length is not a number"))
        if int(length) > MAX_BODY:
            raise Refused(_TOO_LARGE)
        return self.rfile.read(int(length))

    def _read_chunked(self) -> bytes:
        chunks = []
        total = 0
        while True:
            size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise Refused(invalid_request_reply("Malformed chunked body")) from None
            if size == 0:
                break
            total += size
            if total > MAX_BODY:
                raise Refused(_TOO_LARGE)
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

    # -- token endpoint and API: the answers themselves live in endpoints.py ---------------------

    def _token(self, body: bytes) -> Reply:
        return token_reply(
            self.app,
            media_type=self.headers.get_content_type(),
            authorization=self.headers.get("Authorization"),
            body=body,
        )

    def _status(self, body: bytes) -> Reply:
        return status_reply(self.app, self.headers.get("Authorization"))

    def _user(self, body: bytes) -> Reply:
        return user_reply(self.app, self.headers.get("Authorization"))

    # -- admin API (only routed when faults are enabled, and only for loopback clients) ---------

    def _admin_faults(self, body: bytes) -> Reply:
        try:
            settings = json.loads(body or b"{}")
        except ValueError:
            settings = None
        if not isinstance(settings, dict):
            raise Refused(invalid_request_reply("The body must be a JSON object of fault settings"))
        try:
            self.app.set_faults(**settings)
        except (TypeError, ValueError) as exc:
            raise Refused(invalid_request_reply(str(exc))) from exc
        return Reply(200, {"faults": asdict(self.app.faults.settings)})

    def _admin_reset(self, body: bytes) -> Reply:
        self.app.clear_faults()
        self.app.reset_stats()
        self.app.reset_lockouts()
        return Reply(200, {"status": "ok"})

    def _admin_stats(self, body: bytes) -> Reply:
        return Reply(200, self.app.stats())

    def _admin_revoke(self, body: bytes) -> Reply:
        return Reply(200, {"revoked": self.app.revoke_all_tokens()})

    def _admin_lockouts(self, body: bytes) -> Reply:
        return Reply(
            200,
            {"locked_accounts": list(self.app.locked_accounts()), "locked_clients": list(self.app.locked_clients())},
        )
