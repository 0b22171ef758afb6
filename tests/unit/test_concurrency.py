"""Many threads on one client: one token request at a time, every thread uses its result."""

import threading

import pytest

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

THREADS = 32


def _run_in_threads(target, count=THREADS):
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


@pytest.mark.parametrize("expired_with_refresh", [True, False])
def test_32_threads_with_expired_token_send_exactly_one_token_request(rsps, clock, expired_with_refresh):
    token_endpoint = counting_callback(lambda n: token_body(100 + n), delay=0.05)
    rsps.add_callback("POST", TOKEN_URL, callback=token_endpoint)
    rsps.get(STATUS_URL, json=STATUS_BODY)
    updates = []
    initial = stored_token(1, expires_in=60) if expired_with_refresh else None
    client = make_client(make_credentials(o_auth_token=initial, o_auth_on_token_update=updates.append))
    clock.advance(61)

    errors = _run_in_threads(client.service.get_status)

    assert errors == []
    assert token_endpoint.state["count"] == 1
    assert len(updates) == 1
    expected_grant = "refresh_token" if expired_with_refresh else "password"
    assert [form_of(c)["grant_type"] for c in token_calls(rsps)] == [expected_grant]
    api_calls = [c for c in rsps.calls if c.request.url == STATUS_URL]
    assert len(api_calls) == THREADS
    assert {c.request.headers["Authorization"] for c in api_calls} == {"Bearer ACCESS-TOKEN-101"}


def test_concurrent_401_invalid_token_renews_once(rsps):
    rejected = {"Bearer ACCESS-TOKEN-1"}

    def status(request):
        if request.headers["Authorization"] in rejected:
            return 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}, "{}"
        return 200, {"Content-Type": "application/json"}, '{"status": "ok"}'

    token_endpoint = counting_callback(lambda n: token_body(100 + n), delay=0.05)
    rsps.add_callback("POST", TOKEN_URL, callback=token_endpoint)
    rsps.add_callback("GET", STATUS_URL, callback=status)
    client = make_client(make_credentials(o_auth_token=stored_token(1)))

    errors = _run_in_threads(client.service.get_status, 16)

    assert errors == []
    assert token_endpoint.state["count"] == 1
