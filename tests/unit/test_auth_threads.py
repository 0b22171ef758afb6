"""Many threads on one client: one token request at a time, every thread uses its result or shares its failure."""

import json
import threading
import time

import pytest

from mdnotesropcgwithoutauthscopes.exceptions.o_auth_provider_exception import OAuthProviderException
from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import ResourceOwnerAuthCredentials
from tests.helpers import (
    STATUS_BODY,
    STATUS_URL,
    TOKEN_URL,
    counting_callback,
    form_of,
    make_client,
    make_credentials,
    stored_token,
    token_body,
    token_calls,
)
from tests.helpers.threads import THREADS, Gate, run_in_threads, wait_for


def _calls_in_threads(client, expected, count=8):
    """Start ``count`` threads calling the API; ``finish()`` joins them and returns what they raised."""
    errors = []

    def call():
        try:
            client.service.get_status()
        except expected as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(count)]
    for thread in threads:
        thread.start()

    def finish():
        for thread in threads:
            thread.join(10)
        return errors

    return finish


def test_threads_waiting_on_a_failed_token_request_share_its_failure(rsps):
    gate = Gate(lambda n: {"error": "temporarily_unavailable"}, status=400)
    rsps.add_callback("POST", TOKEN_URL, callback=gate)
    finish = _calls_in_threads(make_client(), OAuthProviderException)
    assert gate.entered.wait(5)
    time.sleep(0.2)  # let the other seven queue behind the one request
    gate.opened.set()
    assert len(finish()) == 8
    assert gate.count == 1


def test_a_raising_token_provider_is_called_once_for_all_waiting_threads():
    calls = []
    release = threading.Event()

    def provider(last, manager):
        calls.append(1)
        release.wait(5)
        raise RuntimeError("identity service down")

    client = make_client(ResourceOwnerAuthCredentials(o_auth_token_provider=provider))
    finish = _calls_in_threads(client, RuntimeError)
    assert wait_for(lambda: len(calls) == 1)
    time.sleep(0.2)  # let the other seven queue behind the one call
    release.set()
    assert len(finish()) == 8
    assert len(calls) == 1


def test_after_a_shared_failure_the_next_call_tries_again(rsps):
    rsps.post(TOKEN_URL, status=400, json={"error": "invalid_request"})
    rsps.post(TOKEN_URL, json=token_body(1))
    rsps.get(STATUS_URL, json=STATUS_BODY)
    client = make_client()
    with pytest.raises(OAuthProviderException):
        client.service.get_status()
    assert client.service.get_status().status == "ok"
    assert len(token_calls(rsps)) == 2


def test_a_slow_update_callback_runs_after_the_call_that_needed_the_token(rsps):
    order = []
    rsps.post(TOKEN_URL, json=token_body(1, expires_in=1))

    def status(request):
        order.append(("status", request.headers["Authorization"]))
        return 200, {}, json.dumps(STATUS_BODY)

    rsps.add_callback("GET", STATUS_URL, callback=status)

    def slow_save(token):
        time.sleep(1.2)  # longer than the token lives
        order.append(("saved", token.access_token))

    client = make_client(make_credentials(o_auth_on_token_update=slow_save, o_auth_refresh_window=0))
    assert client.service.get_status().status == "ok"
    assert order == [("status", "Bearer ACCESS-TOKEN-1"), ("saved", "ACCESS-TOKEN-1")]


def test_a_slow_update_callback_does_not_hold_other_threads(rsps):
    rsps.post(TOKEN_URL, json=token_body(1))
    rsps.get(STATUS_URL, json=STATUS_BODY)
    in_callback, other_done = threading.Event(), threading.Event()

    def slow_save(token):
        in_callback.set()
        assert other_done.wait(5), "another thread was held while the callback ran"

    client = make_client(make_credentials(o_auth_on_token_update=slow_save))
    first = threading.Thread(target=client.service.get_status)
    first.start()
    assert in_callback.wait(5)
    client.service.get_status()  # uses the token the first thread installed
    other_done.set()
    first.join(5)
    assert len(token_calls(rsps)) == 1


@pytest.mark.parametrize("expired_with_refresh", [True, False])
def test_32_threads_with_expired_token_send_exactly_one_token_request(rsps, clock, expired_with_refresh):
    token_endpoint = counting_callback(lambda n: token_body(100 + n), delay=0.05)
    rsps.add_callback("POST", TOKEN_URL, callback=token_endpoint)
    rsps.get(STATUS_URL, json=STATUS_BODY)
    updates = []
    initial = stored_token(1, expires_in=60) if expired_with_refresh else None
    client = make_client(make_credentials(o_auth_token=initial, o_auth_on_token_update=updates.append))
    clock.advance(61)

    errors = run_in_threads(client.service.get_status)

    assert errors == []
    assert token_endpoint.state["count"] == 1
    assert len(updates) == 1
    expected_grant = "refresh_token" if expired_with_refresh else "password"
    assert [form_of(c)["grant_type"] for c in token_calls(rsps)] == [expected_grant]
    api_calls = [c for c in rsps.calls if c.request.url == STATUS_URL]
    assert len(api_calls) == THREADS
    assert {c.request.headers["Authorization"] for c in api_calls} == {"Bearer ACCESS-TOKEN-101"}
