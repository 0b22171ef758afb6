"""Helpers for tests that run threads against one client: a gated token endpoint, a barrier start, polling."""

import json
import threading
import time

from tests.helpers import token_body

#: How many threads the concurrency tests start at once.
THREADS = 32


class Gate:
    """A token endpoint that answers only when the test opens it, counting requests."""

    def __init__(self, body_factory=lambda n: token_body(n), status=200):
        self.opened = threading.Event()
        self.entered = threading.Event()
        self.count = 0
        self._lock = threading.Lock()
        self._body_factory = body_factory
        self._status = status

    def __call__(self, request):
        with self._lock:
            self.count += 1
            n = self.count
        self.entered.set()
        assert self.opened.wait(10), "the test never opened the gate"
        return self._status, {"Content-Type": "application/json"}, json.dumps(self._body_factory(n))


def run_in_threads(target, count=THREADS):
    barrier = threading.Barrier(count)
    errors = []

    def worker():
        barrier.wait()
        try:
            target()
        except Exception as exc:  # noqa: BLE001 - collected and asserted on below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return errors


def wait_for(predicate, seconds=5.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()
