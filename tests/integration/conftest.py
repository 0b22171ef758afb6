"""Fixtures that run the reference MdNotes server on 127.0.0.1 and a free port."""

import pytest

from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import ResourceOwnerAuthCredentials
from mdnotesropcgwithoutauthscopes.testing import client_for as kit_client_for

DEMO = dict(
    client_id="demo client:+%/é",
    client_secret="demo secret:+%/ü",
    username="demo@example.com",
    password="demo pass:word",
)


@pytest.fixture
def start(mdnotes_server_factory):
    """Start servers (the kit's pytest plugin) with the given settings; every one is stopped after the test."""

    def _start(**settings):
        return mdnotes_server_factory(**{**DEMO, "enable_faults": True, **settings})

    return _start


@pytest.fixture
def server(start):
    """A server whose tokens last an hour."""
    return start(token_lifetime=3600)


def credentials(**changes):
    """The demo credentials, with ``changes`` applied."""
    values = dict(
        o_auth_client_id=DEMO["client_id"],
        o_auth_client_secret=DEMO["client_secret"],
        o_auth_username=DEMO["username"],
        o_auth_password=DEMO["password"],
    )
    values.update(changes)
    return ResourceOwnerAuthCredentials(**values)


def client_for(server, creds=None, **settings):
    """A client of ``server``."""
    return kit_client_for(server, credentials=creds or credentials(), **settings)
