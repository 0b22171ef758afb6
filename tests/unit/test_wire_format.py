"""Exact wire format of token requests and Bearer calls."""

import base64
from urllib.parse import quote, quote_plus, unquote_plus

import pytest

from mdnotesropcgwithoutauthscopes.exceptions.o_auth_provider_exception import OAuthProviderException
from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import ClientAuthentication
from tests.helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    PASSWORD,
    STATUS_BODY,
    STATUS_URL,
    TOKEN_URL,
    USER_BODY,
    USER_URL,
    USERNAME,
    form_of,
    make_client,
    make_credentials,
    stored_token,
    token_body,
)


def _basic(header: str) -> str:
    assert header.startswith("Basic ")
    return base64.b64decode(header[len("Basic ") :]).decode("utf-8")


def test_password_grant_wire_format(rsps):
    rsps.post(TOKEN_URL, json=token_body(1))
    make_client().http_ropcg.fetch_token()

    (call,) = rsps.calls
    request = call.request
    assert request.method == "POST"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["Accept"] == "application/json"
    assert form_of(call) == {"grant_type": "password", "username": USERNAME, "password": PASSWORD}
    assert "scope" not in request.body
    # RFC 6749 2.3.1: form-urlencode id and secret, then join with ':' and base64.
    assert _basic(request.headers["Authorization"]) == f"{quote_plus(CLIENT_ID)}:{quote_plus(CLIENT_SECRET)}"


def test_basic_credentials_decode_back_per_rfc(rsps):
    rsps.post(TOKEN_URL, json=token_body(1))
    make_client().http_ropcg.fetch_token()
    encoded_id, _, encoded_secret = _basic(rsps.calls[0].request.headers["Authorization"]).partition(":")
    assert unquote_plus(encoded_id) == CLIENT_ID
    assert unquote_plus(encoded_secret) == CLIENT_SECRET


def test_refresh_grant_wire_format(rsps):
    rsps.post(TOKEN_URL, json=token_body(2))
    client = make_client(make_credentials(o_auth_token=stored_token(1)))
    client.http_ropcg.refresh_token()

    (call,) = rsps.calls
    assert call.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert call.request.headers["Accept"] == "application/json"
    assert form_of(call) == {"grant_type": "refresh_token", "refresh_token": "REFRESH-TOKEN-1"}
    assert _basic(call.request.headers["Authorization"]) == f"{quote_plus(CLIENT_ID)}:{quote_plus(CLIENT_SECRET)}"


def test_additional_params_are_sent_and_scope_only_when_asked(rsps):
    rsps.post(TOKEN_URL, json=token_body(1, scope="notes"))
    token = make_client().http_ropcg.fetch_token({"scope": "notes", "audience": "x"})
    assert form_of(rsps.calls[0]) == {
        "grant_type": "password",
        "username": USERNAME,
        "password": PASSWORD,
        "scope": "notes",
        "audience": "x",
    }
    assert token.scope == "notes"


def test_basic_unencoded_method(rsps):
    rsps.post(TOKEN_URL, json=token_body(1))
    creds = make_credentials(o_auth_client_authentication=ClientAuthentication.BASIC_UNENCODED)
    make_client(creds).http_ropcg.fetch_token()
    assert _basic(rsps.calls[0].request.headers["Authorization"]) == f"{CLIENT_ID}:{CLIENT_SECRET}"


@pytest.mark.parametrize("grant", ["fetch", "refresh"])
def test_request_body_method_puts_credentials_in_form_for_both_grants(rsps, grant):
    rsps.post(TOKEN_URL, json=token_body(2))
    creds = make_credentials(
        o_auth_client_authentication=ClientAuthentication.REQUEST_BODY, o_auth_token=stored_token(1)
    )
    manager = make_client(creds).http_ropcg
    manager.fetch_token() if grant == "fetch" else manager.refresh_token()
    request = rsps.calls[0].request
    assert "Authorization" not in request.headers
    form = form_of(rsps.calls[0])
    assert form["client_id"] == CLIENT_ID and form["client_secret"] == CLIENT_SECRET


def test_bearer_header_on_status_and_user(rsps):
    rsps.get(STATUS_URL, json=STATUS_BODY)
    rsps.get(USER_URL, json=USER_BODY)
    client = make_client(make_credentials(o_auth_token=stored_token(7)))
    client.service.get_status()
    client.user.get_user()
    assert [c.request.url for c in rsps.calls] == [STATUS_URL, USER_URL]
    for call in rsps.calls:
        assert call.request.method == "GET"
        assert call.request.headers["Authorization"] == "Bearer ACCESS-TOKEN-7"
        assert call.request.headers["Accept"] == "application/json"
        assert call.request.body is None


def test_token_request_never_carries_a_bearer_header(rsps):
    rsps.post(TOKEN_URL, json=token_body(1))
    rsps.get(STATUS_URL, json=STATUS_BODY)
    make_client().service.get_status()
    assert rsps.calls[0].request.headers["Authorization"].startswith("Basic ")
    assert rsps.calls[1].request.headers["Authorization"] == "Bearer ACCESS-TOKEN-1"


def test_base_uri_and_auth_server(rsps):
    rsps.get("https://notes.example.com/api/status", json=STATUS_BODY)
    client = make_client(make_credentials(o_auth_token=stored_token(1)), base_uri="https://notes.example.com/api/")
    assert client.service.get_status().status == "ok"
    from mdnotesropcgwithoutauthscopes.configuration import Server

    assert client.config.get_base_uri(Server.AUTH) == "http://localhost:3000/oauth2/auth-server"
    assert client.config.get_base_uri() == "https://notes.example.com/api"


INVALID_CLIENT = {"error": "invalid_client"}


def test_auto_falls_back_when_rfc_basic_is_refused_and_keeps_the_method(rsps):
    rsps.post(TOKEN_URL, status=401, json=INVALID_CLIENT)  # a server that does not form-decode Basic
    rsps.post(TOKEN_URL, json=token_body(1))
    rsps.post(TOKEN_URL, json=token_body(2))
    manager = make_client(make_credentials(o_auth_token=stored_token(0))).http_ropcg
    manager.fetch_token()
    manager.refresh_token()
    first, second, refresh = rsps.calls
    assert _basic(first.request.headers["Authorization"]) == f"{quote_plus(CLIENT_ID)}:{quote_plus(CLIENT_SECRET)}"
    # The secret holds a space: percent-encoded Basic (%20, not +) is next, and it sticks.
    percent = f"{quote(CLIENT_ID, safe='')}:{quote(CLIENT_SECRET, safe='')}"
    assert _basic(second.request.headers["Authorization"]) == percent
    assert _basic(refresh.request.headers["Authorization"]) == percent
    assert "client_secret" not in form_of(refresh)


def test_auto_order_form_percent_raw_then_body(rsps):
    for _ in range(3):
        rsps.post(TOKEN_URL, status=401, json=INVALID_CLIENT)
    rsps.post(TOKEN_URL, json=token_body(1))
    make_client(make_credentials(o_auth_client_id="plain-id", o_auth_client_secret="a+b c")).http_ropcg.fetch_token()
    basics = [_basic(c.request.headers["Authorization"]) for c in rsps.calls[:3]]
    assert basics == ["plain-id:a%2Bb+c", "plain-id:a%2Bb%20c", "plain-id:a+b c"]
    assert "Authorization" not in rsps.calls[3].request.headers
    assert form_of(rsps.calls[3])["client_secret"] == "a+b c"


def test_auto_skips_encodings_that_send_the_same_bytes(rsps):
    rsps.post(TOKEN_URL, status=401, json=INVALID_CLIENT)
    rsps.post(TOKEN_URL, json=token_body(1))
    # '+' and '%' encode alike in form and percent encoding: raw Basic is the only other header.
    make_client(make_credentials(o_auth_client_id="plain-id", o_auth_client_secret="a+b%c")).http_ropcg.fetch_token()
    assert [_basic(c.request.headers["Authorization"]) for c in rsps.calls] == ["plain-id:a%2Bb%25c", "plain-id:a+b%c"]


def test_auto_reports_the_first_refusal_when_every_method_fails(rsps):
    rsps.post(TOKEN_URL, status=401, json={"error": "invalid_client", "error_description": "client is invalid"})
    rsps.post(
        TOKEN_URL, status=400, json={"error": "invalid_request", "error_description": "Invalid parameter: client_id"}
    )
    with pytest.raises(OAuthProviderException) as info:
        make_client().http_ropcg.fetch_token()
    assert (info.value.error, info.value.response_code) == ("invalid_client", 401)
    assert len(rsps.calls) == 3  # form Basic, percent Basic, form body (the id holds ':')


def test_a_fallback_that_reaches_the_password_check_reports_it(rsps):
    rsps.post(TOKEN_URL, status=401, json=INVALID_CLIENT)
    rsps.post(TOKEN_URL, status=400, json={"error": "invalid_grant"})
    with pytest.raises(OAuthProviderException) as info:
        make_client().http_ropcg.fetch_token()
    assert info.value.error == "invalid_grant"
    assert len(rsps.calls) == 2


def test_auto_sends_one_request_when_encodings_cannot_differ(rsps):
    rsps.post(TOKEN_URL, status=401, json=INVALID_CLIENT)
    creds = make_credentials(o_auth_client_id="plain-id", o_auth_client_secret="plainsecret")
    with pytest.raises(OAuthProviderException):
        make_client(creds).http_ropcg.fetch_token()
    assert len(rsps.calls) == 1


def test_named_method_never_falls_back(rsps):
    rsps.post(TOKEN_URL, status=401, json=INVALID_CLIENT)
    with pytest.raises(OAuthProviderException) as info:
        make_client(make_credentials(o_auth_client_authentication=ClientAuthentication.BASIC)).http_ropcg.fetch_token()
    assert info.value.error == "invalid_client"
    assert len(rsps.calls) == 1


def test_auto_does_not_fall_back_on_a_wrong_password(rsps):
    rsps.post(TOKEN_URL, status=400, json={"error": "invalid_grant"})
    with pytest.raises(OAuthProviderException):
        make_client().http_ropcg.fetch_token()
    assert len(rsps.calls) == 1


def test_auto_does_not_fall_back_on_401_invalid_grant(rsps):
    rsps.post(TOKEN_URL, status=401, json={"error": "invalid_grant", "error_description": "Invalid user credentials"})
    with pytest.raises(OAuthProviderException) as info:
        make_client().http_ropcg.fetch_token()
    assert info.value.error == "invalid_grant" and info.value.response_code == 401
    assert len(rsps.calls) == 1


def test_auto_falls_back_on_400_invalid_client_and_on_401_with_basic_challenge(rsps):
    rsps.post(TOKEN_URL, status=400, json={"error": "invalid_client"})
    rsps.post(TOKEN_URL, status=401, body="Unauthorized", headers={"WWW-Authenticate": 'Basic realm="token"'})
    rsps.post(TOKEN_URL, json=token_body(1))
    creds = make_credentials(o_auth_client_id="plain-id")  # no ':', so raw Basic is tried too
    make_client(creds).http_ropcg.fetch_token()
    assert len(rsps.calls) == 3
    assert _basic(rsps.calls[2].request.headers["Authorization"]) == f"plain-id:{CLIENT_SECRET}"
