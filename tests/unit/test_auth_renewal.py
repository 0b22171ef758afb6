"""The auth manager's second round: early renewal, shared failures, trusted expiry, token stores."""

import json
import logging
import threading
import time

import pytest

from mdnotesropcgwithoutauthscopes.exceptions.api_exception import APIException
from mdnotesropcgwithoutauthscopes.exceptions.auth_validation_exception import AuthValidationException
from mdnotesropcgwithoutauthscopes.exceptions.o_auth_provider_exception import OAuthProviderException
from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import ResourceOwnerAuthCredentials, token_store_key
from mdnotesropcgwithoutauthscopes.http.auth.token_store import MemoryTokenStore, TokenStore
from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken
from tests.helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    PASSWORD,
    STATUS_BODY,
    STATUS_URL,
    TOKEN_URL,
    USERNAME,
    form_of,
    make_client,
    make_credentials,
    stored_token,
    token_body,
    token_calls,
)


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


def _wait_for(predicate, seconds=5.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def _renewal_threads():
    return [t for t in threading.enumerate() if t.name == "mdnotes-token-renewal"]


# ----------------------------------------------------------------------------- early renewal


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
    assert _wait_for(lambda: client.http_ropcg.token.access_token == "ACCESS-TOKEN-2")
    assert _wait_for(lambda: not _renewal_threads())  # no thread is left behind
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
    assert _wait_for(lambda: len(token_calls(rsps)) == 1 and not _renewal_threads())
    warnings = [r.getMessage() for r in sdk_logs.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "Early token renewal failed" in warnings[0]
    for _ in range(20):  # still valid: calls go on, and no renewal is tried again during the backoff
        assert client.service.get_status().status == "ok"
    assert len(token_calls(rsps)) == 1
    clock.advance(4)  # past the backoff (at most a quarter of the 15 s left)
    client.service.get_status()
    assert _wait_for(lambda: len(token_calls(rsps)) == 2 and not _renewal_threads())
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
    assert _wait_for(lambda: len(token_calls(rsps)) == expected and not _renewal_threads())
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
    assert _wait_for(lambda: len(token_calls(rsps)) == 1)


def test_refresh_window_is_validated():
    with pytest.raises(ValueError, match="o_auth_refresh_window"):
        ResourceOwnerAuthCredentials(o_auth_refresh_window=-1)
    with pytest.raises(TypeError, match="o_auth_refresh_window"):
        ResourceOwnerAuthCredentials(o_auth_refresh_window="60")


# ----------------------------------------------------------------------------- shared failures


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
    assert _wait_for(lambda: len(calls) == 1)
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


# ----------------------------------------------------------------------------- expiry is ours


@pytest.mark.parametrize("server_expiry", [9_999_999_999, 1])
def test_a_server_sent_expiry_is_not_trusted(rsps, clock, server_expiry):
    rsps.post(TOKEN_URL, json=token_body(1, expires_in=1, expiry=server_expiry))
    token = make_client().http_ropcg.fetch_token()
    assert token.expiry == int(clock.now) + 1


def test_a_server_sent_expiry_without_expires_in_is_dropped(rsps, clock):
    rsps.post(TOKEN_URL, json=token_body(1, expires_in=None, expiry=1))
    token = make_client().http_ropcg.fetch_token()
    assert token.expiry is None


def test_a_token_from_the_users_provider_keeps_its_expiry(rsps, clock):
    rsps.get(STATUS_URL, json=STATUS_BODY)
    mine = OAuthToken("MINE", "Bearer", expires_in=60, expiry=int(clock.now) + 30)
    client = make_client(ResourceOwnerAuthCredentials(o_auth_token_provider=lambda last, manager: mine))
    client.service.get_status()
    assert client.http_ropcg.token.expiry == int(clock.now) + 30
    assert client.http_ropcg.token is not mine  # the SDK never changes a token it was given


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


def test_failing_update_callback_warning_names_its_message_without_secrets(rsps, sdk_logs):
    def callback(token):
        raise RuntimeError(f"disk full while saving {token.access_token} / {token.refresh_token}")

    rsps.post(TOKEN_URL, json=token_body(1))
    rsps.get(STATUS_URL, json=STATUS_BODY)
    make_client(make_credentials(o_auth_on_token_update=callback)).service.get_status()
    (warning,) = [r.getMessage() for r in sdk_logs.records if r.levelno == logging.WARNING]
    assert "RuntimeError: disk full while saving *** / ***" in warning
    assert "ACCESS-TOKEN-1" not in sdk_logs.text and "REFRESH-TOKEN-1" not in sdk_logs.text


# ----------------------------------------------------------------------------- third-party answers


def test_wrong_password_answered_401_detail_is_sent_once_and_reported_as_such(rsps):
    rsps.post(
        TOKEN_URL,
        status=401,
        json={"detail": "Incorrect username or password"},
        headers={"WWW-Authenticate": "Bearer"},
    )
    with pytest.raises(OAuthProviderException) as info:
        make_client().http_ropcg.fetch_token()
    assert len(rsps.calls) == 1
    assert info.value.response_code == 401


def test_refresh_refused_naming_no_error_falls_back_to_password_once(rsps, clock):
    rsps.post(TOKEN_URL, status=401, json={"detail": "Invalid refresh token"})
    rsps.post(TOKEN_URL, json=token_body(2))
    rsps.get(STATUS_URL, json=STATUS_BODY)
    client = make_client(make_credentials(o_auth_token=stored_token(1, expires_in=60)))
    clock.advance(61)
    client.service.get_status()
    client.service.get_status()
    grants = [form_of(c)["grant_type"] for c in token_calls(rsps)]
    assert grants == ["refresh_token", "password"]


def test_refresh_refused_for_a_refused_client_is_not_retried_with_the_password(rsps, clock):
    rsps.post(TOKEN_URL, status=401, json={"error": "invalid_client"}, headers={"WWW-Authenticate": "Basic"})
    client = make_client(
        make_credentials(
            o_auth_token=stored_token(1, expires_in=60), o_auth_client_authentication="client_secret_basic"
        )
    )
    clock.advance(61)
    with pytest.raises(OAuthProviderException):
        client.service.get_status()
    assert [form_of(c)["grant_type"] for c in token_calls(rsps)] == ["refresh_token"]


def test_revoked_token_of_a_token_only_client_says_the_server_refused_it(rsps):
    rsps.get(STATUS_URL, status=401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}, json={})
    client = make_client(ResourceOwnerAuthCredentials(o_auth_token=stored_token(1, refresh=None)))
    with pytest.raises(AuthValidationException) as info:
        client.service.get_status()
    assert info.value.response_code == 401
    assert "refused by the server" in str(info.value)
    assert "expired" not in info.value.reason.split(":")[0]


# ----------------------------------------------------------------------------- token stores


def test_store_key_is_a_hash_of_server_client_and_user():
    key = token_store_key(TOKEN_URL, CLIENT_ID, USERNAME)
    assert key.startswith("token:") and len(key) == len("token:") + 64
    assert USERNAME not in key and CLIENT_ID not in key
    assert key != token_store_key(TOKEN_URL, CLIENT_ID, "bob@example.com")
    assert key != token_store_key(TOKEN_URL.replace("localhost", "127.0.0.1"), CLIENT_ID, USERNAME)


def test_clients_sharing_a_store_share_one_token(rsps):
    rsps.post(TOKEN_URL, json=token_body(1))
    rsps.get(STATUS_URL, json=STATUS_BODY)
    seen = []
    store = MemoryTokenStore()
    first = make_client(make_credentials(o_auth_token_store=store, o_auth_on_token_update=seen.append))
    second = make_client(make_credentials(o_auth_token_store=store, o_auth_on_token_update=seen.append))
    first.service.get_status()
    second.service.get_status()
    assert len(token_calls(rsps)) == 1
    assert [c.request.headers["Authorization"] for c in rsps.calls if c.request.url == STATUS_URL] == [
        "Bearer ACCESS-TOKEN-1"
    ] * 2
    assert len(seen) == 1  # not called for the token the second client adopted
    stored = store.load(first.http_ropcg.token_store_key)
    assert stored.access_token == "ACCESS-TOKEN-1"
    text = json.dumps(stored.to_dictionary())
    for secret in (PASSWORD, CLIENT_SECRET, USERNAME, CLIENT_ID):
        assert secret not in text


def test_renewal_reads_the_store_again_and_adopts_a_token_another_process_saved(rsps, clock):
    rsps.get(STATUS_URL, json=STATUS_BODY)
    store = MemoryTokenStore()
    client = make_client(make_credentials(o_auth_token=stored_token(1, expires_in=60), o_auth_token_store=store))
    newer = stored_token(7, expires_in=3600)
    store.save(client.http_ropcg.token_store_key, newer)
    clock.advance(61)
    client.service.get_status()
    assert token_calls(rsps) == []
    assert rsps.calls[-1].request.headers["Authorization"] == "Bearer ACCESS-TOKEN-7"


def test_renewal_refreshes_with_the_stored_refresh_token_and_saves_the_result(rsps, clock):
    rsps.post(TOKEN_URL, json=token_body(9))
    rsps.get(STATUS_URL, json=STATUS_BODY)
    store = MemoryTokenStore()
    client = make_client(make_credentials(o_auth_token=stored_token(1, expires_in=60), o_auth_token_store=store))
    store.save(client.http_ropcg.token_store_key, stored_token(5, expires_in=30))  # rotated by another process
    clock.advance(61)
    client.service.get_status()
    (refresh,) = token_calls(rsps)
    assert form_of(refresh)["refresh_token"] == "REFRESH-TOKEN-5"
    assert store.load(client.http_ropcg.token_store_key).access_token == "ACCESS-TOKEN-9"


class BrokenStore(TokenStore):
    """A store whose backend is down."""

    def load(self, key):
        raise ConnectionError("redis://:hunter2@cache:6379 unreachable")

    def save(self, key, token):
        raise ConnectionError("down")

    def delete(self, key):
        raise ConnectionError("down")

    def lock(self, key, timeout):
        raise ConnectionError("down")


def test_a_failing_store_is_logged_once_and_calls_go_on_in_process(rsps, sdk_logs):
    rsps.post(TOKEN_URL, json=token_body(1))
    rsps.get(STATUS_URL, json=STATUS_BODY)
    client = make_client(make_credentials(o_auth_token_store=BrokenStore()))
    for _ in range(3):
        assert client.service.get_status().status == "ok"
    assert len(token_calls(rsps)) == 1
    warnings = [r.getMessage() for r in sdk_logs.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "Token store" in warnings[0]
    assert "hunter2" not in sdk_logs.text


def test_a_client_with_a_store_starts_from_the_stored_token(rsps):
    rsps.get(STATUS_URL, json=STATUS_BODY)
    store = MemoryTokenStore()
    client = make_client(make_credentials(o_auth_token_store=store))
    store.save(client.http_ropcg.token_store_key, stored_token(3))
    assert client.http_ropcg.token.access_token == "ACCESS-TOKEN-3"
    client.service.get_status()
    assert token_calls(rsps) == []


def test_manual_refresh_with_a_store_saves_what_it_returns(rsps):
    rsps.post(TOKEN_URL, json=token_body(2))
    store = MemoryTokenStore()
    client = make_client(make_credentials(o_auth_token=stored_token(1), o_auth_token_store=store))
    token = client.http_ropcg.refresh_token()
    assert store.load(client.http_ropcg.token_store_key).access_token == token.access_token == "ACCESS-TOKEN-2"


def test_token_store_must_be_a_token_store():
    with pytest.raises(TypeError, match="o_auth_token_store"):
        ResourceOwnerAuthCredentials(o_auth_token_store="tokens.sqlite3")


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
    assert _wait_for(lambda: not _renewal_threads())
    assert token_calls(rsps) == []  # nothing was sent after close()
    assert [r for r in sdk_logs.records if r.levelno >= logging.WARNING] == []
