"""Helpers shared by the whole suite: the mocked API's URLs and bodies, credentials, clients, a movable clock.

Tests import these (``from tests.helpers import make_client``); fixtures live in the conftest files.
"""

import json
import threading
import time
from typing import Any, Callable, Optional
from urllib.parse import parse_qsl

import responses

from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import ResourceOwnerAuthCredentials
from mdnotesropcgwithoutauthscopes.mdnotesropcgwithoutauthscopes_client import MdnotesropcgwithoutauthscopesClient
from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken

BASE = "http://localhost:3000/oauth2/non-auth-server"
TOKEN_URL = BASE + "/token"
STATUS_URL = BASE + "/status"
USER_URL = BASE + "/user"

CLIENT_ID = "client:id+1%/é"
CLIENT_SECRET = "s3cr:et+ %ü-CLIENT-SECRET"
USERNAME = "alice@example.com"
PASSWORD = "pa ss:word-PASSWORD"

STATUS_BODY = {
    "app": "MdNotes",
    "moto": "m",
    "notes": 0,
    "users": 1,
    "time": "t",
    "os": "linux",
    "php_version": "8",
    "status": "ok",
}
USER_BODY = {"id": 1, "name": "Alice", "email": USERNAME, "created_at": "c", "updated_at": "u"}


def token_body(
    n: int = 1, *, expires_in: Any = 3600, refresh: Optional[str] = "default", **extra: Any
) -> dict[str, Any]:
    """A token response; access and refresh tokens are numbered so tests can tell them apart."""
    body = {"access_token": f"ACCESS-TOKEN-{n}", "token_type": "Bearer"}
    if expires_in is not None:
        body["expires_in"] = expires_in
    if refresh is not None:
        body["refresh_token"] = f"REFRESH-TOKEN-{n}" if refresh == "default" else refresh
    body.update(extra)
    return body


def form_of(call: Any) -> dict[str, str]:
    """The decoded form body of a recorded request."""
    body = call.request.body
    if isinstance(body, bytes):
        body = body.decode()
    return dict(parse_qsl(body or "", keep_blank_values=True))


def token_calls(rsps: responses.RequestsMock) -> list[Any]:
    """The recorded requests to the token endpoint."""
    return [c for c in rsps.calls if c.request.url == TOKEN_URL]


def make_credentials(**changes: Any) -> ResourceOwnerAuthCredentials:
    """Full password-grant credentials, with ``changes`` applied."""
    values = dict(
        o_auth_client_id=CLIENT_ID,
        o_auth_client_secret=CLIENT_SECRET,
        o_auth_username=USERNAME,
        o_auth_password=PASSWORD,
    )
    values.update(changes)
    return ResourceOwnerAuthCredentials(**values)


def make_client(
    credentials: Optional[ResourceOwnerAuthCredentials] = None, **settings: Any
) -> MdnotesropcgwithoutauthscopesClient:
    """A client on the default (mocked) base URL."""
    if credentials is None:
        credentials = make_credentials()
    return MdnotesropcgwithoutauthscopesClient(resource_owner_auth_credentials=credentials, **settings)


def stored_token(
    n: int = 0, *, expires_in: Any = 3600, expiry: Optional[float] = None, refresh: Optional[str] = "default"
) -> OAuthToken:
    """A token as restored from storage, valid for an hour unless told otherwise."""
    body = token_body(n, expires_in=expires_in, refresh=refresh)
    token = OAuthToken.from_dictionary(body)
    token.expiry = expiry if expiry is not None else token_clock["clock"]() + (expires_in or 3600)
    return token


class Clock:
    """The SDK's UTC clock, under the test's control."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


token_clock = {"clock": time.time}  # the clock stored tokens are dated by: the test's own when it has one


def counting_callback(body_factory: Callable[[int], dict[str, Any]], *, delay: float = 0.0, status: int = 200):
    """A ``responses`` callback that counts its calls thread-safely and answers ``body_factory(n)``."""
    lock = threading.Lock()
    state = {"count": 0}

    def callback(request):
        with lock:
            state["count"] += 1
            n = state["count"]
        if delay:
            threading.Event().wait(delay)
        return status, {"Content-Type": "application/json"}, json.dumps(body_factory(n))

    callback.state = state
    return callback


REDIS_MISSING = "redis-server is not installed (apt-get install redis-server); .ci/run installs it"
