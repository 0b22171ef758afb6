"""Node-only checks of @node-oauth/oauth2-server (Node.js), run by tests/interop/node/server.js.

The SDK's flows run against this server in test_interop.py, as against the Python servers; here
are what only this server shows: what the SDK's default client authentication (AUTO) costs per
model decoding and client, and the library's behaviour pinned with plain HTTP requests.

The server's model form-decodes Basic client credentials as RFC 6749 §2.3.1 asks (the library
leaves that to the model) unless a test starts it with ``basic_decoding="uri"`` (the
decodeURIComponent workaround from the library's issue #213) or ``"none"`` (the stock library,
nothing decoded). doc/compatibility.md explains each behaviour pinned here.
"""

import time
from urllib.parse import quote_plus

import pytest

from mdnotesropcgwithoutauthscopes.exceptions.o_auth_provider_exception import OAuthProviderException

from .common import CLIENT_ID, CLIENT_SECRET
from .helpers import PASSWORD_GRANT, RFC6749_BASIC, basic, get, make_client, percent_encode, post_token, token_exchanges
from .node_server import ASCII_CLIENT_ID, ASCII_CLIENT_SECRET

SHORT_LIFETIME = 2  # seconds


# ------------------------------------------------------------------ the SDK, default settings (AUTO)
# make_client leaves the client authentication unset against Node: these run the SDK's default.


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
    assert [e.status_code for e in token_exchanges(node)] == [401, 401, 400]
    assert wrong_secret not in str(raised.value) + repr(raised.value)
    assert node.state.token_requests == {"password": 3}


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


@pytest.mark.parametrize(
    ("decoding", "client_name", "outcome"),
    AUTO_OUTCOMES,
    ids=[f"{decoding}-decoding-{name}-client" for decoding, name, _ in AUTO_OUTCOMES],
)
def test_default_client_authentication(start_node, decoding, client_name, outcome):
    server = start_node(basic_decoding=decoding)
    client_id, client_secret = CLIENTS[client_name]
    client = make_client(server, o_auth_client_id=client_id, o_auth_client_secret=client_secret)

    if isinstance(outcome, int):
        client.service.get_status()
        assert server.state.token_request_count == outcome, server.state.describe_exchanges()
        client.http_ropcg.fetch_token()  # the method that worked is kept: one request
        assert server.state.token_request_count == outcome + 1, server.state.describe_exchanges()
        assert len({e.authorization for e in token_exchanges(server)[-2:]}) == 1
    else:
        error, attempts = outcome
        with pytest.raises(OAuthProviderException) as raised:
            client.http_ropcg.fetch_token()
        assert raised.value.error == error
        assert server.state.token_request_count == attempts, server.state.describe_exchanges()


# ------------------------------------------------------------------ the server, plain HTTP


def test_token_response_shape(node):
    response = post_token(node, PASSWORD_GRANT, RFC6749_BASIC)

    assert response.status_code == 200, node.state.describe_exchanges()
    token = response.json()
    assert set(token) == {"access_token", "token_type", "expires_in", "refresh_token"}  # no "scope"
    assert token["token_type"] == "Bearer"
    assert type(token["expires_in"]) is int and token["expires_in"] in (3599, 3600)
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"


def test_token_lifetime_is_configurable(start_node):
    server = start_node(token_lifetime=SHORT_LIFETIME)

    token = post_token(server, PASSWORD_GRANT, RFC6749_BASIC).json()

    assert token["expires_in"] in (SHORT_LIFETIME - 1, SHORT_LIFETIME)


def test_unknown_bearer_token_gets_rfc6750_invalid_token_challenge(node):
    response = get(node, "/status", "Bearer not-a-token-this-server-issued")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="Service",error="invalid_token"'
    assert response.json()["error"] == "invalid_token"


def test_expired_bearer_token_gets_invalid_token(start_node):
    server = start_node(token_lifetime=1)
    access_token = post_token(server, PASSWORD_GRANT, RFC6749_BASIC).json()["access_token"]
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
    access_token = post_token(node, PASSWORD_GRANT, RFC6749_BASIC).json()["access_token"]

    response = get(node, "/status", "bearer " + access_token)

    # RFC 7235 §2.1: auth schemes are case-insensitive; this library only matches "Bearer ".
    assert response.status_code == 400
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="Service",error="invalid_request"'


def test_refresh_rotates_and_revokes_the_old_refresh_token(node):
    first = post_token(node, PASSWORD_GRANT, RFC6749_BASIC).json()
    refresh_grant = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}

    rotated = post_token(node, refresh_grant, RFC6749_BASIC)
    replayed = post_token(node, refresh_grant, RFC6749_BASIC)

    assert rotated.status_code == 200
    assert rotated.json()["refresh_token"] != first["refresh_token"]
    assert replayed.status_code == 400
    assert replayed.json()["error"] == "invalid_grant"
    assert node.state.token_requests == {"password": 1, "refresh_token": 2}


def test_refresh_without_rotation_omits_the_refresh_token(start_node):
    server = start_node(rotate_refresh_tokens=False)
    first = post_token(server, PASSWORD_GRANT, RFC6749_BASIC).json()
    refresh_grant = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}

    refreshed = post_token(server, refresh_grant, RFC6749_BASIC)
    again = post_token(server, refresh_grant, RFC6749_BASIC)

    assert "refresh_token" not in refreshed.json()
    assert again.status_code == 200


def test_wrong_password_error_code(node):
    response = post_token(node, {**PASSWORD_GRANT, "password": "wrong"}, RFC6749_BASIC)

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
    "percent-encoded": percent_encode,  # %20 for a space, as unquote()-only models need
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


@pytest.mark.parametrize(
    ("decoding", "encoding", "expected"),
    BASIC_DECODING,
    ids=[f"{decoding}-decoding-{encoding}" for decoding, encoding, _ in BASIC_DECODING],
)
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
