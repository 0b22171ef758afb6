"""``RenewalScheduler``: at most one background renewal per client, none left running at exit."""

from __future__ import annotations

import atexit
import threading
import time
from typing import Callable

from mdnotesropcgwithoutauthscopes.http.auth.token_state import TokenState
from mdnotesropcgwithoutauthscopes.http.forking import reset_after_fork

#: How long interpreter exit waits, at most, for renewals in flight (so a rotated refresh token
#: that just arrived is saved), whatever the token endpoint does.
EXIT_GRACE_SECONDS = 2.0


class _InFlight:
    """The renewal threads of this process, for exit to wait on (briefly)."""

    def __init__(self) -> None:
        self._after_fork_in_child()
        reset_after_fork(self)

    def _after_fork_in_child(self) -> None:
        self.guard = threading.Lock()
        self.threads: set[threading.Thread] = set()

    def add(self, worker: threading.Thread) -> None:
        with self.guard:
            self.threads.add(worker)

    def discard(self, worker: threading.Thread) -> None:
        with self.guard:
            self.threads.discard(worker)

    def wait(self, seconds: float) -> None:
        """Join the threads in flight, all together for at most ``seconds``."""
        give_up_at = time.monotonic() + seconds
        with self.guard:
            workers = list(self.threads)
        for worker in workers:
            worker.join(max(0.0, give_up_at - time.monotonic()))


_in_flight = _InFlight()


class RenewalScheduler:
    """Starts a renewal in a short-lived daemon thread when a token enters its window.

    A renewal runs while calls keep using the current token; one at a time; after a failure the
    next one waits until the time the renewal returned. An idle client keeps no thread. A forked
    child starts with no renewal (the parent's thread was not copied).

    Args:
        renew: renews the given state; returns the unix time before which no renewal may start
            again (0 when it succeeded).
        clock: the UTC clock in unix seconds.
    """

    def __init__(self, renew: Callable[[TokenState], float], clock: Callable[[], float]) -> None:
        self._renew = renew
        self._clock = clock
        self._not_before = 0.0
        self._closed = False
        self._after_fork_in_child()
        reset_after_fork(self)

    def _after_fork_in_child(self) -> None:
        self._guard = threading.Lock()
        self._running = False

    def due(self, state: TokenState, now: float) -> None:
        """``state`` is in its renewal window: start one renewal unless one runs or must wait."""
        if self._running or self._closed or now < self._not_before:
            return
        with self._guard:
            if self._running:
                return
            self._running = True
        worker = threading.Thread(target=self._run, args=(state,), name="mdnotes-token-renewal", daemon=True)
        _in_flight.add(worker)
        try:
            worker.start()
        except RuntimeError:  # interpreter shutting down: no new threads; the token is still valid
            self._finished(worker)

    def close(self) -> None:
        """Start no more renewals (a client being closed)."""
        self._closed = True

    @property
    def running(self) -> bool:
        """True while a renewal is in flight."""
        return self._running

    def _run(self, state: TokenState) -> None:
        try:
            self._not_before = self._renew(state)
        finally:
            self._finished(threading.current_thread())

    def _finished(self, worker: threading.Thread) -> None:
        self._running = False
        _in_flight.discard(worker)


def _wait_at_exit() -> None:
    """Give renewals in flight a moment to save what they got; never more than the grace."""
    _in_flight.wait(EXIT_GRACE_SECONDS)


atexit.register(_wait_at_exit)
