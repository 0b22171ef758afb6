"""Fixtures shared by the whole suite: mocked HTTP, credentials, a movable clock, log capture."""

import json
import logging
import threading
import time
from typing import Any, Callable, Optional
from urllib.parse import parse_qsl

import pytest
import responses

from mdnotesropcgwithoutauthscopes.http.auth import o_auth_2
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
    token.expiry = expiry if expiry is not None else _now["clock"]() + (expires_in or 3600)
    return token


@pytest.fixture
def rsps():
    """``responses`` mock that fails the test on unmatched requests; nothing reaches the network."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


class Clock:
    """The SDK's UTC clock, under the test's control."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


_now = {"clock": time.time}  # the clock stored tokens are dated by: the test's own when it has one


@pytest.fixture
def clock(monkeypatch):
    """Give every auth manager built during the test a clock the test moves (its ``clock=``)."""
    fake = Clock(1_800_000_000.0)
    build = o_auth_2.OAuth2.__init__

    def with_fake_clock(self, credentials, auth_controller, *, clock=fake):
        build(self, credentials, auth_controller, clock=clock)

    monkeypatch.setattr(o_auth_2.OAuth2, "__init__", with_fake_clock)
    monkeypatch.setitem(_now, "clock", fake)
    return fake


@pytest.fixture
def sdk_logs(caplog):
    """Every SDK log record, from DEBUG up."""
    caplog.set_level(logging.DEBUG, logger="mdnotesropcgwithoutauthscopes")
    return caplog


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


# --- A real Redis server (Debian's redis-server), for the token store tests. ---

REDIS_MISSING = "redis-server is not installed (apt-get install redis-server); .ci/run installs it"


@pytest.fixture(scope="session")
def redis_binary():
    """The ``redis-server`` executable; the test is skipped, saying why, only when there is none."""
    from tests.redis_server import redis_server_binary

    binary = redis_server_binary()
    if binary is None:
        pytest.skip(REDIS_MISSING)
    return binary


@pytest.fixture(scope="session")
def redis_session_server(redis_binary):
    """One redis-server for the whole run, on a free loopback port, persistence off."""
    from tests.redis_server import RedisServer

    server = RedisServer(redis_binary).start()
    yield server
    server.close()


@pytest.fixture
def redis_server(redis_session_server):
    """The shared redis-server, emptied (and started again if a test stopped it) before the test."""
    import redis

    redis_session_server.start()
    with redis.Redis.from_url(redis_session_server.url) as client:
        client.flushall()
    return redis_session_server


@pytest.fixture
def own_redis_server(redis_binary):
    """A redis-server for this test alone, which it may stop and restart; stopped afterwards."""
    from tests.redis_server import RedisServer

    server = RedisServer(redis_binary).start()
    yield server
    server.close()
