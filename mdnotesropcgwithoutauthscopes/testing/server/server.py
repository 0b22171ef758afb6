"""The MdNotes reference server: configuration, lifecycle and the in-process control API."""

from __future__ import annotations

import socket
import socketserver
import sys
import threading
from collections.abc import Sequence
from http.server import ThreadingHTTPServer
from types import TracebackType
from typing import Any, Optional

from .config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_HOST,
    DEFAULT_LOCKOUT_PERIOD,
    DEFAULT_LOCKOUT_THRESHOLD,
    DEFAULT_PASSWORD,
    DEFAULT_PORT,
    DEFAULT_TOKEN_LIFETIME,
    DEFAULT_USERNAME,
    ServerConfig,
    ServerUser,
    users_tuple,
)
from .faults import FaultInjector, FaultSettings, RetryAfter
from .handler import BASE_PATHS, RequestHandler
from .state import ServerState
from .stats import SERVER_STAT_NAMES, ServerStats


class _HTTPServer(ThreadingHTTPServer):
    """Counts and tracks connections so ``stop()`` can close the keep-alive ones too."""

    daemon_threads = True
    # socketserver's default backlog of 5 overflows when tests open dozens of connections at once,
    # and Linux then resets some of them.
    request_queue_size = 128

    def __init__(self, app: MdNotesServer) -> None:
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
        self.server_name, self.server_port = self.server_address[:2]  # type: ignore[assignment]

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


class MdNotesServer(ServerState):
    """One reference server: its own users, tokens, faults and stats, served from a daemon thread.

    As a context manager it starts on entry (unless already started) and stops on exit::

        with MdNotesServer(token_lifetime=2) as server:
            client = MdnotesropcgwithoutauthscopesClient(base_uri=server.base_uri, ...)

    Args:
        host: the address to listen on; keep it on loopback.
        port: the port; 0 (the default here) picks a free one, see ``port`` after start.
        token_lifetime: access token lifetime in seconds (fractions allowed).
        client_id: the one OAuth client's id.
        client_secret: its secret.
        username: the first user's username (``GET /user`` shows it as ``email``).
        password: the first user's password.
        users: more users, as ``ServerUser`` values.
        rotate_refresh_tokens: each refresh issues a new refresh token and retires the old one
            (reusing a retired one revokes its token family); ``False`` keeps refresh tokens valid
            and sends the same one back.
        lockout_threshold: lock an account after this many failed password grants for its
            username within ``lockout_period`` (then even the right password gets 400
            ``invalid_grant`` "account is locked"), and the client after this many failed client
            authentications naming its id (then even the right secret gets 401 ``invalid_client``
            "client is locked"); 0 (the default) turns lockout off.
        lockout_period: seconds a failure is remembered, and seconds a lock lasts (default 60).
        faults: faults injected from the start (``set_faults()`` changes them later).
        enable_faults: also serve the HTTP fault-control API under ``/_admin`` (loopback clients
            only); the Python methods work either way.
        verbose: log every request to stderr.

    Raises:
        TypeError, ValueError: a setting is invalid.
    """

    def __init__(
        self,
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        token_lifetime: float = DEFAULT_TOKEN_LIFETIME,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        users: Sequence[ServerUser] = (),
        rotate_refresh_tokens: bool = True,
        lockout_threshold: int = DEFAULT_LOCKOUT_THRESHOLD,
        lockout_period: float = DEFAULT_LOCKOUT_PERIOD,
        faults: Optional[FaultSettings] = None,
        enable_faults: bool = False,
        verbose: bool = False,
    ) -> None:
        self._setup(
            ServerConfig(
                host=host,
                port=port,
                token_lifetime=token_lifetime,
                client_id=client_id,
                client_secret=client_secret,
                username=username,
                password=password,
                users=users_tuple(users),
                rotate_refresh_tokens=rotate_refresh_tokens,
                lockout_threshold=lockout_threshold,
                lockout_period=lockout_period,
                faults=faults if faults is not None else FaultSettings(),
                enable_faults=enable_faults,
                verbose=verbose,
            )
        )

    @classmethod
    def from_config(cls, config: ServerConfig) -> MdNotesServer:
        """A server (not started) with every setting from ``config``.

        Raises:
            TypeError: ``config`` is not a ``ServerConfig``.
        """
        if not isinstance(config, ServerConfig):
            raise TypeError(f"config must be a ServerConfig, not {type(config).__name__}")
        server = cls.__new__(cls)
        server._setup(config)
        return server

    def _setup(self, config: ServerConfig) -> None:
        ServerState.__init__(self, config, SERVER_STAT_NAMES)
        self.faults = FaultInjector()
        self.faults.configure(config.faults)
        self._httpd: Optional[_HTTPServer] = None
        self._thread: Optional[threading.Thread] = None
        self._state_lock = threading.Lock()
        self._stopped = False

    def start(self) -> MdNotesServer:
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
    def running(self) -> bool:
        """Whether the server has started and not stopped."""
        return self._httpd is not None and not self._stopped

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
        """The DEFAULT server URL the SDK talks to (pass it as the client's ``base_uri``)."""
        return self.url + BASE_PATHS[0]

    @property
    def auth_base_uri(self) -> str:
        """The AUTH server URL."""
        return self.url + BASE_PATHS[1]

    # -- counters and faults ------------------------------------------------------------------

    def stats(self) -> ServerStats:
        """Counters since start or the last ``reset_stats()`` (see ``ServerStats`` for each one).

        ``token_requests`` and ``api_requests`` count every request that reached those paths,
        including ones answered by an injected fault; ``failed_token_requests`` counts token
        requests not answered with 200 (OAuth errors, injected faults, dropped connections).
        ``token_responses`` counts token requests by grant type and status. ``reset_stats()``
        sets them all to zero (it leaves lockouts alone: see ``reset_lockouts()``).
        """
        return self.counters.server_stats()

    def set_faults(
        self,
        *,
        latency: float = 0.0,
        status_503_count: int = 0,
        status_503_ratio: float = 0.0,
        retry_after: RetryAfter = None,
        status_429_count: int = 0,
        drop_next: int = 0,
        token_503_for: float = 0.0,
        token_delay: float = 0.0,
        token_delay_count: int = 0,
        revoke_all: bool = False,
    ) -> None:
        """Replace the injected faults; they apply to token and API requests, never to ``/_admin``.

        Every call restarts the counts and the ``token_503_for`` window; settings left out are off.

        Args:
            latency: seconds to wait before answering each request.
            status_503_count: answer the next N requests with 503 and ``Retry-After``.
            status_503_ratio: answer this share (0 to 1) of requests with 503 at random.
            retry_after: the ``Retry-After`` value (seconds or an HTTP date); ``None`` sends 1.
            status_429_count: answer the next N requests (after any 503s) with 429.
            drop_next: read the next N requests, then close the connection without answering;
                these come before any 503 or 429.
            token_503_for: for this many seconds from now, answer every token request 503 with
                ``Retry-After`` (after any counted faults); API requests are not affected.
            token_delay: seconds to delay each of the next ``token_delay_count`` token requests
                (on top of ``latency``); API requests are not affected. Set both or neither.
            token_delay_count: how many token requests ``token_delay`` delays.
            revoke_all: revoke every access token now (refresh tokens keep working).

        Raises:
            TypeError, ValueError: a setting has the wrong type or range.
        """
        if not isinstance(revoke_all, bool):
            raise TypeError("revoke_all must be True or False")
        self.faults.configure(
            FaultSettings(
                latency=latency,
                status_503_count=status_503_count,
                status_503_ratio=status_503_ratio,
                retry_after=retry_after,
                status_429_count=status_429_count,
                drop_next=drop_next,
                token_503_for=token_503_for,
                token_delay=token_delay,
                token_delay_count=token_delay_count,
            )
        )
        if revoke_all:
            self.revoke_all_tokens()

    def clear_faults(self) -> None:
        """Stop injecting faults."""
        self.faults.configure(FaultSettings())

    # -- lifecycle ------------------------------------------------------------------------------

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

    def __enter__(self) -> MdNotesServer:
        """Start the server unless it runs already (``start_server()`` returns a started one)."""
        if self._httpd is None:
            self.start()
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


def start_server(*, port: int = DEFAULT_PORT, **settings: Any) -> MdNotesServer:
    """Start a reference server in a daemon thread and return it once it is listening.

    Args:
        port: the port; unlike ``MdNotesServer`` the default is 3000, the SDK's default URL.
        **settings: any other keyword of ``MdNotesServer``.

    Raises:
        ValueError, TypeError: a setting is invalid.
        OSError: the address cannot be bound.
    """
    return MdNotesServer(port=port, **settings).start()
