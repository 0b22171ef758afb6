"""Fixtures that run each interop authorization server on 127.0.0.1 for the duration of a test."""

from __future__ import annotations

import os
from dataclasses import dataclass
from types import ModuleType

import pytest

from . import authlib_server, node_server, oauthlib_server
from .common import RunningServer, ServerState, recording

NODE = "node-oauth2-server"
PYTHON_SERVERS = {"authlib": authlib_server, "oauthlib": oauthlib_server}
SERVERS = {**PYTHON_SERVERS, NODE: node_server}


def server_id(name):
    """The library version is in every test id, so a CI log says what was tested against."""
    return f"{name}-{SERVERS[name].VERSION}"


@dataclass
class InteropServer:
    """A started server: where it listens, what it stored and counted, and which library it is.

    ``state`` is a ServerState for the Python servers and a node_server.NodeState for Node: both
    give token_requests, token_request_count, exchanges, latest_token() and describe_exchanges().
    """

    name: str
    module: ModuleType
    base_url: str
    state: ServerState | node_server.NodeState

    @property
    def token_url(self):
        return self.base_url + "/token"


@pytest.fixture(autouse=True)
def _loopback_bypasses_proxies(monkeypatch):
    """Keep requests (ours and the SDK's) from sending 127.0.0.1 traffic to a configured proxy."""
    for name in ("NO_PROXY", "no_proxy"):
        existing = os.environ.get(name)
        monkeypatch.setenv(name, ",".join(filter(None, [existing, "127.0.0.1", "localhost"])))


@pytest.fixture(scope="session")
def node_executable():
    """The node binary, with the lockfile's packages installed (npm ci, once, when missing)."""
    node, npm = node_server.node_executables()  # the only skip: no node or npm on PATH
    node_server.ensure_installed(npm)
    return node


def _start_servers(request, name):
    """Yield a factory starting servers of library ``name``; every one is stopped at teardown.

    The factory's keyword arguments are token_lifetime and rotate_refresh_tokens (for Node also
    basic_decoding and clients, see NodeServer).
    """
    module = SERVERS[name]
    node = request.getfixturevalue("node_executable") if module is node_server else None
    running = []

    def start(**settings):
        if node:
            server = node_server.NodeServer(node, **settings)
            state = server.state
        else:
            state = ServerState(**settings)
            server = RunningServer(recording(module.create_app(state), state))
        running.append(server)
        return InteropServer(name, module, server.base_url, state)

    yield start
    for server in running:
        server.stop()


@pytest.fixture(params=sorted(SERVERS), ids=server_id)
def start_server(request):
    """Factory starting the parametrized server: Authlib, Node or oauthlib (see _start_servers)."""
    yield from _start_servers(request, request.param)


@pytest.fixture(params=sorted(PYTHON_SERVERS), ids=server_id)
def start_python_server(request):
    """Factory starting the parametrized Python server: Authlib or oauthlib."""
    yield from _start_servers(request, request.param)


@pytest.fixture(params=[NODE], ids=server_id)
def start_node(request):
    """Factory starting the Node server (see _start_servers)."""
    yield from _start_servers(request, request.param)


@pytest.fixture
def interop_server(start_server):
    """The parametrized server with long-lived (one hour) tokens."""
    return start_server()


@pytest.fixture
def python_server(start_python_server):
    """The parametrized Python server with long-lived (one hour) tokens."""
    return start_python_server()


@pytest.fixture
def node(start_node):
    """The Node server with one-hour tokens and RFC 6749 decoding of Basic credentials."""
    return start_node()
