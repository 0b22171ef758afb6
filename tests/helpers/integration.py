"""The integration tests' demo values (an id, secret and password full of characters that need encoding) and clients."""

import multiprocessing
import time
from queue import Empty

from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import ResourceOwnerAuthCredentials
from mdnotesropcgwithoutauthscopes.testing import client_for as kit_client_for

DEMO = dict(
    client_id="demo client:+%/é",
    client_secret="demo secret:+%/ü",
    username="demo@example.com",
    password="demo pass:word",
)


def server_settings(**settings):
    """The reference server's settings for these tests: the demo values, faults enabled, then ``settings``."""
    return {**DEMO, "enable_faults": True, **settings}


def credentials(**changes):
    """The demo credentials, with ``changes`` applied."""
    values = dict(
        o_auth_client_id=DEMO["client_id"],
        o_auth_client_secret=DEMO["client_secret"],
        o_auth_username=DEMO["username"],
        o_auth_password=DEMO["password"],
    )
    values.update(changes)
    return ResourceOwnerAuthCredentials(**values)


def client_for(server, creds=None, **settings):
    """A client of ``server``."""
    return kit_client_for(server, credentials=creds or credentials(), **settings)


def collect(queue, processes, timeout, count=None):
    """``count`` items (one per process by default) from ``queue``; fails at once, with exit codes, if a process died first."""
    count = len(processes) if count is None else count
    items, deadline = [], time.monotonic() + timeout
    while len(items) < count:
        try:
            items.append(queue.get(timeout=0.2))
        except Empty:
            codes = [process.exitcode for process in processes]
            assert all(code in (None, 0) for code in codes), f"a child process failed: exit codes {codes}"
            assert time.monotonic() < deadline, f"only {len(items)} of {count} results arrived"
    return items


def run_fleet(target, args, processes, seconds):
    """Fork ``processes`` children running ``target(*args, ready, go, results)``, start them together.

    Each child puts one item in ``ready`` when it is set up, waits for ``go``, works for about
    ``seconds`` and puts one outcome in ``results``. Returns the outcomes, once every child has
    exited with status 0 (as gunicorn's preload does, each child starts from the parent's objects).
    """
    context = multiprocessing.get_context("fork")
    ready, go, results = context.Queue(), context.Event(), context.Queue()
    fleet = [context.Process(target=target, args=(*args, ready, go, results)) for _ in range(processes)]
    for process in fleet:
        process.start()
    collect(ready, fleet, timeout=60)
    go.set()
    outcomes = collect(results, fleet, timeout=seconds + 60)
    for process in fleet:
        process.join(30)
    assert [process.exitcode for process in fleet] == [0] * processes
    return outcomes
