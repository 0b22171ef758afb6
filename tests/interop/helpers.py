"""Client-side helpers the interop tests share: SDK clients, plain HTTP requests, what a server saw."""

from __future__ import annotations

import base64
from urllib.parse import quote, quote_plus

import requests

from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import ClientAuthentication, ResourceOwnerAuthCredentials
from mdnotesropcgwithoutauthscopes.mdnotesropcgwithoutauthscopes_client import MdnotesropcgwithoutauthscopesClient

from . import node_server
from .common import CLIENT_ID, CLIENT_SECRET, PASSWORD, TOKEN_PATH, USERNAME

PASSWORD_GRANT = {"grant_type": "password", "username": USERNAME, "password": PASSWORD}


# ------------------------------------------------------------------ the SDK


def named_client_authentication(server):
    """The client-auth method this server accepts for the interop client (doc/compatibility.md explains why)."""
    if server.module.DECODES_RFC6749_BASIC:
        return ClientAuthentication.BASIC
    return ClientAuthentication.REQUEST_BODY


def client_authentication_for(server):
    """The client-auth setting make_client gives the SDK for this server; None: none, the SDK's default.

    Against Node, the SDK's default (AUTO): its model form-decodes Basic, so AUTO's first request
    (RFC 6749 Basic) is accepted and every count is what BASIC named would give; the flows then also
    show that the default keeps that method through refreshes, retries and threads. Against the
    Python servers, the method each accepts, named.
    """
    if server.module is node_server:
        return None
    return named_client_authentication(server)


def make_client(server, **credential_changes):
    """An SDK client of ``server`` for the interop client and user, with ``credential_changes`` applied."""
    settings = {
        "o_auth_client_id": CLIENT_ID,
        "o_auth_client_secret": CLIENT_SECRET,
        "o_auth_username": USERNAME,
        "o_auth_password": PASSWORD,
    }
    method = client_authentication_for(server)
    if method is not None:
        settings["o_auth_client_authentication"] = method
    settings.update(credential_changes)
    return MdnotesropcgwithoutauthscopesClient(
        base_uri=server.base_url,
        timeout=10,
        resource_owner_auth_credentials=ResourceOwnerAuthCredentials(**settings),
    )


# ------------------------------------------------------------------ plain HTTP


def basic(encode, client_id=CLIENT_ID, client_secret=CLIENT_SECRET):
    """An Authorization: Basic value, each half passed through encode."""
    pair = f"{encode(client_id)}:{encode(client_secret)}"
    return "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")


def percent_encode(value):
    """Percent-encoding with %20 for a space (not '+'), as unquote()-only servers need."""
    return quote(value, safe="")


RFC6749_BASIC = basic(quote_plus)  # the interop client, form-encoded as RFC 6749 §2.3.1 says
PERCENT_ENCODED_BASIC = basic(percent_encode)  # the interop client as every server here reads it


def post_token(server, form, authorization=None):
    headers = {"Accept": "application/json"}
    if authorization:
        headers["Authorization"] = authorization
    return requests.post(server.token_url, data=form, headers=headers, timeout=10)


def get(server, path, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    return requests.get(server.base_url + path, headers=headers, timeout=10)


# ------------------------------------------------------------------ what the server saw


def token_exchanges(server):
    """The exchanges on the token endpoint, in order."""
    return [exchange for exchange in server.state.exchanges if exchange.path == TOKEN_PATH]
