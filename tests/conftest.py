"""Fixtures shared by the whole suite: mocked HTTP, a movable clock, log capture, a real Redis server.

The helpers the tests import (URLs, bodies, clients, credentials) are in ``tests/helpers``.
"""

import logging

import pytest
import responses

from mdnotesropcgwithoutauthscopes.http.auth import o_auth_2
from tests.helpers import REDIS_MISSING, Clock, token_clock


@pytest.fixture
def rsps():
    """``responses`` mock that fails the test on unmatched requests; nothing reaches the network."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def clock(monkeypatch):
    """Give every auth manager built during the test a clock the test moves (its ``clock=``)."""
    fake = Clock(1_800_000_000.0)
    build = o_auth_2.OAuth2.__init__

    def with_fake_clock(self, credentials, auth_controller, *, clock=fake):
        build(self, credentials, auth_controller, clock=clock)

    monkeypatch.setattr(o_auth_2.OAuth2, "__init__", with_fake_clock)
    monkeypatch.setitem(token_clock, "clock", fake)
    return fake


@pytest.fixture
def sdk_logs(caplog):
    """Every SDK log record, from DEBUG up."""
    caplog.set_level(logging.DEBUG, logger="mdnotesropcgwithoutauthscopes")
    return caplog


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
