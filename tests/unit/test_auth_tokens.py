"""Getting and keeping a token (API.md section 4): the password and refresh grants, expiry, the token
provider and update callback, and what token endpoints answer."""

import logging

import pytest

from mdnotesropcgwithoutauthscopes.exceptions.api_exception import APIException
from mdnotesropcgwithoutauthscopes.exceptions.auth_validation_exception import AuthValidationException
from mdnotesropcgwithoutauthscopes.exceptions.o_auth_provider_exception import OAuthProviderException
from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import ResourceOwnerAuthCredentials
from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken
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

INVALID_GRANT = {"error": "invalid_grant", "error_description": "refresh token revoked"}


def test_fetch_token_sets_absolute_expiry(rsps, clock):
    rsps.post(TOKEN_URL, json=token_body(1, expires_in=3600))
    token = make_client().http_ropcg.fetch_token()
    assert token.expiry == clock.now + 3600
    assert isinstance(token.expiry, int)
    assert token.access_token == "ACCESS-TOKEN-1"


@pytest.mark.parametrize("expires_in, seconds", [("3600", 3600), (3600.0, 3600), (1.5, 1.5), (" 120 ", 120)])
def test_expires_in_as_number_or_numeric_string(rsps, clock, expires_in, seconds):
    clock.advance(0.75)
    rsps.post(TOKEN_URL, json=token_body(1, expires_in=expires_in))
    token = make_client().http_ropcg.fetch_token()
    assert token.expires_in == seconds
    assert token.expiry == int(clock.now + seconds)  # whole seconds, rounded down (never late)


def test_token_without_expires_in_never_expires(rsps, clock):
    rsps.post(TOKEN_URL, json=token_body(1, expires_in=None, token_type="bearer"))
    rsps.get(STATUS_URL, json=STATUS_BODY)
    client = make_client()
    client.service.get_status()
    clock.advance(10**7)
    client.service.get_status()
    assert len(token_calls(rsps)) == 1
    assert client.http_ropcg.token.expiry is None
    assert client.http_ropcg.is_valid()


def test_refresh_keeps_old_refresh_token_when_none_returned(rsps):
    rsps.post(TOKEN_URL, json=token_body(2, refresh=None))
    client = make_client(make_credentials(o_auth_token=stored_token(1)))
    token = client.http_ropcg.refresh_token()
    assert token.access_token == "ACCESS-TOKEN-2"
    assert token.refresh_token == "REFRESH-TOKEN-1"


def test_refresh_uses_rotated_refresh_token(rsps):
    rsps.post(TOKEN_URL, json=token_body(2))
    token = make_client(make_credentials(o_auth_token=stored_token(1))).http_ropcg.refresh_token()
    assert token.refresh_token == "REFRESH-TOKEN-2"


def test_user_fetch_returns_only_and_user_refresh_installs_without_notifying(rsps):
    seen = []
    rsps.post(TOKEN_URL, json=token_body(2))
    rsps.post(TOKEN_URL, json=token_body(3))
    client = make_client(make_credentials(o_auth_token=stored_token(1), o_auth_on_token_update=seen.append))
    client.http_ropcg.fetch_token()
    assert client.http_ropcg.token.access_token == "ACCESS-TOKEN-1"
    refreshed = client.http_ropcg.refresh_token()
    assert seen == []
    # The refresh spent REFRESH-TOKEN-1: the client goes on with what it returned.
    assert refreshed.access_token == "ACCESS-TOKEN-3"
    assert client.http_ropcg.token is refreshed


def test_automatic_fetch_before_first_bearer_call(rsps):
    seen = []
    rsps.post(TOKEN_URL, json=token_body(1))
    rsps.get(STATUS_URL, json=STATUS_BODY)
    client = make_client(make_credentials(o_auth_on_token_update=seen.append))
    client.service.get_status()
    client.service.get_status()
    assert len(token_calls(rsps)) == 1
    assert form_of(token_calls(rsps)[0])["grant_type"] == "password"
    assert [t.access_token for t in seen] == ["ACCESS-TOKEN-1"]


def test_expired_token_is_refreshed_automatically_once(rsps, clock):
    seen = []
    rsps.post(TOKEN_URL, json=token_body(2))
    rsps.get(STATUS_URL, json=STATUS_BODY)
    client = make_client(
        make_credentials(o_auth_token=stored_token(1, expires_in=60), o_auth_on_token_update=seen.append)
    )
    clock.advance(61)
    assert client.http_ropcg.is_token_expired()
    client.service.get_status()
    client.service.get_status()
    (refresh,) = token_calls(rsps)
    assert form_of(refresh) == {"grant_type": "refresh_token", "refresh_token": "REFRESH-TOKEN-1"}
    assert rsps.calls[-1].request.headers["Authorization"] == "Bearer ACCESS-TOKEN-2"
    assert [t.access_token for t in seen] == ["ACCESS-TOKEN-2"]
    assert not client.http_ropcg.is_token_expired()


def test_refresh_refused_with_invalid_grant_falls_back_to_password(rsps, clock):
    seen = []
    rsps.post(TOKEN_URL, status=400, json=INVALID_GRANT)
    rsps.post(TOKEN_URL, json=token_body(3))
    rsps.get(STATUS_URL, json=STATUS_BODY)
    client = make_client(
        make_credentials(o_auth_token=stored_token(1, expires_in=60), o_auth_on_token_update=seen.append)
    )
    clock.advance(120)
    client.service.get_status()
    grants = [form_of(c)["grant_type"] for c in token_calls(rsps)]
    assert grants == ["refresh_token", "password"]
    assert [t.access_token for t in seen] == ["ACCESS-TOKEN-3"]
    assert rsps.calls[-1].request.headers["Authorization"] == "Bearer ACCESS-TOKEN-3"


def test_refresh_refused_for_other_reason_is_raised(rsps, clock):
    rsps.post(TOKEN_URL, status=400, json={"error": "invalid_request"})
    client = make_client(make_credentials(o_auth_token=stored_token(1, expires_in=60)))
    clock.advance(120)
    with pytest.raises(OAuthProviderException) as info:
        client.service.get_status()
    assert info.value.error == "invalid_request"
    assert len(rsps.calls) == 1


def test_relogin_with_password_can_be_turned_off(rsps, clock):
    rsps.post(TOKEN_URL, status=400, json=INVALID_GRANT)
    creds = make_credentials(o_auth_token=stored_token(1, expires_in=60), o_auth_relogin_with_password=False)
    client = make_client(creds)
    clock.advance(120)
    with pytest.raises(OAuthProviderException) as info:
        client.service.get_status()
    assert info.value.error == "invalid_grant"
    assert len(rsps.calls) == 1  # the refresh only; no password grant, no API call


def test_relogin_off_still_allows_the_first_password_grant(rsps):
    rsps.post(TOKEN_URL, json=token_body(1))
    rsps.get(STATUS_URL, json=STATUS_BODY)
    make_client(make_credentials(o_auth_relogin_with_password=False)).service.get_status()
    assert [form_of(c)["grant_type"] for c in token_calls(rsps)] == ["password"]


def test_stored_token_alone_expired_raises_before_sending(rsps, clock):
    client = make_client(ResourceOwnerAuthCredentials(o_auth_token=stored_token(1, expires_in=60, refresh=None)))
    clock.advance(61)
    with pytest.raises(AuthValidationException) as info:
        client.service.get_status()
    assert len(rsps.calls) == 0
    assert "expired" in str(info.value)
    assert isinstance(info.value, APIException)


def test_no_credentials_at_all_raises_before_sending(rsps):
    client = make_client(ResourceOwnerAuthCredentials())
    with pytest.raises(AuthValidationException, match="missing"):
        client.user.get_user()
    assert len(rsps.calls) == 0


def test_stored_token_alone_is_valid_input(rsps):
    rsps.get(STATUS_URL, json=STATUS_BODY)
    client = make_client(ResourceOwnerAuthCredentials(o_auth_token=stored_token(5)))
    assert client.service.get_status().notes == 0
    assert rsps.calls[0].request.headers["Authorization"] == "Bearer ACCESS-TOKEN-5"


@pytest.mark.parametrize("missing", ["o_auth_username", "o_auth_password", "o_auth_client_id"])
def test_fetch_token_without_credentials_names_what_is_missing(rsps, missing):
    client = make_client(make_credentials(**{missing: None}))
    with pytest.raises(AuthValidationException, match=missing):
        client.http_ropcg.fetch_token()
    with pytest.raises(ValueError):
        client.http_ropcg.fetch_token()
    assert len(rsps.calls) == 0


def test_refresh_token_without_a_token_raises_before_sending(rsps):
    with pytest.raises(AuthValidationException, match="refresh_token"):
        make_client().http_ropcg.refresh_token()
    assert len(rsps.calls) == 0


def test_clock_skew_is_subtracted_from_expiry(clock):
    token = stored_token(1, expires_in=3600)
    manager = make_client(make_credentials(o_auth_token=token, o_auth_clock_skew=60)).http_ropcg
    clock.advance(3600 - 61)
    assert not manager.is_token_expired()
    clock.advance(2)
    assert manager.is_token_expired()


def test_clock_skew_is_capped_at_half_the_lifetime(rsps, clock):
    rsps.post(TOKEN_URL, json=token_body(1, expires_in=10))
    manager = make_client(make_credentials(o_auth_clock_skew=300)).http_ropcg
    token = manager.fetch_token()
    assert not manager.is_token_expired(token)  # a 300 s skew must not make a 10 s token born expired
    clock.advance(4.9)
    assert not manager.is_token_expired(token)
    clock.advance(0.2)
    assert manager.is_token_expired(token)


def test_is_token_expired_and_is_valid_without_token():
    manager = make_client().http_ropcg
    assert manager.is_token_expired() is False
    assert manager.is_valid() is False


def test_token_provider_replaces_builtin_fetch(rsps, clock):
    calls = []

    def provider(last, manager):
        calls.append(last)
        return OAuthToken(f"PROVIDED-{len(calls)}", "Bearer", expires_in=60)

    seen = []
    rsps.get(STATUS_URL, json=STATUS_BODY)
    client = make_client(make_credentials(o_auth_token_provider=provider, o_auth_on_token_update=seen.append))
    client.service.get_status()
    clock.advance(61)
    client.service.get_status()
    assert len(token_calls(rsps)) == 0
    assert calls[0] is None and calls[1].access_token == "PROVIDED-1"
    assert rsps.calls[-1].request.headers["Authorization"] == "Bearer PROVIDED-2"
    assert [t.access_token for t in seen] == ["PROVIDED-1", "PROVIDED-2"]
    assert client.http_ropcg.token.expiry == clock.now + 60


def test_token_provider_must_return_a_token(rsps):
    client = make_client(make_credentials(o_auth_token_provider=lambda last, manager: "nope"))
    with pytest.raises(AuthValidationException, match="OAuthToken"):
        client.service.get_status()
    assert len(rsps.calls) == 0


def test_failing_update_callback_is_logged_and_does_not_fail_the_call(rsps, sdk_logs):
    def callback(token):
        raise RuntimeError(f"database down while saving {token.access_token}")

    rsps.post(TOKEN_URL, json=token_body(1))
    rsps.get(STATUS_URL, json=STATUS_BODY)
    client = make_client(make_credentials(o_auth_on_token_update=callback))
    assert client.service.get_status().status == "ok"
    warnings = [r for r in sdk_logs.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "o_auth_on_token_update" in warnings[0].getMessage()
    assert "ACCESS-TOKEN-1" not in sdk_logs.text


@pytest.mark.parametrize(
    "body",
    [
        {"access_token": "", "token_type": "Bearer"},
        {"access_token": 42, "token_type": "Bearer"},
        {"access_token": "a\r\nX-Evil: 1", "token_type": "Bearer"},
        {"token_type": "Bearer"},
    ],
)
def test_unusable_access_token_never_reaches_a_header(rsps, body):
    rsps.post(TOKEN_URL, json=body)
    client = make_client()
    with pytest.raises(APIException, match="access_token"):
        client.service.get_status()
    assert [c.request.url for c in rsps.calls] == [TOKEN_URL]


@pytest.mark.parametrize("body", [b"<html>oops</html>", b"[1, 2]", b"", b"null", b'"text"'])
def test_token_response_that_is_not_a_json_object(rsps, body):
    rsps.post(TOKEN_URL, body=body, status=200, content_type="application/json")
    with pytest.raises(APIException, match="not a JSON object") as info:
        make_client().http_ropcg.fetch_token()
    assert type(info.value) is APIException
    assert info.value.response_code == 200


def test_token_type_case_and_extra_fields(rsps):
    rsps.post(TOKEN_URL, json=token_body(1, token_type="bearer", id_token="x", user_id=0))
    rsps.get(STATUS_URL, json=STATUS_BODY)
    client = make_client()
    client.service.get_status()
    token = client.http_ropcg.token
    assert token.token_type == "bearer"
    assert token.additional_properties == {"id_token": "x", "user_id": 0}
    assert rsps.calls[-1].request.headers["Authorization"] == "Bearer ACCESS-TOKEN-1"


def test_credentials_accept_stored_token_dictionary(rsps):
    rsps.get(STATUS_URL, json=STATUS_BODY)
    stored = stored_token(4).to_dictionary()
    client = make_client(ResourceOwnerAuthCredentials(o_auth_token=stored))
    client.service.get_status()
    assert rsps.calls[0].request.headers["Authorization"] == "Bearer ACCESS-TOKEN-4"


def test_short_token_with_skew_is_not_born_expired_and_keeps_one_whole_second_expiry(rsps, clock):
    clock.advance(0.9)  # arrival late in a second: expiry (whole seconds) rounds down by 0.9 s
    sent_at = clock()
    rsps.post(TOKEN_URL, json=token_body(1, expires_in=3))
    rsps.get(STATUS_URL, json=STATUS_BODY)
    client = make_client(make_credentials(o_auth_clock_skew=5, o_auth_refresh_window=0))
    client.service.get_status()
    token = client.http_ropcg.token
    assert token is not None and isinstance(token.expiry, int) and token.expiry == int(sent_at + 3)
    assert client.http_ropcg.is_valid() and not client.http_ropcg.is_token_expired()
    client.service.get_status()
    assert len(token_calls(rsps)) == 1
    # The skew is capped at half the lifetime (1.5 s), taken off the one expiry the token carries.
    clock.advance(token.expiry - 1.5 - clock() - 0.01)
    assert client.http_ropcg.is_valid()
    clock.advance(0.02)
    assert client.http_ropcg.is_token_expired()


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


def test_failing_update_callback_warning_names_its_message_without_secrets(rsps, sdk_logs):
    def callback(token):
        raise RuntimeError(f"disk full while saving {token.access_token} / {token.refresh_token}")

    rsps.post(TOKEN_URL, json=token_body(1))
    rsps.get(STATUS_URL, json=STATUS_BODY)
    make_client(make_credentials(o_auth_on_token_update=callback)).service.get_status()
    (warning,) = [r.getMessage() for r in sdk_logs.records if r.levelno == logging.WARNING]
    assert "RuntimeError: disk full while saving *** / ***" in warning
    assert "ACCESS-TOKEN-1" not in sdk_logs.text and "REFRESH-TOKEN-1" not in sdk_logs.text


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
