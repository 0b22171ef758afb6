"""oauthlib LegacyApplicationServer behind a small werkzeug WSGI app."""

from __future__ import annotations

import base64
import binascii
import json
from types import SimpleNamespace
from urllib.parse import unquote_plus

import oauthlib
from oauthlib.oauth2 import LegacyApplicationServer, RequestValidator
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .common import BASE_PATH, CLIENT_ID, TOKEN_PATH, USER, status_payload, user_payload

LIBRARY = "oauthlib"
VERSION = oauthlib.__version__
GRANT_TYPES = ("password", "refresh_token")

# What the stock library does where the servers differ (see doc/compatibility.md).
BAD_PASSWORD_ERROR = "invalid_grant"
# Decoding is the validator's job; ours follows §2.3.1 (see rfc6749_basic_credentials).
DECODES_RFC6749_BASIC = True
# Client id and secret may hold any character (the interop id's 'é' is fine in the form body).
ASCII_ONLY_CLIENT_CREDENTIALS = False
# expires_in is the configured lifetime, exactly.
EXPIRES_IN_MAY_BE_ONE_LESS = False
# "scope" is sent as "" when none was asked for.
TOKEN_RESPONSE_SCOPE = ""
# Without rotation a refresh response carries the same refresh_token again.
RESENDS_REFRESH_TOKEN_WITHOUT_ROTATION = True
# The challenge of a refused client (a wrong secret; Bearer although the client used Basic) and,
# built by _bearer_challenge below, of an unknown bearer token.
INVALID_CLIENT_CHALLENGE = 'Bearer error="invalid_client"'
INVALID_TOKEN_CHALLENGE = (
    'Bearer realm="mdnotes", error="invalid_token", '
    'error_description="The access token is unknown, expired or revoked."'
)


def rfc6749_basic_credentials(authorization):
    """(client_id, client_secret) from a Basic header per RFC 6749 §2.3.1, or None.

    oauthlib leaves client authentication to the RequestValidator, so decoding is
    the application's job; this does what the RFC (and django-oauth-toolkit) do:
    base64, split at the first ':', then form-urlencoded decoding of each half.
    """
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, colon, client_secret = decoded.partition(":")
    if not colon:
        return None
    return unquote_plus(client_id), unquote_plus(client_secret)


class Validator(RequestValidator):
    """RequestValidator for the one confidential client and user in the shared state."""

    def __init__(self, state):
        super().__init__()
        self.state = state

    def client_authentication_required(self, request, *args, **kwargs):
        return True

    def authenticate_client(self, request, *args, **kwargs):
        credentials = rfc6749_basic_credentials(request.headers.get("Authorization"))
        if credentials is None:
            # client_secret_post: credentials in the form body.
            credentials = (request.client_id, request.client_secret)
        if not self.state.check_client(*credentials):
            return False
        request.client = SimpleNamespace(client_id=CLIENT_ID)
        return True

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs):
        return grant_type in GRANT_TYPES

    def validate_user(self, username, password, client, request, *args, **kwargs):
        request.user = self.state.check_password(username, password)
        return request.user is not None

    def get_default_scopes(self, client_id, request, *args, **kwargs):
        return []

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs):
        # The API has no scopes, so only an empty request is acceptable.
        return not scopes

    def get_original_scopes(self, refresh_token, request, *args, **kwargs):
        return []

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
        issued = self.state.find_refresh(refresh_token)
        if issued is None or issued.client_id != client.client_id:
            return False
        request.user = dict(USER)
        return True

    def rotate_refresh_token(self, request):
        # When False, oauthlib sends the same refresh token back rather than omitting it.
        return self.state.rotate_refresh_tokens

    def save_bearer_token(self, token, request, *args, **kwargs):
        if request.grant_type == "refresh_token" and token["refresh_token"] != request.refresh_token:
            # oauthlib rotates but leaves revoking the old refresh token to us; RFC 6749 §6 allows it.
            self.state.revoke_refresh(request.refresh_token)
        self.state.save_token(token, client_id=request.client.client_id, user_id=request.user["id"])

    def validate_bearer_token(self, token, scopes, request):
        issued = self.state.find_access(token)
        return issued is not None and not issued.is_expired()


def _json_response(payload, status=200, headers=None):
    return Response(json.dumps(payload), status=status, headers=headers, content_type="application/json")


def _bearer_challenge(request):
    """RFC 6750 §3.1 answer to a bearer route; verify_request only says False, the 401 is ours to build."""
    if "Authorization" not in request.headers:
        # §3.1: a request without credentials gets a challenge but no error code.
        return _json_response({}, status=401, headers={"WWW-Authenticate": 'Bearer realm="mdnotes"'})
    description = "The access token is unknown, expired or revoked."
    challenge = f'Bearer realm="mdnotes", error="invalid_token", error_description="{description}"'
    return _json_response(
        {"error": "invalid_token", "error_description": description},
        status=401,
        headers={"WWW-Authenticate": challenge},
    )


RESOURCES = {"status": status_payload, "user": user_payload}


def create_app(state):
    """A WSGI app serving {BASE_PATH}/token, /status and /user with oauthlib."""
    server = LegacyApplicationServer(Validator(state), token_expires_in=state.token_lifetime)
    routes = Map(
        [
            Rule(TOKEN_PATH, methods=["POST"], endpoint="token"),
            Rule(BASE_PATH + "/status", methods=["GET"], endpoint="status"),
            Rule(BASE_PATH + "/user", methods=["GET"], endpoint="user"),
        ]
    )

    @Request.application
    def app(request):
        try:
            endpoint, _ = routes.bind_to_environ(request.environ).match()
        except HTTPException as error:
            return error
        if endpoint == "token":
            headers, body, status = server.create_token_response(
                request.url, "POST", request.get_data(as_text=True), dict(request.headers)
            )
            return Response(body, status=status, headers=headers)
        valid, _ = server.verify_request(request.url, request.method, None, dict(request.headers), scopes=[])
        if not valid:
            return _bearer_challenge(request)
        return _json_response(RESOURCES[endpoint]())

    return app
