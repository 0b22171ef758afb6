"""One deadline for a whole answer (defect 3): bodies that trickle in, whatever their framing."""

import time

import pytest

from mdnotesropcgwithoutauthscopes.exceptions.api_connection_exception import APITimeoutException
from tests.transport.conftest import api_client, password_client

TIMEOUT = 1.0
SLACK = 1.5  # hang detection only: the figure that matters is "not hours"


def _trickle(server_stopping, write, pause=0.3):
    """Send one byte per ``pause`` seconds until the client hangs up or the server stops."""
    try:
        while not server_stopping.is_set():
            write()
            time.sleep(pause)
    except OSError:
        pass


def _content_length_trickler(state):
    def reply(h):
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", "200000")
        h.end_headers()
        h.wfile.write(b"{")
        h.wfile.flush()
        _trickle(state["server"].stopping, lambda: (h.wfile.write(b" "), h.wfile.flush()))

    return reply


def _chunked_trickler(state):
    def reply(h):
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        _trickle(state["server"].stopping, lambda: (h.wfile.write(b"1\r\n \r\n"), h.wfile.flush()))

    return reply


def _one_big_chunk_trickler(state):
    def reply(h):
        h.send_response(200)
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        h.wfile.write(b"30d40\r\n")  # one chunk of 200,000 bytes, sent a byte at a time
        h.wfile.flush()
        _trickle(state["server"].stopping, lambda: (h.wfile.write(b" "), h.wfile.flush()))

    return reply


def _until_close_trickler(state):
    def reply(h):
        h.close_connection = True
        h.wfile.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/json\r\n\r\n")
        h.wfile.flush()
        _trickle(state["server"].stopping, lambda: (h.wfile.write(b" "), h.wfile.flush()))

    return reply


@pytest.mark.parametrize(
    "make_reply", [_content_length_trickler, _chunked_trickler, _one_big_chunk_trickler, _until_close_trickler]
)
@pytest.mark.parametrize("request_kind", ["api", "token"])
def test_a_trickled_body_times_out_soon_after_the_timeout(serve, make_reply, request_kind):
    state = {}
    server = state["server"] = serve(make_reply(state))
    if request_kind == "api":
        call = api_client(server.url, timeout=TIMEOUT).service.get_status
    else:
        call = password_client(server.url, timeout=TIMEOUT).http_ropcg.fetch_token
    started = time.monotonic()
    with pytest.raises(APITimeoutException) as info:
        call()
    elapsed = time.monotonic() - started
    assert elapsed < TIMEOUT + SLACK, f"took {elapsed:.1f}s"
    assert info.value.url.startswith(server.url)
    assert "Timed out" in str(info.value)
