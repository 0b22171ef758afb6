"""Real servers for the transport tests, and the clients and replies they use.

``Server(reply, tls=None)`` is a threaded HTTP/1.1 server on 127.0.0.1 and a free port whose every
request is answered by ``reply(handler)`` (a ``BaseHTTPRequestHandler``); it records each request
as ``(method, path, headers, body)``. The ``serve`` fixture (tests/transport/conftest.py) starts
them and stops them after the test.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import ResourceOwnerAuthCredentials
from mdnotesropcgwithoutauthscopes.mdnotesropcgwithoutauthscopes_client import MdnotesropcgwithoutauthscopesClient
from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken
from tests.helpers import STATUS_BODY as STATUS

ACCESS_TOKEN = "ACCESS-TOKEN-transport"
CLIENT_ID = "transport-client"
CLIENT_SECRET = "CLIENT-SECRET-transport"
USERNAME = "alice@example.com"
PASSWORD = "PASSWORD-transport"
SECRETS = (ACCESS_TOKEN, CLIENT_SECRET, PASSWORD)


class Server:
    """A running test server: ``url``, ``requests`` received, ``stop()``."""

    def __init__(self, reply, tls=None):
        self.requests = []
        self.stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_GET(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.requests.append((self.command, self.path, dict(self.headers), body))
                reply(self)

            do_POST = do_PUT = do_HEAD = do_DELETE = do_GET

            def log_message(self, *args):
                pass

        class HTTPServer(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # a client hanging up on a trickling reply is expected here

        self._httpd = HTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        scheme = "https" if tls is not None else "http"
        self.port = self._httpd.server_address[1]
        self.url = f"{scheme}://127.0.0.1:{self.port}"

    def stop(self):
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


def send(handler, status=200, body=b"", headers=()):
    """Answer with ``status``, ``headers`` and ``body`` (Content-Length set)."""
    handler.send_response(status)
    for name, value in headers:
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def json_reply(payload=None, status=200):
    """A reply function answering ``payload`` (the status document by default) as JSON."""
    body = json.dumps(STATUS if payload is None else payload).encode()
    return lambda h: send(h, status, body, (("Content-Type", "application/json"),))


def token_reply(h):
    """A token endpoint that always issues the same token."""
    body = {"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 3600}
    send(h, 200, json.dumps(body).encode(), (("Content-Type", "application/json"),))


def redirect_reply(status, location):
    """Answer every request with a redirect to ``location``."""
    return lambda h: send(h, status, b"moved", (("Location", location),))


def stored_token():
    """A token valid for an hour, as restored from storage."""
    return OAuthToken(access_token=ACCESS_TOKEN, token_type="Bearer", expires_in=3600, expiry=int(time.time()) + 3600)


def api_client(base_url, **settings):
    """A client with a valid stored token: API calls send ``Authorization: Bearer ACCESS_TOKEN``."""
    credentials = ResourceOwnerAuthCredentials(o_auth_token=stored_token())
    return MdnotesropcgwithoutauthscopesClient(
        base_uri=base_url, resource_owner_auth_credentials=credentials, **settings
    )


def password_client(base_url, **settings):
    """A client whose first act is a password grant to ``base_url + '/token'``."""
    credentials = ResourceOwnerAuthCredentials(
        o_auth_client_id=CLIENT_ID,
        o_auth_client_secret=CLIENT_SECRET,
        o_auth_username=USERNAME,
        o_auth_password=PASSWORD,
        **settings.pop("credentials", {}),
    )
    return MdnotesropcgwithoutauthscopesClient(
        base_uri=base_url, resource_owner_auth_credentials=credentials, **settings
    )


def assert_no_secret(text):
    for secret in SECRETS:
        assert secret not in text
