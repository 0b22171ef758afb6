"""The integration tests' demo values (an id, secret and password full of characters that need encoding) and clients."""

from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import ResourceOwnerAuthCredentials
from mdnotesropcgwithoutauthscopes.testing import client_for as kit_client_for

DEMO = dict(
    client_id="demo client:+%/é",
    client_secret="demo secret:+%/ü",
    username="demo@example.com",
    password="demo pass:word",
)


def server_settings(**settings):
    """The reference server's settings for these tests: the demo values, faults enabled, then ``settings``."""
    return {**DEMO, "enable_faults": True, **settings}


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
