"""Behaviour of ``RequestsClient``'s fast paths (direct request preparation, direct body read).

Each test runs a small keep-alive HTTP/1.1 server on 127.0.0.1 (port 0) that the test starts
and stops; no test measures time.
"""

import gzip
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
import urllib3

from mdnotesropcgwithoutauthscopes.exceptions.api_connection_exception import (
    APIConnectionException,
    APITimeoutException,
)
from mdnotesropcgwithoutauthscopes.exceptions.response_too_large_exception import ResponseTooLargeException
from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import ResourceOwnerAuthCredentials
from mdnotesropcgwithoutauthscopes.http.http_request import HttpRequest
from mdnotesropcgwithoutauthscopes.http.requests_client import RequestsClient
from mdnotesropcgwithoutauthscopes.mdnotesropcgwithoutauthscopes_client import MdnotesropcgwithoutauthscopesClient
from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken
from tests.helpers import STATUS_BODY as STATUS
from tests.helpers.transport import send as _send


class _Server:
    """Answers every request with what ``reply(handler)`` returns; records requests and connections."""

    def __init__(self, reply):
        self.connections = 0
        self.requests = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def setup(self):
                super().setup()
                server.connections += 1

            def do_GET(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.requests.append((self.command, self.path, dict(self.headers), body))
                reply(self)

            do_POST = do_GET

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

        self._httpd = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def stop(self):
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


def _json_reply(payload=STATUS, **extra):
    body = json.dumps(payload).encode()
    return lambda h: _send(h, 200, body, (("Content-Type", "application/json"),) + tuple(extra.items()))


@pytest.fixture
def serve():
    servers = []

    def start(reply):
        srv = _Server(reply)
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.stop()


def _sdk(srv, **settings):
    token = OAuthToken(access_token="tok", token_type="Bearer", expires_in=3600, expiry=int(time.time()) + 3600)
    return MdnotesropcgwithoutauthscopesClient(
        base_uri=srv.url + "/api",
        resource_owner_auth_credentials=ResourceOwnerAuthCredentials(o_auth_token=token),
        **settings,
    )


def _get(client, srv, path="/x", headers=None, query=None):
    return client.execute(HttpRequest("GET", srv.url + path, dict(headers or {}), query), timeout=5)


def test_one_connection_serves_fifty_sequential_calls(serve):
    srv = serve(_json_reply())
    with _sdk(srv) as client:
        for _ in range(50):
            assert client.service.get_status().status == "ok"
    assert srv.connections == 1
    assert len(srv.requests) == 50
    assert all(h["Authorization"] == "Bearer tok" for _, _, h, _ in srv.requests)


def test_connection_is_reused_after_gzip_and_chunked_bodies(serve):
    state = {"n": 0}

    def reply(h):
        state["n"] += 1
        if state["n"] % 2:
            _send(
                h,
                200,
                gzip.compress(json.dumps(STATUS).encode()),
                (("Content-Type", "application/json"), ("Content-Encoding", "gzip")),
            )
        else:
            data = json.dumps(STATUS).encode()
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
            for piece in (data[:10], data[10:]):
                h.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            h.wfile.write(b"0\r\n\r\n")

    srv = serve(reply)
    with _sdk(srv) as client:
        for _ in range(20):
            assert client.service.get_status().to_dictionary() == STATUS
    assert srv.connections == 1


def test_gzip_body_is_decoded(serve):
    srv = serve(lambda h: _send(h, 200, gzip.compress(b'{"a": 1}' * 1), (("Content-Encoding", "gzip"),)))
    response = _get(RequestsClient(), srv)
    assert response.raw_body == b'{"a": 1}'


def test_large_plain_body_is_read_whole_across_chunks(serve):
    body = bytes(range(256)) * 1000  # several 64 KiB reads
    srv = serve(lambda h: _send(h, 200, body))
    client = RequestsClient()
    assert _get(client, srv).raw_body == body
    assert _get(client, srv).raw_body == body
    assert srv.connections == 1


def test_body_over_the_cap_is_refused_by_content_length(serve):
    srv = serve(lambda h: _send(h, 200, b"x" * 5000))
    with pytest.raises(ResponseTooLargeException, match="1024"):
        _get(RequestsClient(max_response_bytes=1024), srv)


def test_body_over_the_cap_is_refused_after_decompression(serve):
    srv = serve(lambda h: _send(h, 200, gzip.compress(b"x" * 200_000), (("Content-Encoding", "gzip"),)))
    with pytest.raises(ResponseTooLargeException):
        _get(RequestsClient(max_response_bytes=100_000), srv)
    # Under the cap the same body is accepted whole.
    assert len(_get(RequestsClient(max_response_bytes=200_000), srv).raw_body) == 200_000


def test_truncated_body_is_a_connection_error(serve):
    def reply(h):
        h.send_response(200)
        h.send_header("Content-Length", "100")
        h.end_headers()
        h.wfile.write(b"x" * 50)
        h.close_connection = True

    srv = serve(reply)
    with pytest.raises(APIConnectionException, match="body ended early") as info:
        _get(RequestsClient(), srv)
    assert info.value.request_sent is True
    assert isinstance(info.value.__cause__, urllib3.exceptions.ProtocolError)


def test_corrupt_gzip_is_a_connection_error(serve):
    srv = serve(lambda h: _send(h, 200, b"not gzip at all", (("Content-Encoding", "gzip"),)))
    with pytest.raises(APIConnectionException, match="could not be decompressed"):
        _get(RequestsClient(), srv)


def test_body_trickling_past_the_deadline_times_out(serve):
    piece = b"x" * 65536

    def reply(h):
        h.send_response(200)
        h.send_header("Content-Length", str(len(piece) * 6))
        h.end_headers()
        try:
            for _ in range(6):
                h.wfile.write(piece)
                time.sleep(0.35)
        except OSError:
            pass  # the client gave up, as it should

    srv = serve(reply)
    with pytest.raises(APITimeoutException):
        RequestsClient().execute(HttpRequest("GET", srv.url + "/slow"), timeout=0.6)


def test_session_headers_cookies_and_params_are_merged(serve):
    srv = serve(_json_reply())
    session = requests.Session()
    session.headers["X-Session"] = "s"
    session.headers["Accept"] = "text/plain"
    session.headers["Accept-Encoding"] = None  # None removes a header, as in requests
    session.cookies.set("sid", "abc", domain="127.0.0.1", path="/")
    session.params = {"fixed": "1"}
    client = RequestsClient(http_client_instance=session)
    _get(client, srv, "/p?a=b", headers={"accept": "application/json"}, query={"q": "x y"})
    _, path, headers, _ = srv.requests[-1]
    assert path == "/p?a=b&fixed=1&q=x+y"
    assert headers["X-Session"] == "s"
    assert headers["accept"] == "application/json"  # the request's value, case-insensitively
    assert "gzip" not in headers.get("Accept-Encoding", "")  # http.client's "identity" at most
    assert headers["Cookie"] == "sid=abc"
    # Without query parameters the prepared URL comes from the cache and is still right.
    session.params = {}
    _get(client, srv, "/p?a=b")
    _get(client, srv, "/p?a=b")
    assert [r[1] for r in srv.requests[-2:]] == ["/p?a=b", "/p?a=b"]
    assert "Cookie" in srv.requests[-1][2]


def test_no_cookie_header_without_cookies_and_set_cookie_is_kept(serve):
    srv = serve(_json_reply(**{"Set-Cookie": "k=v; Path=/"}))
    session = requests.Session()
    client = RequestsClient(http_client_instance=session)
    _get(client, srv)
    assert "Cookie" not in srv.requests[-1][2]
    assert session.cookies.get("k") == "v"
    _get(client, srv)
    assert srv.requests[-1][2]["Cookie"] == "k=v"


def test_form_body_and_empty_post_get_their_lengths(serve):
    srv = serve(_json_reply())
    client = RequestsClient()
    client.execute(HttpRequest("POST", srv.url + "/f", {}, None, {"a": "1 2", "b": "é"}), timeout=5)
    _, _, headers, body = srv.requests[-1]
    assert body == b"a=1+2&b=%C3%A9"
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    client.execute(HttpRequest("POST", srv.url + "/f", {}), timeout=5)
    assert srv.requests[-1][2]["Content-Length"] == "0"


def test_invalid_header_is_refused_even_after_valid_ones_were_cached(serve):
    srv = serve(_json_reply())
    client = RequestsClient()
    _get(client, srv, headers={"X-Id": "ok"})
    for bad in ("a\r\nInjected: 1", 5):
        with pytest.raises(ValueError, match="'X-Id'") as info:
            _get(client, srv, headers={"X-Id": bad})
        assert not isinstance(info.value, APIConnectionException) and "Injected" not in str(info.value)
    assert len(srv.requests) == 1


def test_netrc_and_session_auth_are_not_used(serve, tmp_path, monkeypatch):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login user password secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    srv = serve(_json_reply())
    session = requests.Session()
    session.auth = ("session", "auth")
    _get(RequestsClient(), srv)
    _get(RequestsClient(http_client_instance=session), srv)
    assert all("Authorization" not in h for _, _, h, _ in srv.requests)


def test_session_hooks_run_and_redirects_are_followed(serve):
    def reply(h):
        if h.path == "/old":
            _send(h, 302, b"", (("Location", "/new"),))
        else:
            _json_reply()(h)

    srv = serve(reply)
    seen = []
    session = requests.Session()
    session.hooks["response"].append(lambda r, **kwargs: seen.append(r.status_code))
    response = _get(RequestsClient(http_client_instance=session), srv, "/old")
    assert response.status_code == 200
    assert [r[1] for r in srv.requests] == ["/old", "/new"]
    assert seen == [302, 200]
    assert srv.connections == 1


def test_a_callers_session_is_left_open(serve):
    srv = serve(_json_reply())
    session = requests.Session()
    client = RequestsClient(http_client_instance=session)
    _get(client, srv)
    client.close()
    assert session.get(srv.url + "/again").status_code == 200
    assert srv.connections == 1
