"""One deadline for a whole answer: status lines, headers and bodies that trickle in, whatever their framing."""

import json
import socket
import threading
import time

import pytest
import requests

from mdnotesropcgwithoutauthscopes.exceptions.api_connection_exception import APITimeoutException
from mdnotesropcgwithoutauthscopes.http.deadline import DeadlineWatchdog, Watch
from tests.helpers.transport import STATUS, api_client, password_client, send

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


def _time_out(serve, make_reply, request_kind):
    """Serve ``make_reply``'s answer, call it (an API call or a token request): the server, the timeout, the seconds."""
    state = {}
    server = state["server"] = serve(make_reply(state))
    if request_kind == "api":
        call = api_client(server.url, timeout=TIMEOUT).service.get_status
    else:
        call = password_client(server.url, timeout=TIMEOUT).http_ropcg.fetch_token
    started = time.monotonic()
    with pytest.raises(APITimeoutException) as info:
        call()
    return server, info, time.monotonic() - started


@pytest.mark.parametrize(
    "make_reply", [_content_length_trickler, _chunked_trickler, _one_big_chunk_trickler, _until_close_trickler]
)
@pytest.mark.parametrize("request_kind", ["api", "token"])
def test_a_trickled_body_times_out_soon_after_the_timeout(serve, make_reply, request_kind):
    server, info, elapsed = _time_out(serve, make_reply, request_kind)
    assert elapsed < TIMEOUT + SLACK, f"took {elapsed:.1f}s"
    assert info.value.url.startswith(server.url)
    assert "Timed out" in str(info.value)


def _status_line_trickler(state):
    def reply(h):
        h.close_connection = True
        _trickle(state["server"].stopping, lambda: (h.wfile.write(b"H"), h.wfile.flush()))

    return reply


def _header_trickler(state):
    def reply(h):
        h.close_connection = True
        h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Slow: ")
        h.wfile.flush()
        _trickle(state["server"].stopping, lambda: (h.wfile.write(b"a"), h.wfile.flush()))

    return reply


def _many_headers_trickler(state):
    def reply(h):
        h.close_connection = True
        h.wfile.write(b"HTTP/1.1 200 OK\r\n")
        h.wfile.flush()
        _trickle(state["server"].stopping, lambda: (h.wfile.write(b"X-A: b\r\n"), h.wfile.flush()))

    return reply


@pytest.mark.parametrize("make_reply", [_status_line_trickler, _header_trickler, _many_headers_trickler])
@pytest.mark.parametrize("request_kind", ["api", "token"])
def test_a_trickled_status_line_or_header_times_out_soon_after_the_timeout(serve, make_reply, request_kind):
    server, info, elapsed = _time_out(serve, make_reply, request_kind)
    assert TIMEOUT - 0.05 <= elapsed < TIMEOUT + SLACK, f"took {elapsed:.1f}s"
    assert info.value.url.startswith(server.url)
    assert str(info.value).startswith(f"Timed out: no complete answer within {TIMEOUT}s")


def test_a_slow_but_complete_answer_within_the_timeout_is_not_cut(serve):
    def reply(h):
        time.sleep(0.4)  # headers arrive late, but well within the deadline
        h.send_response(200)
        body = json.dumps(STATUS).encode()
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    server = serve(reply)
    with api_client(server.url, timeout=TIMEOUT) as client:
        for _ in range(3):  # the same pooled connection, used again after each answer
            assert client.service.get_status().app == STATUS["app"]
    assert len(server.requests) == 3


def test_a_trickled_header_times_out_through_a_session_passed_in_too(serve):
    state = {}
    server = state["server"] = serve(_header_trickler(state))
    with requests.Session() as session:
        client = api_client(server.url, timeout=TIMEOUT, http_client_instance=session)
        started = time.monotonic()
        with pytest.raises(APITimeoutException):
            client.service.get_status()
        assert time.monotonic() - started < TIMEOUT + SLACK


# ------------------------------------------------------------------------------------ the watchdog


def _watchdog_threads():
    return [t for t in threading.enumerate() if t.name == "mdnotes-deadline-watchdog"]


def test_the_watchdog_shuts_a_watched_socket_down_at_its_deadline():
    watchdog = DeadlineWatchdog()
    ours, theirs = socket.socketpair()
    with ours, theirs:
        watch = Watch(time.monotonic() + 0.2)
        watchdog.watch(watch, ours)
        assert ours.recv(1) == b""  # blocked until the shutdown
        assert watch.fired
        watchdog.release(watch)  # harmless after it fired
    watchdog.close()


def test_a_released_socket_is_never_touched_and_close_ends_the_thread():
    watchdog = DeadlineWatchdog()
    ours, theirs = socket.socketpair()
    with ours, theirs:
        watch = Watch(time.monotonic() + 0.1)
        watchdog.watch(watch, ours)
        watchdog.release(watch)
        thread = watchdog._thread
        assert thread is not None and thread.is_alive()
        time.sleep(0.3)  # past the deadline it was watched for
        theirs.sendall(b"x")
        assert ours.recv(1) == b"x" and not watch.fired
    watchdog.close()
    thread.join(5)
    assert not thread.is_alive()


def test_a_closed_client_leaves_no_watchdog_thread(serve):
    server = serve(lambda h: send(h, 200, json.dumps(STATUS).encode(), (("Content-Type", "application/json"),)))
    with api_client(server.url, timeout=TIMEOUT) as client:
        client.service.get_status()
        threads = _watchdog_threads()
    for thread in threads:
        thread.join(5)
        assert not thread.is_alive()
