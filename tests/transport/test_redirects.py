"""Redirects (defects 2 and 6): what is followed, and who gets the credentials, on real servers.

Two servers on two ports are two origins. A temporary HOME holds a ``.netrc`` with Basic
credentials for 127.0.0.1, which requests would put in place of the SDK's ``Authorization``.
"""

import json

import pytest
import requests

from mdnotesropcgwithoutauthscopes.exceptions.api_connection_exception import APIConnectionException
from mdnotesropcgwithoutauthscopes.exceptions.api_exception import APIException
from mdnotesropcgwithoutauthscopes.exceptions.o_auth_provider_exception import OAuthProviderException
from tests.helpers.transport import (
    ACCESS_TOKEN,
    CLIENT_SECRET,
    PASSWORD,
    STATUS,
    USERNAME,
    api_client,
    assert_no_secret,
    json_reply,
    password_client,
    redirect_reply,
    send,
    token_reply,
)

BEARER = "Bearer " + ACCESS_TOKEN


@pytest.fixture
def netrc_home(tmp_path, monkeypatch):
    """HOME with a .netrc that has credentials for 127.0.0.1 (requests reads it when trust_env)."""
    (tmp_path / ".netrc").write_text("machine 127.0.0.1\nlogin netrc-user\npassword NETRC-PASSWORD\n")
    (tmp_path / ".netrc").chmod(0o600)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("NETRC", raising=False)
    return tmp_path


def _authorization(server):
    return [headers.get("Authorization") for _, _, headers, _ in server.requests]


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("client_auth", ["basic", "client_secret_post"])
def test_token_request_is_never_redirected(serve, status, client_auth, no_proxy_env):
    other = serve(token_reply)
    origin = serve(redirect_reply(status, other.url + "/steal"))
    credentials = {"o_auth_client_authentication": client_auth} if client_auth == "client_secret_post" else {}
    client = password_client(origin.url, credentials=credentials, max_retries=3)
    with pytest.raises(APIException) as info:
        client.http_ropcg.fetch_token()
    error = info.value
    assert not isinstance(error, (OAuthProviderException, APIConnectionException))
    assert error.response_code == status
    assert f"answered {status}" in str(error) and other.url + "/steal" in str(error)
    assert "never redirected" in str(error)
    assert_no_secret(str(error) + repr(error))
    assert other.requests == []  # the password and the client secret went nowhere else
    assert len(origin.requests) == 1  # and the 3xx was not retried


def test_token_request_redirected_from_https_to_http_sends_nothing_in_clear(serve, tls, certificate):
    clear = serve(token_reply)
    origin = serve(redirect_reply(307, clear.url + "/token"), tls=tls)
    with pytest.raises(APIException, match="never redirected"):
        password_client(origin.url, verify_ssl=certificate[0]).http_ropcg.fetch_token()
    assert clear.requests == []


def test_refresh_request_redirected_is_an_error(serve):
    other = serve(token_reply)
    origin = serve(redirect_reply(308, other.url + "/token"))
    with pytest.raises(APIException, match="never redirected") as info:
        password_client(origin.url).o_auth_authorization.refresh_token(None, "REFRESH-transport")
    assert "REFRESH-transport" not in str(info.value)
    assert other.requests == []


def test_api_call_follows_a_same_origin_redirect_with_the_bearer_token_only(serve, netrc_home, no_proxy_env):
    def reply(h):
        if h.path.endswith("/status"):
            send(h, 307, b"", (("Location", "/moved"),))
        else:
            json_reply()(h)

    server = serve(reply)
    for session in (None, requests.Session()):
        settings = {"http_client_instance": session} if session is not None else {}
        assert api_client(server.url, **settings).service.get_status().status == "ok"
    assert [path for _, path, _, _ in server.requests] == ["/status", "/moved"] * 2
    assert _authorization(server) == [BEARER] * 4  # never the .netrc's Basic credentials


def test_api_call_redirected_to_another_origin_carries_no_authorization(serve, netrc_home, no_proxy_env):
    other = serve(json_reply())
    origin = serve(redirect_reply(302, other.url + "/elsewhere"))
    session = requests.Session()
    session.auth = ("session-user", "SESSION-PASSWORD")
    for settings in ({}, {"http_client_instance": session}):
        assert api_client(origin.url, **settings).service.get_status().status == "ok"
    assert _authorization(origin) == [BEARER, BEARER]
    assert _authorization(other) == [None, None]  # neither Bearer, nor .netrc, nor session.auth


def test_api_call_redirected_from_https_to_http_on_the_same_host_drops_the_token(serve, tls, certificate):
    clear = serve(json_reply())
    origin = serve(redirect_reply(301, clear.url + "/status"), tls=tls)
    assert api_client(origin.url, verify_ssl=certificate[0]).service.get_status().status == "ok"
    assert _authorization(origin) == [BEARER]
    assert _authorization(clear) == [None]


def test_authorization_stripped_once_is_not_restored_on_the_way_back(serve):
    state = {}

    def back(h):
        send(h, 302, b"", (("Location", state["origin"] + "/final"),))

    other = serve(back)

    def reply(h):
        if h.path.endswith("/status"):
            send(h, 302, b"", (("Location", other.url + "/bounce"),))
        else:
            json_reply()(h)

    origin = serve(reply)
    state["origin"] = origin.url
    assert api_client(origin.url).service.get_status().status == "ok"
    assert _authorization(origin) == [BEARER, None]
    assert _authorization(other) == [None]


def test_redirect_to_an_invalid_location_is_an_api_exception(serve):
    for location in ("http://[::1", "ftp://127.0.0.1/x", "file:///etc/passwd", "http://"):
        server = serve(redirect_reply(302, location))
        with pytest.raises(APIException) as info:
            api_client(server.url).service.get_status()
        assert not isinstance(info.value, APIConnectionException)
        assert info.value.response_code == 302
        assert "cannot be followed" in str(info.value)


def test_redirect_loop_ends_with_an_api_exception(serve):
    server = serve(lambda h: send(h, 302, b"", (("Location", h.path + "x"),)))
    with pytest.raises(APIException, match="More than 30 redirects"):
        api_client(server.url).service.get_status()
    assert len(server.requests) == 31


def test_post_becomes_get_on_303_and_307_repeats_the_body(serve):
    from mdnotesropcgwithoutauthscopes.http.http_request import HttpRequest
    from mdnotesropcgwithoutauthscopes.http.requests_client import RequestsClient

    def reply(h):
        if h.path == "/see-other":
            send(h, 303, b"", (("Location", "/landed"),))
        elif h.path == "/temporary":
            send(h, 307, b"", (("Location", "/landed"),))
        else:
            json_reply()(h)

    server = serve(reply)
    client = RequestsClient()
    for path in ("/see-other", "/temporary"):
        client.execute(HttpRequest("POST", server.url + path, {}, None, {"a": "1"}), timeout=5)
    methods = [(method, path, body) for method, path, _, body in server.requests]
    assert methods == [
        ("POST", "/see-other", b"a=1"),
        ("GET", "/landed", b""),
        ("POST", "/temporary", b"a=1"),
        ("POST", "/landed", b"a=1"),
    ]


def test_redirect_body_is_capped_like_any_body(serve):
    from mdnotesropcgwithoutauthscopes.exceptions.response_too_large_exception import ResponseTooLargeException

    def reply(h):
        h.send_response(302)
        h.send_header("Location", "/next")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        piece = b"x" * 4096
        for _ in range(64):
            h.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        h.wfile.write(b"0\r\n\r\n")

    server = serve(reply)
    with pytest.raises(ResponseTooLargeException):
        api_client(server.url, max_response_bytes=10_000).service.get_status()


def test_cookies_set_by_a_redirect_are_sent_to_the_target(serve):
    def reply(h):
        if h.path.endswith("/status"):
            send(h, 302, b"", (("Location", "/next"), ("Set-Cookie", "hop=1; Path=/")))
        else:
            json_reply()(h)

    server = serve(reply)
    session = requests.Session()
    assert api_client(server.url, http_client_instance=session).service.get_status().status == "ok"
    assert server.requests[1][2].get("Cookie") == "hop=1"
    assert session.cookies.get("hop") == "1"


def test_debug_log_of_a_refused_redirect_has_no_secret(serve, caplog):
    import logging

    other = serve(token_reply)
    origin = serve(redirect_reply(307, other.url))
    caplog.set_level(logging.DEBUG, logger="mdnotesropcgwithoutauthscopes")
    with pytest.raises(APIException):
        password_client(origin.url).http_ropcg.fetch_token()
    text = caplog.text
    for secret in (PASSWORD, CLIENT_SECRET, USERNAME):
        assert secret not in text
    assert json.dumps(STATUS)  # the module's status document stays importable for other tests


def test_api_call_whose_token_request_is_redirected_fails_without_leaking(serve):
    other = serve(token_reply)
    origin = serve(redirect_reply(307, other.url + "/token"))
    with pytest.raises(APIException, match="never redirected") as info:
        password_client(origin.url).service.get_status()
    assert info.value.response_code == 307
    assert [path for _, path, _, _ in origin.requests] == ["/token"]
    assert other.requests == []
