"""The SDK, through its public API only, against the Authlib, oauthlib and Node (node-oauth2-server) servers.

Where the libraries answer differently, the expectation comes from the server's module (e.g.
BAD_PASSWORD_ERROR); doc/compatibility.md explains each difference.
"""

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs

import pytest

from mdnotesropcgwithoutauthscopes.exceptions.api_exception import APIException
from mdnotesropcgwithoutauthscopes.exceptions.o_auth_provider_exception import OAuthProviderException
from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import ClientAuthentication, ResourceOwnerAuthCredentials
from mdnotesropcgwithoutauthscopes.mdnotesropcgwithoutauthscopes_client import MdnotesropcgwithoutauthscopesClient
from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken
from mdnotesropcgwithoutauthscopes.models.service_status import ServiceStatus
from mdnotesropcgwithoutauthscopes.models.user import User

from .common import BASE_PATH, USER
from .helpers import RFC6749_BASIC, client_authentication_for, make_client, named_client_authentication, token_exchanges

SHORT_LIFETIME = 2  # seconds; long enough that the first call never meets an already expired token


def with_token(client, token):
    """Install a token the way the authorization guide shows."""
    credentials = client.config.resource_owner_auth_credentials.clone_with(o_auth_token=token)
    config = client.config.clone_with(resource_owner_auth_credentials=credentials)
    return MdnotesropcgwithoutauthscopesClient(config=config)


def stored_token(access_token, refresh_token=None):
    """A token as an application would load it from its database, valid for another hour."""
    return OAuthToken.from_dictionary(
        {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 3600,
            "expiry": int(time.time()) + 3600,
            **({"refresh_token": refresh_token} if refresh_token else {}),
        }
    )


def bearer_headers(server, route):
    """The Authorization header of each request the server got on a bearer route, in order."""
    return [exchange.authorization for exchange in server.state.exchanges if exchange.path == BASE_PATH + route]


def expires_in_values(server, lifetime):
    """The expires_in this server may send for tokens of ``lifetime`` seconds."""
    return (lifetime - 1, lifetime) if server.module.EXPIRES_IN_MAY_BE_ONE_LESS else (lifetime,)


def test_fetch_token_then_call_status_and_user(interop_server):
    client = make_client(interop_server)

    token = client.http_ropcg.fetch_token()
    client = with_token(client, token)
    status = client.service.get_status()
    user = client.user.get_user()

    issued = interop_server.state.latest_token()
    assert (token.access_token, token.refresh_token) == (issued.access_token, issued.refresh_token)
    assert token.refresh_token
    assert token.token_type == "Bearer"
    assert token.expires_in in expires_in_values(interop_server, 3600)
    assert abs(token.expiry - (time.time() + 3600)) < 60
    assert token.scope == interop_server.module.TOKEN_RESPONSE_SCOPE
    assert isinstance(status, ServiceStatus)
    assert (status.app, status.notes, status.users, status.php_version, status.status) == ("MdNotes", 0, 1, "n/a", "ok")
    assert isinstance(user, User)
    assert (user.id, user.name, user.email) == (USER["id"], USER["name"], USER["email"])
    assert interop_server.state.token_requests == {"password": 1}, interop_server.state.describe_exchanges()
    [token_request] = token_exchanges(interop_server)
    # The client went as Basic (RFC 6749 form-encoded; against Node the SDK default's first try, accepted)
    # or in the form body.
    sent_in_body = client_authentication_for(interop_server) == ClientAuthentication.REQUEST_BODY
    assert token_request.authorization == (None if sent_in_body else RFC6749_BASIC)
    assert token_request.content_type.startswith("application/x-www-form-urlencoded")
    assert token_request.accept == "application/json"
    assert bearer_headers(interop_server, "/status") == ["Bearer " + token.access_token]
    assert bearer_headers(interop_server, "/user") == ["Bearer " + token.access_token]


def test_refresh_returns_the_rotated_refresh_token_and_the_old_one_is_refused(interop_server):
    client = make_client(interop_server)
    first = client.http_ropcg.fetch_token()
    client = with_token(client, first)

    refreshed = client.http_ropcg.refresh_token()
    user = with_token(client, refreshed).user.get_user()

    issued = interop_server.state.latest_token()
    assert refreshed.access_token == issued.access_token != first.access_token
    assert refreshed.refresh_token == issued.refresh_token != first.refresh_token
    assert refreshed.refresh_token
    assert user.id == USER["id"]
    assert client.http_ropcg.token is refreshed  # a manual refresh is installed: the client goes on
    with pytest.raises(OAuthProviderException) as refused:
        with_token(client, first).http_ropcg.refresh_token()  # the first, now revoked, refresh token
    assert refused.value.error == "invalid_grant"
    assert refused.value.response_code == 400
    assert interop_server.state.token_requests == {"password": 1, "refresh_token": 2}, (
        interop_server.state.describe_exchanges()
    )


def test_refresh_without_a_new_refresh_token_keeps_the_old_one(start_server):
    server = start_server(rotate_refresh_tokens=False)
    client = make_client(server)
    first = client.http_ropcg.fetch_token()
    client = with_token(client, first)

    refreshed = client.http_ropcg.refresh_token()
    again = with_token(client, refreshed).http_ropcg.refresh_token()

    # The refresh response carries the same refresh token again, or none (the SDK keeps the old one).
    resent = first.refresh_token if server.module.RESENDS_REFRESH_TOKEN_WITHOUT_ROTATION else None
    assert json.loads(token_exchanges(server)[1].response_body).get("refresh_token") == resent
    assert refreshed.refresh_token == first.refresh_token
    assert refreshed.access_token != first.access_token
    assert again.refresh_token == first.refresh_token
    assert server.state.token_requests == {"password": 1, "refresh_token": 2}


def test_expired_token_is_refreshed_automatically_with_the_rotated_refresh_token(start_server):
    server = start_server(token_lifetime=SHORT_LIFETIME)
    updates = []
    client = make_client(server, o_auth_on_token_update=updates.append)

    client.service.get_status()  # no token yet: password grant
    for _ in range(2):  # each time the token has expired: refresh grant with the latest refresh token
        time.sleep(SHORT_LIFETIME + 1.1)
        client.user.get_user()

    assert server.state.token_requests == {"password": 1, "refresh_token": 2}, server.state.describe_exchanges()
    assert len(updates) == 3
    assert len({token.refresh_token for token in updates}) == 3
    assert all(token.expires_in in expires_in_values(server, SHORT_LIFETIME) for token in updates)
    # Each refresh sent the refresh token of the token before it (the rotated one).
    refresh_forms = [parse_qs(exchange.body) for exchange in token_exchanges(server)[1:]]
    assert [form["refresh_token"] for form in refresh_forms] == [[token.refresh_token] for token in updates[:-1]]
    assert updates[-1].refresh_token == server.state.latest_token().refresh_token
    assert bearer_headers(server, "/user") == ["Bearer " + token.access_token for token in updates[1:]]


def test_threads_sharing_a_client_cause_one_token_request(interop_server):
    updates = []
    client = make_client(interop_server, o_auth_on_token_update=updates.append)
    start = threading.Barrier(8)

    def call(_):
        start.wait()  # all threads find no token at the same moment
        return client.service.get_status().status

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(call, range(8)))

    assert results == ["ok"] * 8
    assert interop_server.state.token_requests == {"password": 1}, interop_server.state.describe_exchanges()
    assert len(updates) == 1


def test_wrong_password_is_an_oauth_provider_error(interop_server):
    wrong_password = "wrong horse:battery"
    client = make_client(interop_server, o_auth_password=wrong_password)

    with pytest.raises(OAuthProviderException) as raised:
        client.http_ropcg.fetch_token()

    # RFC 6749 §5.2 says invalid_grant (oauthlib, Node); Authlib answers invalid_request (doc/compatibility.md).
    assert raised.value.error == interop_server.module.BAD_PASSWORD_ERROR
    assert raised.value.response_code == 400
    assert wrong_password not in str(raised.value) + repr(raised.value)
    assert interop_server.state.token_requests == {"password": 1}


def test_wrong_secret_is_invalid_client(interop_server):
    wrong_secret = "not the secret"
    # Named, not AUTO (which tries more encodings: test_node_interop.py pins that against Node).
    client = make_client(
        interop_server,
        o_auth_client_secret=wrong_secret,
        o_auth_client_authentication=named_client_authentication(interop_server),
    )

    with pytest.raises(OAuthProviderException) as raised:
        client.http_ropcg.fetch_token()

    assert raised.value.error == "invalid_client"
    assert raised.value.response_code == 401
    assert raised.value.response.headers["WWW-Authenticate"] == interop_server.module.INVALID_CLIENT_CHALLENGE
    assert wrong_secret not in str(raised.value) + repr(raised.value)
    assert interop_server.state.token_requests == {"password": 1}


def test_unknown_stored_token_is_replaced_once_and_the_call_repeated(interop_server):
    updates = []
    client = make_client(
        interop_server, o_auth_token=stored_token("unknown-to-this-server"), o_auth_on_token_update=updates.append
    )

    status = client.service.get_status()

    assert status.status == "ok"
    assert interop_server.state.token_request_count == 1, interop_server.state.describe_exchanges()
    assert interop_server.state.token_requests == {"password": 1}
    assert [token.access_token for token in updates] == [interop_server.state.latest_token().access_token]
    assert bearer_headers(interop_server, "/status") == [
        "Bearer unknown-to-this-server",
        "Bearer " + updates[0].access_token,
    ]
    [refused, repeated] = [e for e in interop_server.state.exchanges if e.path == BASE_PATH + "/status"]
    assert refused.status_code == 401
    assert refused.response_headers["www-authenticate"] == interop_server.module.INVALID_TOKEN_CHALLENGE
    assert repeated.status_code == 200


def test_refused_refresh_falls_back_to_the_password_grant(interop_server):
    updates = []
    client = make_client(
        interop_server,
        o_auth_token=stored_token("unknown-access", "unknown-refresh"),
        o_auth_on_token_update=updates.append,
    )

    user = client.user.get_user()

    assert user.id == USER["id"]
    assert interop_server.state.token_requests == {"refresh_token": 1, "password": 1}, (
        interop_server.state.describe_exchanges()
    )
    assert len(updates) == 1


def test_expired_stored_token_alone_fails_before_any_request(interop_server):
    expired = OAuthToken.from_dictionary(
        {"access_token": "old", "token_type": "Bearer", "expires_in": 3600, "expiry": int(time.time()) - 10}
    )
    client = MdnotesropcgwithoutauthscopesClient(
        base_uri=interop_server.base_url,
        timeout=10,
        resource_owner_auth_credentials=ResourceOwnerAuthCredentials(o_auth_token=expired),
    )

    with pytest.raises(APIException):
        client.service.get_status()

    assert interop_server.state.exchanges == []


def client_authentication_outcome(server, method):
    """ "token", or the (error, status) with which this server refuses the interop client sent by ``method``."""
    module = server.module
    refused = ("invalid_client", 401)
    # Node checks the id and secret it extracted against RFC 6749 Appendix A (VSCHAR, printable ASCII)
    # before its model sees them: the id's 'é' in the form body is refused, and so is unencoded Basic,
    # split at the id's ':' into a "secret" that holds 'é'.
    not_ascii = ("invalid_request", 400)
    return {
        ClientAuthentication.BASIC: "token" if module.DECODES_RFC6749_BASIC else refused,
        ClientAuthentication.BASIC_PERCENT_ENCODED: "token",  # every server here decodes %XX, %20 included
        # Unencoded Basic cannot carry a client id holding ':' on any server (RFC 6749 §2.3.1, RFC 7617).
        ClientAuthentication.BASIC_UNENCODED: not_ascii if module.ASCII_ONLY_CLIENT_CREDENTIALS else refused,
        ClientAuthentication.REQUEST_BODY: not_ascii if module.ASCII_ONLY_CLIENT_CREDENTIALS else "token",
    }[method]


@pytest.mark.parametrize(
    "method",
    [
        ClientAuthentication.BASIC,
        ClientAuthentication.BASIC_PERCENT_ENCODED,
        ClientAuthentication.BASIC_UNENCODED,
        ClientAuthentication.REQUEST_BODY,
    ],
)
def test_client_authentication_methods(interop_server, method):
    client = make_client(interop_server, o_auth_client_authentication=method)
    outcome = client_authentication_outcome(interop_server, method)

    if outcome == "token":
        assert client.http_ropcg.fetch_token().access_token == interop_server.state.latest_token().access_token
    else:
        with pytest.raises(OAuthProviderException) as raised:
            client.http_ropcg.fetch_token()
        assert (raised.value.error, raised.value.response_code) == outcome
    assert interop_server.state.token_request_count == 1, interop_server.state.describe_exchanges()


def test_default_client_authentication_copes_and_sticks(interop_server):
    """With no method named, the SDK finds one this server accepts and keeps using it."""
    client = make_client(interop_server, o_auth_client_authentication=ClientAuthentication.AUTO)

    client.service.get_status()
    attempts = interop_server.state.token_request_count
    # An RFC 6749 decoder accepts the first (form-encoded Basic) request; a non-decoding one refuses
    # it, and the SDK moves on to percent-encoded Basic, which it accepts.
    assert attempts == (1 if interop_server.module.DECODES_RFC6749_BASIC else 2)

    client.http_ropcg.fetch_token()
    assert interop_server.state.token_request_count == attempts + 1
