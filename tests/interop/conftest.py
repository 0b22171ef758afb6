"""Fixtures that run each interop authorization server on 127.0.0.1 for the duration of a test."""

from __future__ import annotations

import os
from dataclasses import dataclass
from types import ModuleType

import pytest

from . import authlib_server, oauthlib_server
from .common import RunningServer, ServerState, recording

SERVERS = {"authlib": authlib_server, "oauthlib": oauthlib_server}


@dataclass
class InteropServer:
    """A started server: where it listens, what it stored and counted, and which library it is."""

    name: str
    module: ModuleType
    base_url: str
    state: ServerState

    @property
    def token_url(self):
        return self.base_url + "/token"


@pytest.fixture(autouse=True)
def _loopback_bypasses_proxies(monkeypatch):
    """Keep requests (ours and the SDK's) from sending 127.0.0.1 traffic to a configured proxy."""
    for name in ("NO_PROXY", "no_proxy"):
        existing = os.environ.get(name)
        monkeypatch.setenv(name, ",".join(filter(None, [existing, "127.0.0.1", "localhost"])))


# The library version is in every test id, so a CI log says what was tested against.
@pytest.fixture(params=sorted(SERVERS), ids=lambda name: f"{name}-{SERVERS[name].VERSION}")
def start_server(request):
    """Factory starting the parametrized server; its keyword arguments are ServerState settings."""
    module = SERVERS[request.param]
    running = []

    def start(token_lifetime=3600, rotate_refresh_tokens=True):
        state = ServerState(token_lifetime=token_lifetime, rotate_refresh_tokens=rotate_refresh_tokens)
        server = RunningServer(recording(module.create_app(state), state))
        running.append(server)
        return InteropServer(request.param, module, server.base_url, state)

    yield start
    for server in running:
        server.stop()


@pytest.fixture
def interop_server(start_server):
    """The parametrized server with long-lived (one hour) tokens."""
    return start_server()
