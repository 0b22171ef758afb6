"""Plain-HTTP checks that the interop servers behave as doc/compatibility.md says, without the SDK.

The Python servers; test_node_interop.py pins the Node server's behaviour the same way. The payloads
of the bearer routes, the same on every server, are checked on all three.
"""

from urllib.parse import quote_plus

import pytest

from .common import CLIENT_ID, CLIENT_SECRET, USER
from .helpers import PASSWORD_GRANT, PERCENT_ENCODED_BASIC, basic, get, percent_encode, post_token

BODY_CREDENTIALS = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}


def test_password_grant_issues_bearer_token_with_refresh_token(python_server):
    response = post_token(python_server, {**PASSWORD_GRANT, **BODY_CREDENTIALS})

    assert response.status_code == 200, python_server.state.describe_exchanges()
    token = response.json()
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 3600
    assert token["refresh_token"]
    assert python_server.state.token_requests == {"password": 1}


def test_bearer_routes_answer_with_sdk_shaped_json(interop_server):
    access_token = post_token(interop_server, PASSWORD_GRANT, PERCENT_ENCODED_BASIC).json()["access_token"]

    status = get(interop_server, "/status", "Bearer " + access_token)
    user = get(interop_server, "/user", "Bearer " + access_token)

    assert status.status_code == 200
    assert set(status.json()) == {"app", "moto", "notes", "users", "time", "os", "php_version", "status"}
    assert status.json()["notes"] == 0
    assert user.status_code == 200
    assert user.json() == USER


def test_unknown_bearer_token_gets_rfc6750_invalid_token_challenge(python_server):
    response = get(python_server, "/status", "Bearer not-a-token-this-server-issued")

    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="invalid_token"' in challenge


def test_refresh_rotates_and_revokes_the_old_refresh_token(python_server):
    first = post_token(python_server, {**PASSWORD_GRANT, **BODY_CREDENTIALS}).json()
    refresh_grant = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"], **BODY_CREDENTIALS}

    rotated = post_token(python_server, refresh_grant)
    replayed = post_token(python_server, refresh_grant)

    assert rotated.status_code == 200
    assert rotated.json()["refresh_token"] != first["refresh_token"]
    assert replayed.status_code == 400
    assert replayed.json()["error"] == "invalid_grant"
    assert python_server.state.token_requests == {"password": 1, "refresh_token": 2}


@pytest.mark.parametrize(
    ("encode", "decodable_by"),
    [
        pytest.param(quote_plus, lambda server: server.module.DECODES_RFC6749_BASIC, id="rfc6749-form-encoded"),
        # Percent-encoding a space as %20 is what unquote()-only servers need.
        pytest.param(percent_encode, lambda server: True, id="percent-encoded"),
        pytest.param(lambda value: value, lambda server: False, id="not-encoded"),
    ],
)
def test_basic_client_credentials_decoding(python_server, encode, decodable_by):
    response = post_token(python_server, PASSWORD_GRANT, basic(encode))

    expected = 200 if decodable_by(python_server) else 401
    assert response.status_code == expected, response.text


def test_wrong_password_error_code(python_server):
    response = post_token(python_server, {**PASSWORD_GRANT, "password": "wrong", **BODY_CREDENTIALS})

    assert response.status_code == 400
    assert response.json()["error"] == python_server.module.BAD_PASSWORD_ERROR


def test_wrong_secret_is_invalid_client_with_401(python_server):
    response = post_token(python_server, {**PASSWORD_GRANT, "client_id": CLIENT_ID, "client_secret": "wrong"})

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert "WWW-Authenticate" in response.headers


def test_token_lifetime_is_configurable(start_python_server):
    server = start_python_server(token_lifetime=2)

    token = post_token(server, {**PASSWORD_GRANT, **BODY_CREDENTIALS}).json()

    assert token["expires_in"] == 2


def test_refresh_without_rotation_keeps_the_refresh_token_usable(start_python_server):
    server = start_python_server(rotate_refresh_tokens=False)
    first = post_token(server, {**PASSWORD_GRANT, **BODY_CREDENTIALS}).json()
    refresh_grant = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"], **BODY_CREDENTIALS}

    refreshed = post_token(server, refresh_grant).json()
    again = post_token(server, refresh_grant)

    # Authlib leaves refresh_token out; oauthlib sends the same one back.
    assert refreshed.get("refresh_token", first["refresh_token"]) == first["refresh_token"]
    assert again.status_code == 200
