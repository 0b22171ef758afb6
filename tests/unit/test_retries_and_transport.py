"""Retry policy, Retry-After, token-request retries, transport policy, body cap, callbacks."""

import email.utils
import time

import pytest
import requests

from mdnotesropcgwithoutauthscopes.controllers import base_controller
from mdnotesropcgwithoutauthscopes.exceptions.api_exception import APIException
from mdnotesropcgwithoutauthscopes.exceptions.insecure_transport_exception import InsecureTransportException
from mdnotesropcgwithoutauthscopes.exceptions.o_auth_provider_exception import OAuthProviderException
from mdnotesropcgwithoutauthscopes.exceptions.response_too_large_exception import ResponseTooLargeException
from mdnotesropcgwithoutauthscopes.http.http_call_back import HttpCallBack
from tests.helpers import (
    STATUS_BODY,
    STATUS_URL,
    TOKEN_URL,
    make_client,
    make_credentials,
    stored_token,
    token_body,
    token_calls,
)


@pytest.fixture
def waits(monkeypatch):
    recorded = []
    build = base_controller.CallPipeline.__init__

    def recording_waits(self, config, http_client, *, sleep=recorded.append):
        build(self, config, http_client, sleep=sleep)

    monkeypatch.setattr(base_controller.CallPipeline, "__init__", recording_waits)
    return recorded


def _client(**settings):
    return make_client(make_credentials(o_auth_token=stored_token(1)), **settings)


def test_no_retry_by_default(rsps, waits):
    rsps.get(STATUS_URL, status=503)
    with pytest.raises(APIException):
        _client().service.get_status()
    assert len(rsps.calls) == 1 and waits == []


def test_retries_up_to_max_retries_with_exponential_backoff_and_jitter(rsps, waits):
    rsps.get(STATUS_URL, status=503)
    with pytest.raises(APIException) as info:
        _client(max_retries=3, backoff_factor=1).service.get_status()
    assert info.value.response_code == 503
    assert len(rsps.calls) == 4
    assert len(waits) == 3
    for attempt, wait in enumerate(waits):
        assert 0.5 * 2**attempt <= wait <= 2**attempt


def test_retry_succeeds_when_server_recovers(rsps, waits):
    rsps.get(STATUS_URL, status=502)
    rsps.get(STATUS_URL, json=STATUS_BODY)
    assert _client(max_retries=2, backoff_factor=0).service.get_status().status == "ok"
    assert len(rsps.calls) == 2


def test_status_not_in_retry_statuses_is_not_retried(rsps, waits):
    rsps.get(STATUS_URL, status=404)
    with pytest.raises(APIException):
        _client(max_retries=3).service.get_status()
    assert len(rsps.calls) == 1


def test_method_not_in_retry_methods_is_not_retried(rsps, waits):
    rsps.get(STATUS_URL, status=503)
    with pytest.raises(APIException):
        _client(max_retries=3, retry_methods=("PUT",)).service.get_status()
    assert len(rsps.calls) == 1


def test_retry_after_seconds_is_honoured_and_capped(rsps, waits):
    rsps.get(STATUS_URL, status=429, headers={"Retry-After": "7"})
    rsps.get(STATUS_URL, status=429, headers={"Retry-After": "3600"})
    rsps.get(STATUS_URL, json=STATUS_BODY)
    _client(max_retries=2, max_retry_wait=30).service.get_status()
    assert waits == [7, 30]


def test_retry_after_http_date_is_honoured(rsps, waits):
    when = email.utils.formatdate(time.time() + 20, usegmt=True)
    rsps.get(STATUS_URL, status=503, headers={"Retry-After": when})
    rsps.get(STATUS_URL, json=STATUS_BODY)
    _client(max_retries=1).service.get_status()
    assert 17 <= waits[0] <= 21


# Token requests of the auth manager are paced by it, not by the pipeline (API.md section 9): one
# request per backoff step (honouring Retry-After), and a call waits for the next step only when it
# falls within the call's timeout.


@pytest.mark.parametrize("status", [429, 503])
def test_token_request_is_tried_again_after_retry_after_within_the_timeout(rsps, waits, status):
    rsps.post(TOKEN_URL, status=status, headers={"Retry-After": "1"})
    rsps.post(TOKEN_URL, json=token_body(1))
    started = time.monotonic()
    token = make_client(timeout=5).http_ropcg.fetch_token()
    assert token.access_token == "ACCESS-TOKEN-1"
    assert len(token_calls(rsps)) == 2
    assert 0.9 <= time.monotonic() - started < 3
    assert waits == []  # the pipeline itself did not repeat the token request


@pytest.mark.parametrize("status", [429, 503])
def test_a_call_rides_out_token_endpoint_failures_within_its_timeout(rsps, waits, status):
    rsps.post(TOKEN_URL, status=status, headers={"Retry-After": "0"})
    rsps.post(TOKEN_URL, status=status, headers={"Retry-After": "0"})
    rsps.post(TOKEN_URL, json=token_body(1))
    rsps.get(STATUS_URL, json=STATUS_BODY)
    assert make_client(timeout=5).service.get_status().status == "ok"
    assert len(token_calls(rsps)) == 3 and waits == []


def test_token_request_whose_next_try_is_past_the_timeout_fails_at_once(rsps, waits):
    rsps.post(TOKEN_URL, status=503, headers={"Retry-After": "10"})
    started = time.monotonic()
    with pytest.raises(APIException) as info:
        make_client(timeout=2).http_ropcg.fetch_token()
    assert info.value.response_code == 503
    assert len(rsps.calls) == 1 and time.monotonic() - started < 1


def test_a_refused_connection_to_the_token_endpoint_is_tried_once_per_backoff_step(waits):
    client = make_client(timeout=1, backoff_factor=0, base_uri="http://127.0.0.1:9/x")
    started = time.monotonic()
    with pytest.raises(APIException):
        client.http_ropcg.fetch_token()
    elapsed = time.monotonic() - started
    # First try at once, the next after the first backoff step (0.2 to 0.63 s); then the step
    # after it falls past the one-second timeout.
    assert 0.2 <= elapsed < 1.5 and waits == []


def test_token_error_after_a_transient_failure_still_maps_to_provider_exception(rsps, waits):
    rsps.post(TOKEN_URL, status=503, headers={"Retry-After": "0"})
    rsps.post(TOKEN_URL, status=400, json={"error": "invalid_grant"})
    with pytest.raises(OAuthProviderException):
        make_client(timeout=5).http_ropcg.fetch_token()
    assert len(rsps.calls) == 2


def test_direct_token_endpoint_calls_keep_the_pipeline_retries(rsps, waits):
    rsps.post(TOKEN_URL, status=503, headers={"Retry-After": "0"})
    rsps.post(TOKEN_URL, json=token_body(1))
    token = make_client().o_auth_authorization.request_token(None, "u", "p")
    assert token.access_token == "ACCESS-TOKEN-1" and waits == [0]


def test_a_refused_token_request_is_not_repeated(rsps, waits):
    rsps.post(TOKEN_URL, status=400, json={"error": "invalid_request"})
    with pytest.raises(APIException):
        make_client(max_retries=3).http_ropcg.fetch_token()
    assert len(rsps.calls) == 1


@pytest.mark.parametrize("status", [500, 502])
def test_a_server_error_of_the_token_endpoint_is_transient(rsps, waits, status):
    rsps.post(TOKEN_URL, status=status, json={"error": "server_error"})
    rsps.post(TOKEN_URL, json=token_body(1))
    assert make_client(timeout=5).http_ropcg.fetch_token().access_token == "ACCESS-TOKEN-1"
    assert len(rsps.calls) == 2 and waits == []


def test_a_timed_out_password_grant_is_sent_again_after_the_backoff(rsps, waits):
    rsps.post(TOKEN_URL, body=requests.exceptions.ReadTimeout("slow"))
    rsps.post(TOKEN_URL, json=token_body(1))
    assert make_client(timeout=5).http_ropcg.fetch_token().access_token == "ACCESS-TOKEN-1"
    assert len(rsps.calls) == 2


def test_a_refresh_token_whose_refresh_timed_out_is_never_presented_again(rsps, clock):
    rsps.post(TOKEN_URL, body=requests.exceptions.ReadTimeout("answer lost"))
    rsps.get(STATUS_URL, json=STATUS_BODY)
    client = make_client(make_credentials(o_auth_token=stored_token(1, expires_in=60)), timeout=5)
    clock.advance(61)
    with pytest.raises(APIException):
        client.service.get_status()
    with pytest.raises(APIException):
        client.service.get_status()
    grants = [c.request.body for c in token_calls(rsps)]
    assert sum("grant_type=refresh_token" in g for g in grants) == 1


def test_refresh_with_unknown_outcome_recovers_with_password_grant(rsps, clock):
    rsps.post(TOKEN_URL, body=requests.exceptions.ConnectionError("reset mid-refresh"))
    rsps.post(TOKEN_URL, json=token_body(2))
    rsps.get(STATUS_URL, json=STATUS_BODY)
    client = make_client(make_credentials(o_auth_token=stored_token(1, expires_in=60)))
    clock.advance(61)
    client.service.get_status()
    grants = [c.request.body for c in token_calls(rsps)]
    assert "grant_type=refresh_token" in grants[0] and "grant_type=password" in grants[1]


def test_plain_http_to_a_remote_host_is_refused_before_anything_is_sent(rsps):
    client = _client(base_uri="http://notes.example.com/api")
    with pytest.raises(InsecureTransportException, match="notes.example.com"):
        client.service.get_status()
    with pytest.raises(InsecureTransportException):
        make_client(base_uri="http://notes.example.com/api").http_ropcg.fetch_token()
    assert len(rsps.calls) == 0


def test_plain_http_to_a_remote_host_with_explicit_opt_in(rsps):
    rsps.get("http://notes.example.com/api/status", json=STATUS_BODY)
    client = _client(base_uri="http://notes.example.com/api", allow_insecure_http=True)
    assert client.service.get_status().status == "ok"


@pytest.mark.parametrize(
    "base", ["http://127.0.0.1:3000", "http://localhost:1", "http://[::1]:8080", "https://remote.example"]
)
def test_loopback_and_https_are_allowed(base):
    client = _client(base_uri=base)
    assert client._pipeline._url_for(base_controller.Endpoint("GET", "/status", None, requires_auth=True))


def test_oversized_body_is_refused(rsps):
    rsps.get(STATUS_URL, body=b"x" * 5000, status=200)
    with pytest.raises(ResponseTooLargeException, match="1024"):
        _client(max_response_bytes=1024).service.get_status()


def test_callbacks_see_every_request_and_response(rsps):
    events = []

    class Recorder(HttpCallBack):
        def on_before_request(self, request):
            events.append(("before", request.http_method, request.query_url))
            request.add_header("X-Trace", "t-1")

        def on_after_response(self, response):
            events.append(("after", response.status_code))

    rsps.post(TOKEN_URL, json=token_body(1))
    rsps.get(STATUS_URL, json=STATUS_BODY)
    make_client(http_call_back=Recorder()).service.get_status()
    assert events == [("before", "POST", TOKEN_URL), ("after", 200), ("before", "GET", STATUS_URL), ("after", 200)]
    assert all(c.request.headers["X-Trace"] == "t-1" for c in rsps.calls)


@pytest.mark.parametrize("value", ["1.5", "-1", "3 1", "soon", "Mon, 99 Foo 2020"])
def test_malformed_retry_after_falls_back_to_backoff(rsps, waits, value):
    rsps.get(STATUS_URL, status=503, headers={"Retry-After": value})
    rsps.get(STATUS_URL, json=STATUS_BODY)
    _client(max_retries=1, backoff_factor=0.1).service.get_status()
    assert 0.05 <= waits[0] <= 0.1


@pytest.mark.parametrize(
    "form", ["Sun, 06 Nov 2033 08:49:37 GMT", "Sunday, 06-Nov-33 08:49:37 GMT", "Sun Nov  6 08:49:37 2033"]
)
def test_all_three_http_date_forms_are_read(rsps, waits, form):
    rsps.get(STATUS_URL, status=503, headers={"Retry-After": form})
    rsps.get(STATUS_URL, json=STATUS_BODY)
    _client(max_retries=1, max_retry_wait=45).service.get_status()
    assert waits == [45]  # a date years ahead: capped by max_retry_wait


def test_refused_connection_on_a_token_request_is_raised_once_the_timeout_leaves_no_next_try(waits):
    started = time.monotonic()
    with pytest.raises(APIException):
        make_client(base_uri="http://127.0.0.1:9/x", timeout=0.5).http_ropcg.fetch_token()
    assert waits == [] and time.monotonic() - started < 1.5


def test_timeout_lives_in_the_configuration_and_travels_with_each_request(rsps):
    seen = []
    client = _client(timeout=7.5)
    inner = client.http_client.execute

    def recording(request, *, timeout=None):
        seen.append(timeout)
        return inner(request, timeout=timeout)

    client.http_client.execute = recording
    rsps.get(STATUS_URL, json=STATUS_BODY)
    client.service.get_status()
    assert client.http_client.timeout is None  # the transport keeps no copy of its own
    assert seen == [7.5]
