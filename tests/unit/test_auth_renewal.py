"""Early renewal (API.md section 7): calls in the window use the current token while one renewal runs."""

import logging
import threading
import time

import pytest

from mdnotesropcgwithoutauthscopes.exceptions.api_exception import APIException
from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import ResourceOwnerAuthCredentials
from tests.helpers import (
    STATUS_BODY,
    STATUS_URL,
    TOKEN_URL,
    form_of,
    make_client,
    make_credentials,
    stored_token,
    token_body,
    token_calls,
)
from tests.helpers.threads import Gate, wait_for


def _renewal_threads():
    return [t for t in threading.enumerate() if t.name == "mdnotes-token-renewal"]


def test_call_in_the_window_uses_the_current_token_while_one_renewal_runs_in_the_background(rsps, clock):
    gate = Gate(lambda n: token_body(n + 1, expires_in=100))
    rsps.add_callback("POST", TOKEN_URL, callback=gate)
    rsps.get(STATUS_URL, json=STATUS_BODY)
    seen = []
    client = make_client(
        make_credentials(
            o_auth_token=stored_token(1, expires_in=100), o_auth_refresh_window=10, o_auth_on_token_update=seen.append
        )
    )
    clock.advance(91)  # 9 s left: inside the 10 s window
    for _ in range(5):  # none of these waits for the token endpoint, which has not answered yet
        client.service.get_status()
    assert gate.entered.wait(5)
    status_calls = [c for c in rsps.calls if c.request.url == STATUS_URL]
    assert [c.request.headers["Authorization"] for c in status_calls] == ["Bearer ACCESS-TOKEN-1"] * 5
    assert gate.count == 1  # one early renewal at a time
    gate.opened.set()
    assert wait_for(lambda: client.http_ropcg.token.access_token == "ACCESS-TOKEN-2")
    assert wait_for(lambda: not _renewal_threads())  # no thread is left behind
    client.service.get_status()
    assert rsps.calls[-1].request.headers["Authorization"] == "Bearer ACCESS-TOKEN-2"
    assert form_of(token_calls(rsps)[0])["grant_type"] == "refresh_token"
    assert gate.count == 1
    assert [t.access_token for t in seen] == ["ACCESS-TOKEN-2"]


def test_failed_early_renewal_is_logged_paused_and_reaches_callers_only_after_expiry(rsps, clock, sdk_logs):
    rsps.post(TOKEN_URL, status=500, json={"error": "server_error"})
    rsps.get(STATUS_URL, json=STATUS_BODY)
    # timeout=1: once the token has expired, the next try of the failing endpoint lies beyond the
    # call's timeout, so the call fails at once with the last failure (API.md section 9).
    client = make_client(
        make_credentials(o_auth_token=stored_token(1, expires_in=100), o_auth_refresh_window=20), timeout=1
    )
    clock.advance(85)  # 15 s left
    client.service.get_status()
    assert wait_for(lambda: len(token_calls(rsps)) == 1 and not _renewal_threads())
    warnings = [r.getMessage() for r in sdk_logs.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "Early token renewal failed" in warnings[0]
    for _ in range(20):  # still valid: calls go on, and no renewal is tried again during the backoff
        assert client.service.get_status().status == "ok"
    assert len(token_calls(rsps)) == 1
    clock.advance(4)  # past the backoff (at most a quarter of the 15 s left)
    client.service.get_status()
    assert wait_for(lambda: len(token_calls(rsps)) == 2 and not _renewal_threads())
    clock.advance(20)  # now really expired: the failure reaches the caller
    with pytest.raises(APIException) as info:
        client.service.get_status()
    assert info.value.response_code == 500
    assert len(token_calls(rsps)) == 3


@pytest.mark.parametrize("window", [0, None])
def test_window_zero_turns_early_renewal_off_and_the_default_renews_at_half_life(rsps, clock, window):
    rsps.post(TOKEN_URL, json=token_body(2, expires_in=3600))
    rsps.get(STATUS_URL, json=STATUS_BODY)
    client = make_client(make_credentials(o_auth_token=stored_token(1, expires_in=3600), o_auth_refresh_window=window))
    clock.advance(1800 - 1)  # just before half-life: outside the default window
    client.service.get_status()
    time.sleep(0.1)
    assert token_calls(rsps) == []
    clock.advance(2)  # just past half-life: inside the default window (half the lifetime)
    client.service.get_status()
    expected = 0 if window == 0 else 1
    assert wait_for(lambda: len(token_calls(rsps)) == expected and not _renewal_threads())
    assert len(token_calls(rsps)) == expected


def test_window_is_never_more_than_half_the_lifetime(rsps, clock):
    rsps.post(TOKEN_URL, json=token_body(2, expires_in=10))
    rsps.get(STATUS_URL, json=STATUS_BODY)
    client = make_client(make_credentials(o_auth_token=stored_token(1, expires_in=10), o_auth_refresh_window=1000))
    clock.advance(4)  # 6 s left: more than half the 10 s lifetime
    client.service.get_status()
    time.sleep(0.1)
    assert token_calls(rsps) == []
    clock.advance(1.5)
    client.service.get_status()
    assert wait_for(lambda: len(token_calls(rsps)) == 1)


def test_refresh_window_is_validated():
    with pytest.raises(ValueError, match="o_auth_refresh_window"):
        ResourceOwnerAuthCredentials(o_auth_refresh_window=-1)
    with pytest.raises(TypeError, match="o_auth_refresh_window"):
        ResourceOwnerAuthCredentials(o_auth_refresh_window="60")


def test_closing_the_client_during_an_early_renewal_is_not_a_warning(rsps, clock, sdk_logs):
    rsps.get(STATUS_URL, json=STATUS_BODY)
    at_token_request, closed = threading.Event(), threading.Event()

    class HoldTokenRequests:
        def on_before_request(self, request):
            if request.query_url == TOKEN_URL:
                at_token_request.set()
                closed.wait(5)

        def on_after_response(self, response):
            pass

    client = make_client(
        make_credentials(o_auth_token=stored_token(1, expires_in=100), o_auth_refresh_window=10),
        http_call_back=HoldTokenRequests(),
    )
    clock.advance(95)
    client.service.get_status()
    assert at_token_request.wait(5)
    client.close()
    closed.set()
    assert wait_for(lambda: not _renewal_threads())
    assert token_calls(rsps) == []  # nothing was sent after close()
    assert [r for r in sdk_logs.records if r.levelno >= logging.WARNING] == []
