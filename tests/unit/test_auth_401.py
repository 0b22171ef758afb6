"""A 401 from the API (API.md section 4): the token is renewed once and the call repeated once, never in a loop."""

import pytest

from mdnotesropcgwithoutauthscopes.exceptions.api_exception import APIException
from mdnotesropcgwithoutauthscopes.exceptions.auth_validation_exception import AuthValidationException
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
)
from tests.helpers.threads import run_in_threads


@pytest.mark.parametrize("www_authenticate", ['Bearer realm="x", error="invalid_token", error_description="revoked"'])
def test_401_invalid_token_renews_once_and_repeats_once(rsps, www_authenticate):
    seen = []
    rsps.get(STATUS_URL, status=401, headers={"WWW-Authenticate": www_authenticate}, json={})
    rsps.get(STATUS_URL, json=STATUS_BODY)
    rsps.post(TOKEN_URL, json=token_body(2))
    client = make_client(make_credentials(o_auth_token=stored_token(1), o_auth_on_token_update=seen.append))
    assert client.service.get_status().status == "ok"
    urls = [c.request.url for c in rsps.calls]
    assert urls == [STATUS_URL, TOKEN_URL, STATUS_URL]
    assert form_of(rsps.calls[1])["grant_type"] == "refresh_token"
    assert rsps.calls[2].request.headers["Authorization"] == "Bearer ACCESS-TOKEN-2"
    assert len(seen) == 1


def test_401_invalid_token_twice_is_not_a_loop(rsps):
    rsps.get(STATUS_URL, status=401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}, json={})
    rsps.post(TOKEN_URL, json=token_body(2))
    client = make_client(make_credentials(o_auth_token=stored_token(1)))
    with pytest.raises(APIException) as info:
        client.service.get_status()
    assert info.value.response_code == 401
    assert [c.request.url for c in rsps.calls] == [STATUS_URL, TOKEN_URL, STATUS_URL]


@pytest.mark.parametrize(
    "www_authenticate",
    [
        'Bearer error="insufficient_scope", error_description="not an invalid_token"',
        'Bearer realm="x", error=insufficient_scope',
        'Bearer error_description="invalid_token", error="invalid_request"',
    ],
)
def test_401_naming_another_error_is_not_retried(rsps, www_authenticate):
    rsps.get(STATUS_URL, status=401, headers={"WWW-Authenticate": www_authenticate}, json={})
    client = make_client(make_credentials(o_auth_token=stored_token(1)))
    with pytest.raises(APIException) as info:
        client.service.get_status()
    assert info.value.response_code == 401
    assert len(rsps.calls) == 1


@pytest.mark.parametrize("headers", [{"WWW-Authenticate": 'Bearer realm="x"'}, {"WWW-Authenticate": "Bearer"}, {}])
def test_401_with_bare_challenge_or_none_renews_once_and_repeats_once(rsps, headers):
    rsps.get(STATUS_URL, status=401, headers=headers, json={"detail": "Could not validate credentials"})
    rsps.get(STATUS_URL, json=STATUS_BODY)
    rsps.post(TOKEN_URL, json=token_body(2))
    client = make_client(make_credentials(o_auth_token=stored_token(1)))
    assert client.service.get_status().status == "ok"
    assert [c.request.url for c in rsps.calls] == [STATUS_URL, TOKEN_URL, STATUS_URL]
    assert rsps.calls[2].request.headers["Authorization"] == "Bearer ACCESS-TOKEN-2"


def test_401_invalid_token_with_stored_token_alone_raises_clearly(rsps):
    rsps.get(STATUS_URL, status=401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}, json={})
    client = make_client(ResourceOwnerAuthCredentials(o_auth_token=stored_token(1, refresh=None)))
    with pytest.raises(AuthValidationException):
        client.service.get_status()
    assert len(rsps.calls) == 1


def test_revoked_token_of_a_token_only_client_says_the_server_refused_it(rsps):
    rsps.get(STATUS_URL, status=401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}, json={})
    client = make_client(ResourceOwnerAuthCredentials(o_auth_token=stored_token(1, refresh=None)))
    with pytest.raises(AuthValidationException) as info:
        client.service.get_status()
    assert info.value.response_code == 401
    assert "refused by the server" in str(info.value)
    assert "expired" not in info.value.reason.split(":")[0]


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

    errors = run_in_threads(client.service.get_status, 16)

    assert errors == []
    assert token_endpoint.state["count"] == 1
