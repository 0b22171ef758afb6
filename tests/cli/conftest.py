"""Fixtures that run the real ``mdnotes`` command against the reference server on a free loopback port."""

import pytest

from tests.helpers.cli import Mdnotes, settings_for
from tests.helpers.integration import server_settings


@pytest.fixture
def start(mdnotes_server_factory):
    """Start servers (the kit's pytest plugin) with the demo settings; every one is stopped after the test."""

    def _start(**settings):
        return mdnotes_server_factory(**server_settings(**settings))

    return _start


@pytest.fixture
def server(start):
    """A server whose tokens last an hour."""
    return start(token_lifetime=3600)


@pytest.fixture
def mdnotes(tmp_path, server):
    """``mdnotes`` (run as ``python -m``) configured for ``server``, with HOME in a temporary directory."""
    home = tmp_path / "home"
    home.mkdir()
    return Mdnotes(home, settings_for(server))
