"""One deadline for the status line and headers too: a watchdog shuts the socket down when it passes.

urllib3's read timeout bounds each ``recv()``, not the answer: a server that sends one header byte
every 0.3 s keeps a ``timeout=1`` call waiting for as long as it likes. ``RequestsClient`` reads
the body against the deadline itself; the status line and headers are read inside urllib3, so
``DeadlineTimeout`` (the timeout object urllib3 is given) hands the connection's socket to the
client's ``DeadlineWatchdog`` when urllib3 starts reading the answer, and the client takes it
back once the headers are in. If the deadline passes first, the watchdog shuts the socket down,
the blocked read returns, and the client reports a timeout.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from typing import Optional

from urllib3.util.timeout import Timeout

# How long the watchdog's thread waits for more work once nothing is watched, before it ends.
_LINGER = 2.0


class Watch:
    """One call's claim on the watchdog: its deadline, the socket watched, and whether it fired."""

    __slots__ = ("deadline", "fired", "_sock")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.fired = False
        self._sock: Optional[socket.socket] = None


class DeadlineWatchdog:
    """Shuts down the sockets of calls whose deadline passes while their answer's headers are awaited.

    One thread serves every call of a client. It runs only while there is something to watch (and
    ``_LINGER`` seconds after, so that back-to-back calls do not start a thread each), is a daemon,
    and stops at ``close()``. Watching and releasing cost a lock and a set operation; the thread is
    woken only when a new deadline is earlier than the one it sleeps until.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition(threading.Lock())
        self._watched: set[Watch] = set()
        self._thread: Optional[threading.Thread] = None
        self._wake_at = float("inf")
        self._closed = False

    def watch(self, watch: Watch, sock: socket.socket) -> None:
        """Shut ``sock`` down at ``watch.deadline`` unless ``release(watch)`` comes first."""
        with self._condition:
            watch._sock = sock  # a retried connection replaces the one watched before
            self._watched.add(watch)
            if self._thread is None:
                self._closed = False
                self._thread = threading.Thread(target=self._run, name="mdnotes-deadline-watchdog", daemon=True)
                self._wake_at = watch.deadline
                self._thread.start()
            elif watch.deadline < self._wake_at:
                self._wake_at = watch.deadline
                self._condition.notify()

    def release(self, watch: Watch) -> None:
        """Stop watching: after this returns, the call's socket is never shut down by the watchdog."""
        if watch._sock is None:
            return
        with self._condition:
            self._watched.discard(watch)
            watch._sock = None

    def close(self) -> None:
        """End the thread (a later ``watch`` starts it again)."""
        with self._condition:
            if self._thread is not None:
                self._closed = True
                self._condition.notify()

    def _run(self) -> None:
        with self._condition:
            while True:
                now = time.monotonic()
                for watch in [w for w in self._watched if w.deadline <= now]:
                    # Under the lock: once release() has returned, the socket may be back in the
                    # pool serving another call, and must not be touched.
                    self._watched.discard(watch)
                    watch.fired = True
                    sock, watch._sock = watch._sock, None
                    try:
                        if sock is not None:
                            sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass  # already closed: the read it would have ended has ended
                if self._closed or not self._watched:
                    self._wake_at = float("inf")
                    if self._closed or (not self._condition.wait(_LINGER) and not self._watched):
                        self._thread = None
                        return
                    continue
                self._wake_at = min(w.deadline for w in self._watched)
                self._condition.wait(self._wake_at - now)


class DeadlineTimeout(Timeout):
    """urllib3's ``Timeout`` (connect and per-read limits) that also hands the socket to the watchdog.

    urllib3 reads ``read_timeout`` in ``HTTPConnectionPool._make_request`` after sending the
    request and right before reading the status line, with the connection in its local ``conn``:
    that is where the watchdog starts watching the connection's socket. A connection without a
    plain socket (a TLS tunnel inside TLS, a stub) is not watched.
    """

    def __init__(self, timeout: float, watchdog: DeadlineWatchdog, watch: Watch) -> None:
        super().__init__(connect=timeout, read=timeout)
        self._watchdog = watchdog
        self._watch = watch

    def clone(self) -> DeadlineTimeout:
        # urllib3 clones the timeout it is given for each request; Timeout.clone() would drop the watchdog.
        return DeadlineTimeout(self._read, self._watchdog, self._watch)  # type: ignore[arg-type]  # a number

    @property
    def read_timeout(self) -> Optional[float]:
        value = super().read_timeout
        connection = sys._getframe(1).f_locals.get("conn")
        sock = getattr(connection, "sock", None)
        if isinstance(sock, socket.socket):
            self._watchdog.watch(self._watch, sock)
        return value
