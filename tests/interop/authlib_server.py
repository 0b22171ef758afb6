"""Authlib (Flask) authorization server with the password and rotating refresh token grants."""

from __future__ import annotations

import authlib
from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin, grants
from authlib.oauth2.rfc6750 import BearerTokenValidator
from flask import Flask, jsonify

from .common import BASE_PATH, CLIENT_ID, TOKEN_PATH, USER, status_payload, user_payload

LIBRARY = "Authlib"
VERSION = authlib.__version__
AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
GRANT_TYPES = ("password", "refresh_token")

# What the stock library does where the servers differ (see doc/compatibility.md).
# A wrong password is answered with invalid_request, not invalid_grant (§5.2).
BAD_PASSWORD_ERROR = "invalid_request"
# Basic credentials are percent-decoded with unquote(), so the '+' that §2.3.1
# form-encoding makes of a space stays a '+': a secret with a space fails.
DECODES_RFC6749_BASIC = False
# Client id and secret may hold any character (the interop id's 'é' is fine in the form body).
ASCII_ONLY_CLIENT_CREDENTIALS = False
# expires_in is the configured lifetime, exactly.
EXPIRES_IN_MAY_BE_ONE_LESS = False
# "scope" is left out of token responses (the SDK's token.scope is None).
TOKEN_RESPONSE_SCOPE = None
# Without rotation a refresh response carries no refresh_token.
RESENDS_REFRESH_TOKEN_WITHOUT_ROTATION = False
# The challenge of a refused client (a wrong secret) and of an unknown bearer token.
INVALID_CLIENT_CHALLENGE = (
    f'Basic error="invalid_client", error_description="The client cannot authenticate with methods: {AUTH_METHODS}"'
)
INVALID_TOKEN_CHALLENGE = (
    'Bearer error="invalid_token", error_description="The access token provided is expired, '
    'revoked, malformed, or invalid for other reasons."'
)


class Client(ClientMixin):
    """The single confidential client, checked against the shared state."""

    def __init__(self, state):
        self.state = state

    def get_client_id(self):
        return CLIENT_ID

    def get_default_redirect_uri(self):
        return None

    def get_allowed_scope(self, scope):
        # The API has no scopes; "" (not None, which Authlib turns into invalid_scope)
        # makes Authlib leave "scope" out of the token response.
        return ""

    def check_redirect_uri(self, redirect_uri):
        return False

    def check_client_secret(self, client_secret):
        return self.state.check_client(CLIENT_ID, client_secret)

    def check_endpoint_auth_method(self, method, endpoint):
        return method in AUTH_METHODS

    def check_response_type(self, response_type):
        return False

    def check_grant_type(self, grant_type):
        return grant_type in GRANT_TYPES


class Token(TokenMixin):
    """Authlib's view of a token stored in the shared state."""

    def __init__(self, issued, client):
        self.issued = issued
        self.client = client

    def check_client(self, client):
        return client.get_client_id() == self.issued.client_id

    def get_scope(self):
        return self.issued.scope

    def get_expires_in(self):
        return self.client.state.token_lifetime

    def is_expired(self):
        return self.issued.is_expired()

    def is_revoked(self):
        # Rotation revokes the refresh token only; the access token lives until it expires.
        return False

    def get_user(self):
        return dict(USER)

    def get_client(self):
        return self.client


class InteropAuthorizationServer(AuthorizationServer):
    """Authlib's Flask server backed by the shared in-memory state."""

    def __init__(self, app, state):
        self.state = state
        self.client = Client(state)
        super().__init__(app)

    def query_client(self, client_id):
        return self.client if client_id == CLIENT_ID else None

    def save_token(self, token, request):
        self.state.save_token(token, client_id=request.client.get_client_id(), user_id=request.user["id"])


class PasswordGrant(grants.ResourceOwnerPasswordCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def authenticate_user(self, username, password):
        return self.server.state.check_password(username, password)


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def __init__(self, request, server):
        super().__init__(request, server)
        # Authlib's default (False) answers a refresh without a refresh_token; the
        # fixture chooses per started server, so the grant reads it per request.
        self.INCLUDE_NEW_REFRESH_TOKEN = server.state.rotate_refresh_tokens

    def authenticate_refresh_token(self, refresh_token):
        issued = self.server.state.find_refresh(refresh_token)
        return Token(issued, self.server.client) if issued else None

    def authenticate_user(self, refresh_token):
        return refresh_token.get_user()

    def revoke_old_credential(self, refresh_token):
        if self.INCLUDE_NEW_REFRESH_TOKEN:
            self.server.state.revoke_refresh(refresh_token.issued.refresh_token)


class SharedStateBearerTokenValidator(BearerTokenValidator):
    def __init__(self, server):
        super().__init__()
        self.server = server

    def authenticate_token(self, token_string):
        issued = self.server.state.find_access(token_string)
        return Token(issued, self.server.client) if issued else None


def create_app(state):
    """A Flask app serving {BASE_PATH}/token, /status and /user with Authlib."""
    app = Flask(__name__)
    app.config["OAUTH2_REFRESH_TOKEN_GENERATOR"] = True
    app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {grant_type: state.token_lifetime for grant_type in GRANT_TYPES}
    server = InteropAuthorizationServer(app, state)
    server.register_grant(PasswordGrant)
    server.register_grant(RefreshTokenGrant)
    require_oauth = ResourceProtector()
    require_oauth.register_token_validator(SharedStateBearerTokenValidator(server))

    @app.post(TOKEN_PATH)
    def issue_token():
        return server.create_token_response()

    @app.get(BASE_PATH + "/status")
    @require_oauth()
    def status():
        return jsonify(status_payload())

    @app.get(BASE_PATH + "/user")
    @require_oauth()
    def user():
        return jsonify(user_payload())

    return app
