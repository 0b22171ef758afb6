"""The ``responses`` helper: realistic answers, counters and scripted errors, without a socket."""

import sys

import pytest
import requests
import responses

from mdnotesropcgwithoutauthscopes.exceptions.api_connection_exception import APIConnectionException
from mdnotesropcgwithoutauthscopes.exceptions.api_exception import APIException
from mdnotesropcgwithoutauthscopes.exceptions.credentials_held_exception import CredentialsHeldException
from mdnotesropcgwithoutauthscopes.exceptions.o_auth_provider_exception import OAuthProviderException
from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import ResourceOwnerAuthCredentials
from mdnotesropcgwithoutauthscopes.mdnotesropcgwithoutauthscopes_client import MdnotesropcgwithoutauthscopesClient
from mdnotesropcgwithoutauthscopes.testing import MdNotesResponses, ServerUser, client_for, credentials_for

DEFAULT_BASE = "http://localhost:3000/oauth2/non-auth-server"


@pytest.fixture
def api():
    with MdNotesResponses() as mock:
        yield mock


@pytest.fixture
def client(api):
    with client_for(api) as sdk_client:
        yield sdk_client


def test_answers_on_the_sdks_default_base_uri_with_realistic_bodies(api):
    assert api.base_uri == DEFAULT_BASE
    # A client built without base_uri, as in the README, reaches the mock.
    with MdnotesropcgwithoutauthscopesClient(resource_owner_auth_credentials=credentials_for(api)) as client:
        status = client.service.get_status()
        user = client.user.get_user()
        token = client.http_ropcg.token

    assert (status.app, status.moto, status.notes, status.users, status.status) == (
        "MdNotes",
        "Notes made simple",
        0,
        1,
        "ok",
    )
    assert status.time.endswith("Z") and status.os and status.php_version
    assert (user.id, user.name, user.email) == (1, "Demo User", "demo@example.com")
    assert user.created_at and user.updated_at
    assert (token.token_type, token.expires_in) == ("Bearer", 3600) and token.refresh_token

    token_call = api.calls[0]
    assert token_call.request.url == api.token_url
    assert token_call.request.headers["Authorization"].startswith("Basic ")
    assert token_call.response.headers["Cache-Control"] == "no-store"
    assert api.calls[1].request.headers["Authorization"] == f"Bearer {token.access_token}"
    raw = requests.post(
        api.token_url,
        data={"grant_type": "password", "username": "demo@example.com", "password": "demo-password"},
        auth=("demo-client", "demo-secret"),
        timeout=5,
    )
    assert raw.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert set(raw.json()) == {"access_token", "token_type", "expires_in", "refresh_token"}


def test_counts_token_requests_by_grant_and_calls_by_endpoint(api, client):
    client.service.get_status()
    client.service.get_status()
    client.http_ropcg.refresh_token()
    client.user.get_user()
    assert api.stats() == {
        "token_requests": 2,
        "password_grant_requests": 1,
        "refresh_grant_requests": 1,
        "password_grants": 1,
        "refresh_grants": 1,
        "failed_token_requests": 0,
        "reused_refresh_tokens": 0,
        "refused_password_grants": 0,
        "client_authentication_failures": 0,
        "account_lockouts": 0,
        "client_lockouts": 0,
        "locked_account_refusals": 0,
        "locked_client_refusals": 0,
        "expired_access_tokens": 0,
        "api_requests": 3,
        "status_requests": 2,
        "user_requests": 1,
    }
    api.reset_stats()
    assert set(api.stats().values()) == {0}


def test_a_wrong_password_is_refused_as_the_server_would(api):
    with client_for(api, credentials=credentials_for(api, o_auth_password="wrong")) as client:
        with pytest.raises(OAuthProviderException) as info:
            client.service.get_status()
    assert (info.value.response_code, info.value.error) == (400, "invalid_grant")
    assert api.stats()["failed_token_requests"] == 1


def test_scripted_wrong_password_applies_to_password_grants_only(api, client):
    client.service.get_status()
    api.script_wrong_password()
    client.http_ropcg.refresh_token()  # a refresh is not a password grant: untouched
    with pytest.raises(OAuthProviderException) as info:
        client.http_ropcg.fetch_token()
    assert (info.value.response_code, info.value.error) == (400, "invalid_grant")
    assert info.value.response.headers["Cache-Control"] == "no-store"
    with pytest.raises(CredentialsHeldException):  # the refused password is held back: nothing sent
        client.http_ropcg.fetch_token()
    client.http_ropcg.clear_hold()  # what an operator does once the account is fixed
    client.http_ropcg.fetch_token()  # the script is used up
    stats = api.stats()
    assert (stats["password_grant_requests"], stats["password_grants"], stats["failed_token_requests"]) == (3, 2, 1)


def test_scripted_invalid_client_is_401_with_a_basic_challenge(api, client):
    api.script_invalid_client()
    with pytest.raises(OAuthProviderException) as info:
        client.service.get_status()
    assert (info.value.response_code, info.value.error) == (401, "invalid_client")
    assert info.value.response.headers["WWW-Authenticate"] == 'Basic realm="mdnotes"'


@pytest.mark.parametrize("action, description", [("expire_all_tokens", "expired"), ("revoke_all_tokens", "revoked")])
def test_expired_or_revoked_tokens_get_invalid_token_and_the_sdk_recovers(api, client, action, description):
    client.service.get_status()
    old = client.http_ropcg.token.access_token
    assert getattr(api, action)() == 1

    raw = requests.get(api.status_url, headers={"Authorization": f"Bearer {old}"}, timeout=5)
    assert raw.status_code == 401
    assert raw.headers["WWW-Authenticate"].startswith('Bearer realm="mdnotes", error="invalid_token"')
    assert description in raw.json()["error_description"]

    assert client.user.get_user().email == "demo@example.com"
    assert client.http_ropcg.token.access_token != old
    assert api.stats()["refresh_grants"] == 1


def test_scripted_503_with_retry_after_then_recovery(api, client):
    client.service.get_status()
    api.script_unavailable(2, retry_after=7, endpoint="status")
    for _ in range(2):
        with pytest.raises(APIException) as info:
            client.service.get_status()
        assert (info.value.response_code, info.value.response.headers["Retry-After"]) == (503, "7")
    assert client.service.get_status().status == "ok"
    assert client.user.get_user().id == 1


def test_retries_ride_out_scripted_429s(api):
    api.script_rate_limited(2, retry_after=0, endpoint="user")
    with client_for(api, max_retries=2, backoff_factor=0) as client:
        assert client.user.get_user().id == 1
    assert api.stats()["user_requests"] == 3


def test_scripted_connection_error_and_custom_reply(api, client):
    api.script_connection_error(endpoint="token")
    with pytest.raises(APIConnectionException):
        client.o_auth_authorization.request_token(None, "demo@example.com", "demo-password")
    api.script_connection_error(endpoint="token")
    assert client.http_ropcg.fetch_token().access_token  # the SDK rides out one failure within its timeout
    api.script_reply("user", 500, {"message": "boom"})
    with pytest.raises(APIException) as info:
        client.user.get_user()
    assert info.value.response_code == 500
    api.script_unavailable(5)
    api.clear_script()
    assert client.user.get_user().id == 1


def test_rotation_reuse_and_users_behave_as_on_the_server():
    bob = ServerUser("bob", "bob-pw", name="Bob")
    with MdNotesResponses(users=[bob], token_lifetime=60, rotate_refresh_tokens=True) as api:
        first = requests.post(
            api.token_url,
            data={"grant_type": "password", "username": "bob", "password": "bob-pw"},
            auth=("demo-client", "demo-secret"),
            timeout=5,
        ).json()
        assert first["expires_in"] == 60
        for expected in (200, 400):
            again = requests.post(
                api.token_url,
                data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
                auth=("demo-client", "demo-secret"),
                timeout=5,
            )
            assert again.status_code == expected
        assert api.stats()["reused_refresh_tokens"] == 1
        with client_for(api, username="bob") as client:
            assert (client.user.get_user().name, client.user.get_user().id) == ("Bob", 2)


def test_registers_on_a_mock_the_test_already_has():
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, "https://elsewhere.example/ping", json={"pong": True})
        api = MdNotesResponses(base_uri="https://mdnotes.example/api/", requests_mock=rsps)
        with api:
            assert api.base_uri == "https://mdnotes.example/api"
            with client_for(api) as client:
                assert client.service.get_status().status == "ok"
            assert requests.get("https://elsewhere.example/ping", timeout=5).json() == {"pong": True}
        # Stopped: its endpoints are gone from the mock, which keeps running.
        with pytest.raises(requests.ConnectionError):
            requests.get(api.status_url, timeout=5)
        assert api.requests_mock is rsps


def test_bad_arguments_are_refused(api):
    with pytest.raises(ValueError):
        MdNotesResponses(base_uri="localhost:3000")
    with pytest.raises(ValueError):
        api.script_unavailable(endpoint="notes")
    with pytest.raises(ValueError):
        api.script_wrong_password(0)
    with pytest.raises(TypeError):
        api.script_invalid_client(times=True)
    with pytest.raises(TypeError):
        api.script_reply("user", 200, object())
    with pytest.raises(RuntimeError):
        api.start()
    api.stop()
    api.stop()


def test_without_responses_installed_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "responses", None)  # what an absent package looks like to import
    with pytest.raises(ModuleNotFoundError, match=r"pip install responses"):
        MdNotesResponses()


def test_credentials_can_be_changed_per_test(api):
    credentials = credentials_for(api, o_auth_client_secret="nope")
    assert isinstance(credentials, ResourceOwnerAuthCredentials)
    with client_for(api, credentials=credentials) as client, pytest.raises(OAuthProviderException) as info:
        client.http_ropcg.fetch_token()
    assert info.value.response.headers["WWW-Authenticate"] == 'Basic realm="mdnotes"'
    with pytest.raises(TypeError):
        client_for(api, credentials=credentials, username="bob")
