"""The MdNotes reference server: configuration, lifecycle and the in-process control API."""

from __future__ import annotations

import platform
import socket
import socketserver
import sys
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import ThreadingHTTPServer
from types import TracebackType
from typing import Any, Optional, Union

from .faults import FaultInjector, FaultSettings, RetryAfter
from .handler import BASE_PATHS, RequestHandler
from .tokens import TokenStore

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 3000
DEFAULT_TOKEN_LIFETIME = 3600.0
DEFAULT_CLIENT_ID = "demo-client"
DEFAULT_CLIENT_SECRET = "demo-secret"
DEFAULT_USERNAME = "demo@example.com"
DEFAULT_PASSWORD = "demo-password"
STAT_NAMES = (
    "token_requests",
    "password_grants",
    "refresh_grants",
    "api_requests",
    "connections",
    "failed_token_requests",
)


@dataclass(frozen=True)
class ServerConfig:
    """Everything a server is started with."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    token_lifetime: float = DEFAULT_TOKEN_LIFETIME
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    username: str = DEFAULT_USERNAME
    password: str = DEFAULT_PASSWORD
    enable_faults: bool = False
    verbose: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.port, bool) or not isinstance(self.port, int) or not 0 <= self.port <= 65535:
            raise ValueError(f"port must be an int from 0 to 65535, not {self.port!r}")
        if isinstance(self.token_lifetime, bool) or not isinstance(self.token_lifetime, (int, float)):
            raise TypeError("token_lifetime must be a number of seconds")
        if not self.token_lifetime > 0:
            raise ValueError("token_lifetime must be positive")
        for name in ("client_id", "client_secret", "username", "password"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"{name} must be a non-empty string")

    @property
    def expires_in(self) -> Union[int, float]:
        """``expires_in`` as sent: an int when the lifetime is whole seconds, else a float."""
        lifetime = float(self.token_lifetime)
        return int(lifetime) if lifetime.is_integer() else lifetime


class Counters:
    """Thread-safe request counters behind ``MdNotesServer.stats()``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values = dict.fromkeys(STAT_NAMES, 0)

    def increment(self, name: str) -> None:
        """Add one to a counter."""
        with self._lock:
            self._values[name] += 1

    def snapshot(self) -> dict[str, int]:
        """A copy of every counter."""
        with self._lock:
            return dict(self._values)

    def reset(self) -> None:
        """Set every counter to zero."""
        with self._lock:
            self._values = dict.fromkeys(STAT_NAMES, 0)


class _HTTPServer(ThreadingHTTPServer):
    """Counts and tracks connections so ``stop()`` can close the keep-alive ones too."""

    daemon_threads = True
    # socketserver's default backlog of 5 overflows when tests open dozens of connections at once,
    # and Linux then resets some of them.
    request_queue_size = 128

    def __init__(self, app: "MdNotesServer") -> None:
        self.app = app
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        if ":" in app.config.host:
            self.address_family = socket.AF_INET6
        super().__init__((app.config.host, app.config.port), RequestHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind() calls socket.getfqdn(), a reverse DNS lookup that can stall
        # start-up for seconds; nothing here needs the name.
        socketserver.TCPServer.server_bind(self)
        host, self.server_port = self.server_address[:2]
        self.server_name = str(host)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        self.app.counters.increment("connections")
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_open_connections(self) -> None:
        """Shut down every open connection; each handler thread then sees EOF and ends."""
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by its handler

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-request is normal (and what dropped-connection faults cause).
        if self.app.config.verbose or not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class MdNotesServer:
    """One reference server: its own tokens, faults and stats, served from a daemon thread."""

    def __init__(self, config: Optional[ServerConfig] = None) -> None:
        self.config = config or ServerConfig()
        self.tokens = TokenStore(float(self.config.token_lifetime))
        self.faults = FaultInjector()
        self.counters = Counters()
        self.started_at = datetime.now(timezone.utc)
        self.os_name = f"{platform.system()} {platform.release()} {platform.machine()}".strip()
        self._httpd: Optional[_HTTPServer] = None
        self._thread: Optional[threading.Thread] = None
        self._state_lock = threading.Lock()
        self._stopped = False

    def start(self) -> "MdNotesServer":
        """Bind the socket and serve from a daemon thread; return once it accepts connections.

        Raises:
            RuntimeError: the server was started before.
            OSError: the address cannot be bound.
        """
        with self._state_lock:
            if self._httpd is not None or self._stopped:
                raise RuntimeError("a server can only be started once")
            self._httpd = _HTTPServer(self)
        # The listening socket queues connections as soon as it is bound, so callers may connect
        # before serve_forever() runs its first poll.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            # A short poll keeps stop() fast: shutdown() waits for the loop to notice.
            kwargs={"poll_interval": 0.05},
            name=f"mdnotes-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    @property
    def host(self) -> str:
        """The host the server was asked to listen on."""
        return self.config.host

    @property
    def port(self) -> int:
        """The port it listens on (the real one when started with port 0)."""
        if self._httpd is None:
            return self.config.port
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` with IPv6 hosts in brackets."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_uri(self) -> str:
        """The DEFAULT server URL the SDK talks to."""
        return self.url + BASE_PATHS[0]

    @property
    def auth_base_uri(self) -> str:
        """The AUTH server URL."""
        return self.url + BASE_PATHS[1]

    def stats(self) -> dict[str, int]:
        """Counters since start or the last ``reset_stats()``.

        ``token_requests`` and ``api_requests`` count every request that reached those paths,
        including ones answered by an injected fault; ``failed_token_requests`` counts token
        requests not answered with 200 (OAuth errors, injected faults, dropped connections).
        """
        return self.counters.snapshot()

    def reset_stats(self) -> None:
        """Set every counter to zero."""
        self.counters.reset()

    def set_faults(
        self,
        *,
        latency: float = 0.0,
        status_503_count: int = 0,
        status_503_ratio: float = 0.0,
        retry_after: RetryAfter = None,
        status_429_count: int = 0,
        drop_next: int = 0,
        revoke_all: bool = False,
    ) -> None:
        """Replace the injected faults; they apply to token and API requests, never to ``/_admin``.

        Args:
            latency: seconds to wait before answering each request.
            status_503_count: answer the next N requests with 503 and ``Retry-After``.
            status_503_ratio: answer this share (0 to 1) of requests with 503 at random.
            retry_after: the ``Retry-After`` value (seconds or an HTTP date); ``None`` sends 1.
            status_429_count: answer the next N requests (after any 503s) with 429.
            drop_next: read the next N requests, then close the connection without answering;
                these come before any 503 or 429.
            revoke_all: revoke every access token now (refresh tokens keep working).

        Raises:
            TypeError, ValueError: a setting has the wrong type or range.
        """
        self.faults.configure(
            FaultSettings(
                latency=latency,
                status_503_count=status_503_count,
                status_503_ratio=status_503_ratio,
                retry_after=retry_after,
                status_429_count=status_429_count,
                drop_next=drop_next,
            )
        )
        if revoke_all:
            self.revoke_all_tokens()

    def clear_faults(self) -> None:
        """Stop injecting faults."""
        self.faults.configure(FaultSettings())

    def revoke_all_tokens(self) -> int:
        """Revoke every access token (refresh tokens keep working); return how many were live."""
        return self.tokens.revoke_access_tokens()

    def stop(self) -> None:
        """Stop serving, close open connections and the listening socket; safe to call twice."""
        with self._state_lock:
            httpd = None if self._stopped else self._httpd
            self._stopped = True
        if httpd is None:
            return
        httpd.shutdown()
        httpd.close_open_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> "MdNotesServer":
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<MdNotesServer {self.url} faults={'on' if self.config.enable_faults else 'off'}>"


def start_server(
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    token_lifetime: float = DEFAULT_TOKEN_LIFETIME,
    client_id: str = DEFAULT_CLIENT_ID,
    client_secret: str = DEFAULT_CLIENT_SECRET,
    username: str = DEFAULT_USERNAME,
    password: str = DEFAULT_PASSWORD,
    enable_faults: bool = False,
) -> MdNotesServer:
    """Start a reference server in a daemon thread and return it once it is listening.

    Raises:
        ValueError, TypeError: a setting is invalid.
        OSError: the address cannot be bound.
    """
    config = ServerConfig(
        host=host,
        port=port,
        token_lifetime=token_lifetime,
        client_id=client_id,
        client_secret=client_secret,
        username=username,
        password=password,
        enable_faults=enable_faults,
    )
    return MdNotesServer(config).start()
