"""pytest fixtures for code built on the SDK; pytest loads this module through the ``mdnotes`` entry point.

Fixtures (each one per test, cleaned up after it):

- ``mdnotes_server``: a running ``MdNotesServer`` on 127.0.0.1 and a free port; settings come
  from ``@pytest.mark.mdnotes_server(token_lifetime=2, ...)``.
- ``mdnotes_server_factory``: ``start(**settings)`` starts more servers, all stopped after the test.
- ``mdnotes_client``: an SDK client of ``mdnotes_server`` signed in with its demo user, closed after.
- ``mdnotes_responses``: an active ``MdNotesResponses``; settings from
  ``@pytest.mark.mdnotes_responses(...)``. Needs ``responses`` installed.

Loading the plugin imports nothing but this module: the server, the SDK client and
``responses`` are imported only by the fixtures that need them. ``-p no:mdnotes`` turns it off.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Callable

import pytest

if TYPE_CHECKING:
    from ..mdnotesropcgwithoutauthscopes_client import MdnotesropcgwithoutauthscopesClient
    from .mock_api import MdNotesResponses
    from .server import MdNotesServer

_MARKERS = (
    "mdnotes_server(**settings): MdNotesServer settings for the mdnotes_server fixture, e.g. token_lifetime=2",
    "mdnotes_responses(**settings): MdNotesResponses settings for the mdnotes_responses fixture",
)


def pytest_configure(config: pytest.Config) -> None:
    """Declare the markers, so ``--strict-markers`` runs accept them."""
    for line in _MARKERS:
        config.addinivalue_line("markers", line)


def _marker_settings(request: pytest.FixtureRequest, name: str) -> dict[str, Any]:
    marker = request.node.get_closest_marker(name)
    if marker is None:
        return {}
    if marker.args:
        raise TypeError(f"@pytest.mark.{name} takes keyword arguments only")
    return dict(marker.kwargs)


@pytest.fixture
def mdnotes_server_factory() -> Iterator[Callable[..., MdNotesServer]]:
    """``start(**settings)``: start an ``MdNotesServer`` with those settings; every one stops after the test."""
    from .server import MdNotesServer

    started: list[MdNotesServer] = []

    def start(**settings: Any) -> MdNotesServer:
        server = MdNotesServer(**settings).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def mdnotes_server(
    request: pytest.FixtureRequest, mdnotes_server_factory: Callable[..., MdNotesServer]
) -> MdNotesServer:
    """A running reference server (demo credentials unless the ``mdnotes_server`` marker says otherwise)."""
    return mdnotes_server_factory(**_marker_settings(request, "mdnotes_server"))


@pytest.fixture
def mdnotes_client(mdnotes_server: MdNotesServer) -> Iterator[MdnotesropcgwithoutauthscopesClient]:
    """An SDK client of ``mdnotes_server``, signed in as its first user; closed after the test."""
    from .clients import client_for

    with client_for(mdnotes_server) as client:
        yield client


@pytest.fixture
def mdnotes_responses(request: pytest.FixtureRequest) -> Iterator[MdNotesResponses]:
    """An active ``MdNotesResponses`` on the SDK's default base URI (settings from its marker)."""
    from .mock_api import MdNotesResponses

    with MdNotesResponses(**_marker_settings(request, "mdnotes_responses")) as api:
        yield api
