"""The SDK, and plain HTTP, against @node-oauth/oauth2-server (Node.js) run by tests/interop/node/server.js.

The server's model form-decodes Basic client credentials as RFC 6749 §2.3.1 asks (the library
leaves that to the model) unless a test starts it with ``basic_decoding="uri"`` (the
decodeURIComponent workaround from the library's issue #213) or ``"none"`` (the stock library,
nothing decoded). doc/compatibility.md explains each behaviour pinned here.
"""

import base64
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote, quote_plus

import pytest
import requests

from mdnotesropcgwithoutauthscopes.exceptions.api_exception import APIException
from mdnotesropcgwithoutauthscopes.exceptions.o_auth_provider_exception import OAuthProviderException
from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import ClientAuthentication, ResourceOwnerAuthCredentials
from mdnotesropcgwithoutauthscopes.mdnotesropcgwithoutauthscopes_client import MdnotesropcgwithoutauthscopesClient
from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken
from mdnotesropcgwithoutauthscopes.models.service_status import ServiceStatus
from mdnotesropcgwithoutauthscopes.models.user import User

from . import node_server
from .common import BASE_PATH, CLIENT_ID, CLIENT_SECRET, PASSWORD, TOKEN_PATH, USER, USERNAME
from .node_server import ASCII_CLIENT_ID, ASCII_CLIENT_SECRET, NodeServer

SHORT_LIFETIME = 2  # seconds
PASSWORD_GRANT = {"grant_type": "password", "username": USERNAME, "password": PASSWORD}


# ------------------------------------------------------------------ fixtures

@pytest.fixture(scope="session")
def node_executable():
    """The node binary, with the lockfile's packages installed (npm ci, once, when missing)."""
    node, npm = node_server.node_executables()  # the only skip: no node or npm on PATH
    node_server.ensure_installed(npm)
    return node


# The library version is in every test id, so a CI log says what was tested against.
@pytest.fixture(params=["node"], ids=[f"node-oauth2-server-{node_server.VERSION}"])
def start_node(request, node_executable):
    """Factory starting `node server.js`; keyword arguments as NodeServer's. Stopped at teardown."""
    running = []

    def start(**settings):
        server = NodeServer(node_executable, **settings)
        running.append(server)
        return server

    yield start
    for server in running:
        server.stop()


@pytest.fixture
def node(start_node):
    """The Node server with one-hour tokens and RFC 6749 decoding of Basic credentials."""
    return start_node()


# ------------------------------------------------------------------ helpers

def make_client(server, **credential_changes):
    """An SDK client with the SDK's default settings (client authentication AUTO) unless changed."""
    settings = {
        "o_auth_client_id": CLIENT_ID,
        "o_auth_client_secret": CLIENT_SECRET,
        "o_auth_username": USERNAME,
        "o_auth_password": PASSWORD,
        **credential_changes,
    }
    return MdnotesropcgwithoutauthscopesClient(
        base_uri=server.base_url, timeout=10,
        resource_owner_auth_credentials=ResourceOwnerAuthCredentials(**settings))


def with_token(client, token):
    """Install a token the way the seed document shows."""
    credentials = client.config.resource_owner_auth_credentials.clone_with(o_auth_token=token)
    config = client.config.clone_with(resource_owner_auth_credentials=credentials)
    return MdnotesropcgwithoutauthscopesClient(config=config)


def stored_token(access_token, refresh_token=None):
    """A token as an application would load it from its database, valid for another hour."""
    return OAuthToken.from_dictionary({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": 3600,
        "expiry": int(time.time()) + 3600,
        **({"refresh_token": refresh_token} if refresh_token else {}),
    })


def bearer_headers(server, route):
    """The Authorization header of each request the server got on a bearer route, in order."""
    return [e["authorization"] for e in server.exchanges if e["path"] == BASE_PATH + route]


def token_responses(server):
    return [e for e in server.exchanges if e["path"] == TOKEN_PATH]


def basic(encode, client_id=CLIENT_ID, client_secret=CLIENT_SECRET):
    """An Authorization: Basic value, each half passed through encode."""
    pair = f"{encode(client_id)}:{encode(client_secret)}"
    return "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")


RFC6749_BASIC = basic(quote_plus)


def post_token(server, form, authorization=RFC6749_BASIC):
    headers = {"Accept": "application/json"}
    if authorization:
        headers["Authorization"] = authorization
    return requests.post(server.token_url, data=form, headers=headers, timeout=10)


def get(server, path, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    return requests.get(server.base_url + path, headers=headers, timeout=10)


# ------------------------------------------------------------------ the SDK, default settings

def test_fetch_token_then_call_status_and_user(node):
    client = make_client(node)

    token = client.http_ropcg.fetch_token()
    client = with_token(client, token)
    status = client.service.get_status()
    user = client.user.get_user()

    assert token.token_type == "Bearer"
    # The library computes expires_in as floor(seconds left), so it is often one less than configured.
    assert token.expires_in in (3599, 3600)
    assert abs(token.expiry - (time.time() + 3600)) < 60
    assert token.scope is None  # the library leaves "scope" out when none was asked for
    assert token.refresh_token
    assert isinstance(status, ServiceStatus)
    assert (status.app, status.notes, status.users, status.php_version, status.status) == ("MdNotes", 0, 1, "n/a", "ok")
    assert isinstance(user, User)
    assert (user.id, user.name, user.email) == (USER["id"], USER["name"], USER["email"])
    assert node.token_requests == {"password": 1}, node.describe_exchanges()
    [token_request] = token_responses(node)
    assert token_request["authorization"] == RFC6749_BASIC  # the default's first try was accepted
    assert token_request["content_type"].startswith("application/x-www-form-urlencoded")
    assert token_request["accept"] == "application/json"
    assert bearer_headers(node, "/status") == ["Bearer " + token.access_token]
    assert bearer_headers(node, "/user") == ["Bearer " + token.access_token]


def test_refresh_returns_the_rotated_refresh_token_and_the_old_one_is_refused(node):
    client = make_client(node)
    first = client.http_ropcg.fetch_token()
    client = with_token(client, first)

    refreshed = client.http_ropcg.refresh_token()
    user = with_token(client, refreshed).user.get_user()

    assert refreshed.access_token != first.access_token
    assert refreshed.refresh_token and refreshed.refresh_token != first.refresh_token
    assert user.id == USER["id"]
    with pytest.raises(OAuthProviderException) as refused:
        client.http_ropcg.refresh_token()  # still holds the first, now revoked, refresh token
    assert refused.value.error == "invalid_grant"
    assert refused.value.response_code == 400
    assert node.token_requests == {"password": 1, "refresh_token": 2}, node.describe_exchanges()


def test_refresh_without_a_new_refresh_token_keeps_the_old_one(start_node):
    server = start_node(rotate_refresh_tokens=False)  # alwaysIssueNewRefreshToken: false
    client = make_client(server)
    first = client.http_ropcg.fetch_token()
    client = with_token(client, first)

    refreshed = client.http_ropcg.refresh_token()
    again = with_token(client, refreshed).http_ropcg.refresh_token()

    assert "refresh_token" not in token_responses(server)[1]["response_body"]
    assert refreshed.refresh_token == first.refresh_token
    assert refreshed.access_token != first.access_token
    assert again.refresh_token == first.refresh_token
    assert server.token_requests == {"password": 1, "refresh_token": 2}


def test_expired_token_is_refreshed_automatically_with_the_rotated_refresh_token(start_node):
    server = start_node(token_lifetime=SHORT_LIFETIME)
    updates = []
    client = make_client(server, o_auth_on_token_update=updates.append)

    client.service.get_status()  # no token yet: password grant
    for _ in range(2):  # each time the token has expired: refresh grant with the latest refresh token
        time.sleep(SHORT_LIFETIME + 1.1)
        client.user.get_user()

    assert server.token_requests == {"password": 1, "refresh_token": 2}, server.describe_exchanges()
    assert len(updates) == 3
    assert len({token.refresh_token for token in updates}) == 3
    assert all(token.expires_in in (SHORT_LIFETIME - 1, SHORT_LIFETIME) for token in updates)
    refresh_bodies = [e["body"] for e in token_responses(server)][1:]
    # Each refresh sent the refresh token of the token before it (the rotated one).
    assert [f"refresh_token={token.refresh_token}" in body for token, body in zip(updates, refresh_bodies)] == [True] * 2
    assert bearer_headers(server, "/user") == ["Bearer " + token.access_token for token in updates[1:]]


def test_threads_sharing_a_client_cause_one_token_request(node):
    updates = []
    client = make_client(node, o_auth_on_token_update=updates.append)
    start = threading.Barrier(8)

    def call(_):
        start.wait()  # all threads find no token at the same moment
        return client.service.get_status().status

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(call, range(8)))

    assert results == ["ok"] * 8
    assert node.token_requests == {"password": 1}, node.describe_exchanges()
    assert len(updates) == 1


def test_wrong_password_is_invalid_grant(node):
    wrong_password = "wrong horse:battery"
    client = make_client(node, o_auth_password=wrong_password)

    with pytest.raises(OAuthProviderException) as raised:
        client.http_ropcg.fetch_token()

    assert raised.value.error == "invalid_grant"  # as RFC 6749 §5.2 says
    assert raised.value.response_code == 400
    assert wrong_password not in str(raised.value) + repr(raised.value)
    assert node.token_requests == {"password": 1}


def test_wrong_secret_is_invalid_client(node):
    wrong_secret = "not the secret"
    client = make_client(node, o_auth_client_secret=wrong_secret,
                         o_auth_client_authentication=ClientAuthentication.BASIC)

    with pytest.raises(OAuthProviderException) as raised:
        client.http_ropcg.fetch_token()

    assert raised.value.error == "invalid_client"
    assert raised.value.response_code == 401
    assert raised.value.response.headers["WWW-Authenticate"] == 'Basic realm="Service"'
    assert wrong_secret not in str(raised.value) + repr(raised.value)
    assert node.token_requests == {"password": 1}


def test_wrong_secret_with_the_default_client_authentication(node):
    """AUTO tries every encoding; when all fail it reports the RFC request's refusal, not a fallback's."""
    wrong_secret = "not the secret"
    client = make_client(node, o_auth_client_secret=wrong_secret)

    with pytest.raises(OAuthProviderException) as raised:
        client.http_ropcg.fetch_token()

    # Form Basic and percent Basic are refused as invalid_client; the form body gets 400
    # invalid_request for the id's 'e-acute' (see doc/compatibility.md). The SDK reports the first
    # refusal, the one that says what is wrong.
    assert (raised.value.error, raised.value.response_code) == ("invalid_client", 401)
    assert [e["status"] for e in token_responses(node)] == [401, 401, 400]
    assert wrong_secret not in str(raised.value) + repr(raised.value)
    assert node.token_requests == {"password": 3}


def test_unknown_stored_token_is_replaced_once_and_the_call_repeated(node):
    updates = []
    client = make_client(node, o_auth_token=stored_token("unknown-to-this-server"),
                         o_auth_on_token_update=updates.append)

    status = client.service.get_status()

    assert status.status == "ok"
    assert node.token_requests == {"password": 1}, node.describe_exchanges()
    assert len(updates) == 1
    assert bearer_headers(node, "/status") == ["Bearer unknown-to-this-server", "Bearer " + updates[0].access_token]
    [refused, repeated] = [e for e in node.exchanges if e["path"] == BASE_PATH + "/status"]
    assert refused["status"] == 401
    assert refused["response_headers"]["www-authenticate"] == 'Bearer realm="Service",error="invalid_token"'
    assert repeated["status"] == 200


def test_refused_refresh_falls_back_to_the_password_grant(node):
    updates = []
    client = make_client(node, o_auth_token=stored_token("unknown-access", "unknown-refresh"),
                         o_auth_on_token_update=updates.append)

    user = client.user.get_user()

    assert user.id == USER["id"]
    assert node.token_requests == {"refresh_token": 1, "password": 1}, node.describe_exchanges()
    assert len(updates) == 1


def test_expired_stored_token_alone_fails_before_any_request(node):
    expired = OAuthToken.from_dictionary({"access_token": "old", "token_type": "Bearer", "expires_in": 3600,
                                          "expiry": int(time.time()) - 10})
    client = MdnotesropcgwithoutauthscopesClient(
        base_uri=node.base_url, timeout=10,
        resource_owner_auth_credentials=ResourceOwnerAuthCredentials(o_auth_token=expired))

    with pytest.raises(APIException):
        client.service.get_status()

    assert node.exchanges == []


@pytest.mark.parametrize(("method", "outcome"), [
    (ClientAuthentication.BASIC, "token"),
    (ClientAuthentication.BASIC_PERCENT_ENCODED, "token"),  # this model form-decodes, and %20 decodes too
    # Split at the id's ':', the "secret" holds 'é': the library's VSCHAR check refuses it.
    (ClientAuthentication.BASIC_UNENCODED, ("invalid_request", 400)),
    # The library checks client_id against RFC 6749 Appendix A (VSCHAR, ASCII only): 'é' is refused.
    (ClientAuthentication.REQUEST_BODY, ("invalid_request", 400)),
])
def test_client_authentication_methods(node, method, outcome):
    client = make_client(node, o_auth_client_authentication=method)

    if outcome == "token":
        assert client.http_ropcg.fetch_token().access_token
    else:
        with pytest.raises(OAuthProviderException) as raised:
            client.http_ropcg.fetch_token()
        assert (raised.value.error, raised.value.response_code) == outcome
    assert node.token_request_count == 1


# What the default (AUTO) costs, per model decoding and client: the token requests until one is
# accepted, or the error it ends with. AUTO tries RFC (form-encoded) Basic, percent-encoded Basic,
# unencoded Basic (only for an id without ':'), then the form body.
AUTO_OUTCOMES = [
    ("form", "interop", 1),
    ("form", "ascii", 1),
    ("uri", "interop", 2),  # percent-encoded Basic: decodeURIComponent reads %20 as a space
    ("uri", "ascii", 2),
    ("none", "interop", ("invalid_client", 3)),  # no method can carry this client to the stock library
    ("none", "ascii", 3),  # unencoded Basic
]
CLIENTS = {"interop": (CLIENT_ID, CLIENT_SECRET), "ascii": (ASCII_CLIENT_ID, ASCII_CLIENT_SECRET)}


@pytest.mark.parametrize(("decoding", "client_name", "outcome"), AUTO_OUTCOMES,
                         ids=[f"{decoding}-decoding-{name}-client" for decoding, name, _ in AUTO_OUTCOMES])
def test_default_client_authentication(start_node, decoding, client_name, outcome):
    server = start_node(basic_decoding=decoding)
    client_id, client_secret = CLIENTS[client_name]
    client = make_client(server, o_auth_client_id=client_id, o_auth_client_secret=client_secret)

    if isinstance(outcome, int):
        client.service.get_status()
        assert server.token_request_count == outcome, server.describe_exchanges()
        client.http_ropcg.fetch_token()  # the method that worked is kept: one request
        assert server.token_request_count == outcome + 1, server.describe_exchanges()
        assert len({e["authorization"] for e in token_responses(server)[-2:]}) == 1
    else:
        error, attempts = outcome
        with pytest.raises(OAuthProviderException) as raised:
            client.http_ropcg.fetch_token()
        assert raised.value.error == error
        assert server.token_request_count == attempts, server.describe_exchanges()


# ------------------------------------------------------------------ the server, plain HTTP

def test_token_response_shape(node):
    response = post_token(node, PASSWORD_GRANT)

    assert response.status_code == 200, node.describe_exchanges()
    token = response.json()
    assert set(token) == {"access_token", "token_type", "expires_in", "refresh_token"}  # no "scope"
    assert token["token_type"] == "Bearer"
    assert type(token["expires_in"]) is int and token["expires_in"] in (3599, 3600)
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"


def test_token_lifetime_is_configurable(start_node):
    server = start_node(token_lifetime=SHORT_LIFETIME)

    token = post_token(server, PASSWORD_GRANT).json()

    assert token["expires_in"] in (SHORT_LIFETIME - 1, SHORT_LIFETIME)


def test_bearer_routes_answer_with_sdk_shaped_json(node):
    access_token = post_token(node, PASSWORD_GRANT).json()["access_token"]

    status = get(node, "/status", "Bearer " + access_token)
    user = get(node, "/user", "Bearer " + access_token)

    assert status.status_code == 200
    assert set(status.json()) == {"app", "moto", "notes", "users", "time", "os", "php_version", "status"}
    assert status.json()["notes"] == 0
    assert user.status_code == 200
    assert user.json() == USER


def test_unknown_bearer_token_gets_rfc6750_invalid_token_challenge(node):
    response = get(node, "/status", "Bearer not-a-token-this-server-issued")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="Service",error="invalid_token"'
    assert response.json()["error"] == "invalid_token"


def test_expired_bearer_token_gets_invalid_token(start_node):
    server = start_node(token_lifetime=1)
    access_token = post_token(server, PASSWORD_GRANT).json()["access_token"]
    time.sleep(1.1)

    response = get(server, "/status", "Bearer " + access_token)

    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_bearer_request_without_token_gets_a_bare_challenge(node):
    response = get(node, "/status", None)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="Service"'  # RFC 6750 §3.1: no error code
    assert response.content == b""


def test_bearer_scheme_is_case_sensitive(node):
    access_token = post_token(node, PASSWORD_GRANT).json()["access_token"]

    response = get(node, "/status", "bearer " + access_token)

    # RFC 7235 §2.1: auth schemes are case-insensitive; this library only matches "Bearer ".
    assert response.status_code == 400
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="Service",error="invalid_request"'


def test_refresh_rotates_and_revokes_the_old_refresh_token(node):
    first = post_token(node, PASSWORD_GRANT).json()
    refresh_grant = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}

    rotated = post_token(node, refresh_grant)
    replayed = post_token(node, refresh_grant)

    assert rotated.status_code == 200
    assert rotated.json()["refresh_token"] != first["refresh_token"]
    assert replayed.status_code == 400
    assert replayed.json()["error"] == "invalid_grant"
    assert node.token_requests == {"password": 1, "refresh_token": 2}


def test_refresh_without_rotation_omits_the_refresh_token(start_node):
    server = start_node(rotate_refresh_tokens=False)
    first = post_token(server, PASSWORD_GRANT).json()
    refresh_grant = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}

    refreshed = post_token(server, refresh_grant)
    again = post_token(server, refresh_grant)

    assert "refresh_token" not in refreshed.json()
    assert again.status_code == 200


def test_wrong_password_error_code(node):
    response = post_token(node, {**PASSWORD_GRANT, "password": "wrong"})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_wrong_secret_in_basic_is_401_with_basic_challenge(node):
    response = post_token(node, PASSWORD_GRANT, basic(quote_plus, client_secret="wrong"))

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"] == 'Basic realm="Service"'


def test_wrong_secret_in_body_is_400_without_challenge(node):
    form = {**PASSWORD_GRANT, "client_id": ASCII_CLIENT_ID, "client_secret": "wrong"}

    response = post_token(node, form, authorization=None)

    assert response.status_code == 400  # RFC 6749 §5.2 allows 400 when no Authorization header was sent
    assert response.json()["error"] == "invalid_client"
    assert "WWW-Authenticate" not in response.headers


def test_body_credentials_must_be_ascii(node):
    ascii_form = {**PASSWORD_GRANT, "client_id": ASCII_CLIENT_ID, "client_secret": ASCII_CLIENT_SECRET}
    interop_form = {**PASSWORD_GRANT, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}

    accepted = post_token(node, ascii_form, authorization=None)
    refused = post_token(node, interop_form, authorization=None)

    assert accepted.status_code == 200
    assert refused.status_code == 400
    assert refused.json() == {"error": "invalid_request", "error_description": "Invalid parameter: `client_id`"}


ENCODINGS = {
    "rfc6749-form-encoded": quote_plus,
    "percent-encoded": lambda value: quote(value, safe=""),  # %20 for a space, as unquote()-only models need
    "not-encoded": lambda value: value,
}
# Status of a password grant with the interop client's Basic header, per model decoding.
BASIC_DECODING = [
    ("form", "rfc6749-form-encoded", 200),
    ("form", "percent-encoded", 200),
    ("uri", "rfc6749-form-encoded", 401),  # the space became '+', which decodeURIComponent keeps
    ("uri", "percent-encoded", 200),
    ("none", "rfc6749-form-encoded", 401),  # the library does not decode: the model gets "%3A…"
    ("none", "percent-encoded", 401),
    # Unencoded, basic-auth splits at the id's ':' and the rest fails the VSCHAR check (400, not 401).
    ("form", "not-encoded", 400),
    ("uri", "not-encoded", 400),
    ("none", "not-encoded", 400),
]


@pytest.mark.parametrize(("decoding", "encoding", "expected"), BASIC_DECODING,
                         ids=[f"{decoding}-decoding-{encoding}" for decoding, encoding, _ in BASIC_DECODING])
def test_basic_client_credentials_decoding(start_node, decoding, encoding, expected):
    server = start_node(basic_decoding=decoding)

    response = post_token(server, PASSWORD_GRANT, basic(ENCODINGS[encoding]))

    assert response.status_code == expected, response.text


def test_stock_library_accepts_unencoded_basic_for_an_ascii_client(start_node):
    server = start_node(basic_decoding="none")

    unencoded = post_token(server, PASSWORD_GRANT, basic(lambda value: value, ASCII_CLIENT_ID, ASCII_CLIENT_SECRET))
    encoded = post_token(server, PASSWORD_GRANT, basic(quote_plus, ASCII_CLIENT_ID, ASCII_CLIENT_SECRET))

    assert unencoded.status_code == 200
    assert encoded.status_code == 401
    assert encoded.json()["error"] == "invalid_client"
