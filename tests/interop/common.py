"""Identities, in-memory token store, payloads and WSGI runner shared by the interop servers."""

from __future__ import annotations

import hmac
import io
import platform
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import parse_qs

from werkzeug.serving import make_server

BASE_PATH = "/oauth2/non-auth-server"
TOKEN_PATH = BASE_PATH + "/token"

# Every character RFC 6749 §2.3.1 form-encoding exists for: a naive Basic
# header breaks on ':' (split), '+' (space), '%' (escape), '/' and non-ASCII.
CLIENT_ID = "interop:client+id%/é"
CLIENT_SECRET = "s3cr:et+/%ü pass"
USERNAME = "interop-user"
PASSWORD = "correct horse:battery"

USER = {
    "id": 1,
    "name": "Interop User",
    "email": "interop-user@example.test",
    "created_at": "2024-01-01T00:00:00Z",
    "updated_at": "2024-01-02T00:00:00Z",
}


def status_payload():
    """Body of GET /status, shaped like the SDK's ServiceStatus model."""
    return {
        "app": "MdNotes",
        "moto": "Note it down, interop edition",
        "notes": 0,
        "users": 1,
        "time": datetime.now(timezone.utc).isoformat(),
        "os": platform.system(),
        "php_version": "n/a",
        "status": "ok",
    }


def user_payload():
    """Body of GET /user, shaped like the SDK's User model."""
    return dict(USER)


def _same(given, expected):
    # Constant-time comparison, as a real server would do.
    return given is not None and hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


@dataclass
class IssuedToken:
    """One token pair as the server stored it."""

    access_token: str
    refresh_token: str | None
    client_id: str
    user_id: int
    scope: str
    expires_at: float
    refresh_revoked: bool = False

    def is_expired(self):
        return time.time() >= self.expires_at


@dataclass
class Exchange:
    """One HTTP exchange as the server saw it, kept to explain failing assertions."""

    method: str
    path: str
    authorization: str | None
    content_type: str | None
    accept: str | None
    body: str
    status: str = ""
    response_body: str = ""
    response_headers: dict = field(default_factory=dict)  # names in lower case

    @property
    def status_code(self):
        """The status as a number (``status`` is the status line's "401 UNAUTHORIZED"); None before the answer."""
        return int(self.status.split()[0]) if self.status else None

    def __str__(self):
        challenge = self.response_headers.get("www-authenticate")
        return (
            f"{self.method} {self.path} Authorization={self.authorization!r} body={self.body!r}"
            f" -> {self.status}{f' WWW-Authenticate={challenge!r}' if challenge else ''} {self.response_body}"
        )


@dataclass
class ServerState:
    """What both interop servers know: the one client, the one user, issued tokens and counters."""

    token_lifetime: int = 3600
    rotate_refresh_tokens: bool = True
    tokens_by_access: dict = field(default_factory=dict)
    tokens_by_refresh: dict = field(default_factory=dict)
    token_requests: Counter = field(default_factory=Counter)
    exchanges: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def token_request_count(self):
        return sum(self.token_requests.values())

    def check_client(self, client_id, client_secret):
        return _same(client_id, CLIENT_ID) and _same(client_secret, CLIENT_SECRET)

    def check_password(self, username, password):
        """Return the user for good credentials, else None."""
        if _same(username, USERNAME) and _same(password, PASSWORD):
            return dict(USER)
        return None

    def save_token(self, token, client_id, user_id):
        issued = IssuedToken(
            access_token=token["access_token"],
            refresh_token=token.get("refresh_token"),
            client_id=client_id,
            user_id=user_id,
            scope=token.get("scope") or "",
            expires_at=time.time() + float(token["expires_in"]),
        )
        with self.lock:
            self.tokens_by_access[issued.access_token] = issued
            if issued.refresh_token:
                self.tokens_by_refresh[issued.refresh_token] = issued
        return issued

    def find_access(self, access_token):
        """The stored token for an access token, expired or not; None when unknown."""
        with self.lock:
            return self.tokens_by_access.get(access_token)

    def find_refresh(self, refresh_token):
        """The stored token for a refresh token that is still usable; None otherwise."""
        with self.lock:
            issued = self.tokens_by_refresh.get(refresh_token)
        if issued is None or issued.refresh_revoked:
            return None
        return issued

    def revoke_refresh(self, refresh_token):
        with self.lock:
            issued = self.tokens_by_refresh.get(refresh_token)
            if issued is not None:
                issued.refresh_revoked = True

    def latest_token(self):
        with self.lock:
            return list(self.tokens_by_access.values())[-1]

    def describe_exchanges(self):
        """All exchanges, one per line, for assertion messages."""
        with self.lock:
            return "\n".join(str(exchange) for exchange in self.exchanges)


def recording(app, state):
    """WSGI middleware that logs every exchange and counts token requests by grant_type.

    Done outside the libraries so both servers count the same way, failed requests included.
    """

    def middleware(environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        # The body was consumed; hand the application an identical stream.
        environ["wsgi.input"] = io.BytesIO(body)
        text = body.decode("utf-8", "replace")
        exchange = Exchange(
            environ["REQUEST_METHOD"],
            environ.get("PATH_INFO", ""),
            environ.get("HTTP_AUTHORIZATION"),
            environ.get("CONTENT_TYPE"),
            environ.get("HTTP_ACCEPT"),
            text,
        )
        with state.lock:
            state.exchanges.append(exchange)
            if environ["REQUEST_METHOD"] == "POST" and exchange.path == TOKEN_PATH:
                grant_type = parse_qs(text).get("grant_type", [None])[0]
                state.token_requests[grant_type] += 1

        def recording_start_response(status, headers, exc_info=None):
            exchange.status = status
            exchange.response_headers = {name.lower(): value for name, value in headers}
            return start_response(status, headers, exc_info)

        chunks = list(app(environ, recording_start_response))
        exchange.response_body = b"".join(chunks).decode("utf-8", "replace")
        return chunks

    return middleware


class RunningServer:
    """A WSGI app served on 127.0.0.1 at a free port from a daemon thread."""

    def __init__(self, app):
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}{BASE_PATH}"
        # A short poll interval keeps shutdown() (one per test) from costing half a second.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
