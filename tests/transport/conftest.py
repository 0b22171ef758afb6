"""Real servers for the transport tests: HTTP and HTTPS on 127.0.0.1, started and stopped by the tests.

``serve(reply, tls=None)`` starts a threaded HTTP/1.1 server on a free port whose every request
is answered by ``reply(handler)`` (a ``BaseHTTPRequestHandler``); the server records each request
as ``(method, path, headers, body)``. ``certificate`` makes a self-signed certificate for
``127.0.0.1`` and ``localhost`` with the ``cryptography`` package.
"""

import datetime
import ipaddress
import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import ResourceOwnerAuthCredentials
from mdnotesropcgwithoutauthscopes.mdnotesropcgwithoutauthscopes_client import MdnotesropcgwithoutauthscopesClient
from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken
from tests.conftest import STATUS_BODY as STATUS

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


@pytest.fixture
def serve():
    """Start servers; each is stopped (by its handle) when the test ends."""
    started = []

    def start(reply, tls=None):
        server = Server(reply, tls)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


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


@pytest.fixture(scope="session")
def certificate(tmp_path_factory):
    """``(cert_path, key_path)`` of a self-signed certificate for 127.0.0.1 and localhost."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "MdNotes transport test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    directory = tmp_path_factory.mktemp("tls")
    cert_path = directory / "cert.pem"
    key_path = directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


@pytest.fixture
def tls(certificate):
    """A server-side TLS context with the test certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture
def no_proxy_env(monkeypatch):
    """No proxy or CA-bundle variables from the machine running the tests."""
    for base in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(base, raising=False)
        monkeypatch.delenv(base.upper(), raising=False)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
