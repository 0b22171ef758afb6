"""Fixtures that run the reference MdNotes server on 127.0.0.1 and a free port."""

import pytest

from tests.helpers.integration import server_settings


@pytest.fixture
def start(mdnotes_server_factory):
    """Start servers (the kit's pytest plugin) with the given settings; every one is stopped after the test."""

    def _start(**settings):
        return mdnotes_server_factory(**server_settings(**settings))

    return _start


@pytest.fixture
def server(start):
    """A server whose tokens last an hour."""
    return start(token_lifetime=3600)
