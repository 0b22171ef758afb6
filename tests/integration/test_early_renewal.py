"""Early renewal against the reference server with a slow token endpoint: calls never wait for it."""

import os
import subprocess
import sys
import threading
import time

import pytest

from mdnotesropcgwithoutauthscopes.exceptions.api_connection_exception import APITimeoutException
from mdnotesropcgwithoutauthscopes.http.auth.token_store import SQLiteTokenStore
from mdnotesropcgwithoutauthscopes.http.http_client import HttpClient
from mdnotesropcgwithoutauthscopes.http.requests_client import RequestsClient
from tests.helpers.integration import DEMO, client_for, credentials

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
    server = start(token_lifetime=4)
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
    # One renewal per half-lifetime; whole-second expiry (rounded down) takes up to 1 s off each.
    assert 1 <= stats["refresh_grants"] <= elapsed / (4 / 2 - 1) + 2
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


EXITING_SCRIPT = """
import sys, time
from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import ResourceOwnerAuthCredentials
from mdnotesropcgwithoutauthscopes.exceptions.api_connection_exception import APITimeoutException
from mdnotesropcgwithoutauthscopes.http.auth.token_store import SQLiteTokenStore
from mdnotesropcgwithoutauthscopes.http.requests_client import RequestsClient
from mdnotesropcgwithoutauthscopes.mdnotesropcgwithoutauthscopes_client import MdnotesropcgwithoutauthscopesClient

class Slow(RequestsClient):
    def execute(self, request, *, timeout=None):
        if request.query_url.endswith("/token"):
            time.sleep(0.5)
        return super().execute(request, timeout=timeout)

base_uri, path, client_id, secret, username, password = sys.argv[1:]
creds = ResourceOwnerAuthCredentials(o_auth_client_id=client_id, o_auth_client_secret=secret,
    o_auth_username=username, o_auth_password=password, o_auth_token_store=SQLiteTokenStore(path),
    o_auth_refresh_window=3)
client = MdnotesropcgwithoutauthscopesClient(base_uri=base_uri, http_client_instance=Slow(),
    resource_owner_auth_credentials=creds)
client.service.get_status()  # in the window: starts a renewal, then the script ends at once
print(client.http_ropcg.token.access_token[:6])
"""


def test_an_exiting_interpreter_lets_a_renewal_in_flight_finish_and_save(start, tmp_path):
    server = start(token_lifetime=8)
    store_path = tmp_path / "tokens.sqlite3"
    store = SQLiteTokenStore(store_path)
    first = client_for(server, credentials(o_auth_token_store=store))
    first.service.get_status()
    key = first.http_ropcg.token_store_key
    original = store.load(key)
    time.sleep(max(0.0, original.expiry - 3 - time.time()) + 0.2)  # inside a 3 s window (of the 8 s token)
    args = [server.base_uri, str(store_path)] + [DEMO[k] for k in ("client_id", "client_secret", "username")]
    result = subprocess.run(
        [sys.executable, "-c", EXITING_SCRIPT, *args, DEMO["password"]],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    saved = store.load(key)
    assert saved.access_token != original.access_token  # the renewal finished and was saved before exit
    assert server.stats()["refresh_grants"] == 1
    assert "Traceback" not in result.stderr
    store.close()


def test_threads_waiting_on_a_token_request_that_times_out_share_its_timeout(start):
    server = start(token_lifetime=60)
    server.set_faults(latency=3)  # the token endpoint answers after 3 s: past the 1 s timeout
    client = client_for(server, timeout=1)
    errors = []

    def call():
        try:
            client.service.get_status()
        except APITimeoutException as exc:
            errors.append(exc)

    started = time.monotonic()
    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    elapsed = time.monotonic() - started
    assert len(errors) == 8
    assert server.stats()["token_requests"] == 1  # one attempt, its timeout shared by all eight
    assert elapsed < 2.5  # one timeout, not one per thread in turn (that was 8 s)
