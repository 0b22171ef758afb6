"""Early renewal against the reference server with a slow token endpoint: calls never wait for it."""

import os
import threading
import time

import pytest

from mdnotesropcgwithoutauthscopes.http.http_client import HttpClient
from mdnotesropcgwithoutauthscopes.http.requests_client import RequestsClient
from tests.integration.conftest import client_for, credentials

TOKEN_LATENCY = 0.4


class SlowTokenEndpoint(HttpClient):
    """A real transport whose token requests take ``TOKEN_LATENCY`` longer; it records what it saw."""

    def __init__(self):
        self._inner = RequestsClient()
        self._lock = threading.Lock()
        self.token_requests_in_flight = 0
        self.calls_during_token_requests = 0
        self.unauthorized = 0

    def execute(self, request, *, timeout=None):
        is_token = request.query_url.endswith("/token")
        if is_token:
            with self._lock:
                self.token_requests_in_flight += 1
            time.sleep(TOKEN_LATENCY)
        try:
            response = self._inner.execute(request, timeout=timeout)
        finally:
            with self._lock:
                if is_token:
                    self.token_requests_in_flight -= 1
                elif self.token_requests_in_flight:
                    self.calls_during_token_requests += 1
        if not is_token and response.status_code == 401:
            with self._lock:
                self.unauthorized += 1
        return response

    def close(self):
        self._inner.close()


def test_calls_go_on_with_the_current_token_while_it_is_renewed(start):
    server = start(token_lifetime=2)
    transport = SlowTokenEndpoint()
    client = client_for(server, http_client_instance=transport)
    client.service.get_status()
    server.reset_stats()
    failures, calls = [], [0]
    lock = threading.Lock()
    started = time.monotonic()
    stop_at = started + 6

    def worker():
        while time.monotonic() < stop_at:
            try:
                client.service.get_status()
            except Exception as exc:  # noqa: BLE001 - every failure is collected and asserted on
                failures.append(exc)
                return
            with lock:
                calls[0] += 1

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    elapsed = time.monotonic() - started
    stats = server.stats()
    assert failures == []
    assert transport.unauthorized == 0  # the server never saw a token it had expired
    assert transport.calls_during_token_requests > 0  # calls went on while a renewal was in flight
    assert stats["password_grants"] == 0
    assert 1 <= stats["refresh_grants"] <= elapsed / 2 + 2
    assert calls[0] > 100


def test_without_early_renewal_callers_wait_at_expiry(start):
    server = start(token_lifetime=2)
    transport = SlowTokenEndpoint()
    client = client_for(server, credentials(o_auth_refresh_window=0), http_client_instance=transport)
    client.service.get_status()
    time.sleep(2.1)
    before = time.monotonic()
    client.service.get_status()  # the token expired: this call waits for the refresh
    assert time.monotonic() - before >= TOKEN_LATENCY
    assert server.stats()["refresh_grants"] == 1


class GatedTokenEndpoint(HttpClient):
    """A real transport whose token requests from one process wait until the test releases them."""

    def __init__(self):
        self._inner = RequestsClient()
        self.gated_pid = None
        self.waiting = threading.Event()
        self.release = threading.Event()

    def execute(self, request, *, timeout=None):
        if request.query_url.endswith("/token") and os.getpid() == self.gated_pid:
            self.waiting.set()
            self.release.wait(10)
        return self._inner.execute(request, timeout=timeout)

    def close(self):
        self._inner.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX-only")
def test_a_forked_child_starts_clean_while_the_parent_renews(start):
    server = start(token_lifetime=4)
    transport = GatedTokenEndpoint()
    client = client_for(server, credentials(o_auth_refresh_window=2), http_client_instance=transport)
    client.service.get_status()
    first = client.http_ropcg.token
    transport.gated_pid = os.getpid()
    time.sleep(max(0.0, first.expiry - 1 - time.time()))  # inside the 2 s window (expiry is rounded down)
    client.service.get_status()  # starts the parent's early renewal, which now waits at the gate
    assert transport.waiting.wait(5)
    pid = os.fork()
    if pid == 0:  # the child: no renewal thread of its own yet, and the parent's locks were copied held
        code = 1
        try:
            client.service.get_status()  # in the window: starts the child's own renewal
            end = time.monotonic() + 5
            while time.monotonic() < end and client.http_ropcg.token.access_token == first.access_token:
                time.sleep(0.05)
            code = 0 if client.http_ropcg.token.access_token != first.access_token else 2
        finally:
            os._exit(code)
    try:
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        transport.release.set()
