"""Errors in words (defect 10), bad headers from a callback (8), verify_ssl (9), clean_text (7), logs (11)."""

import logging
import socket

import pytest
import requests

from mdnotesropcgwithoutauthscopes.api_helper import APIHelper
from mdnotesropcgwithoutauthscopes.configuration import Configuration
from mdnotesropcgwithoutauthscopes.exceptions.api_connection_exception import APIConnectionException
from mdnotesropcgwithoutauthscopes.exceptions.o_auth_provider_exception import OAuthProviderException
from mdnotesropcgwithoutauthscopes.http.http_call_back import HttpCallBack
from mdnotesropcgwithoutauthscopes.mdnotesropcgwithoutauthscopes_client import MdnotesropcgwithoutauthscopesClient
from tests.helpers.transport import USERNAME, api_client, json_reply, password_client, send, token_reply


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ----------------------------------------------------------------------------- defect 10


def test_connection_refused_says_so_and_names_the_url_once():
    base = f"http://127.0.0.1:{_free_port()}/api"
    with pytest.raises(APIConnectionException) as info:
        api_client(base).service.get_status()
    error = info.value
    assert str(error).startswith("Connection refused")
    assert str(error).count(base + "/status") == 1
    assert "NewConnectionError" not in str(error)
    assert isinstance(error.__cause__, requests.exceptions.ConnectionError)
    assert error.request_sent is False


def test_name_not_resolved_says_so(monkeypatch):
    import urllib3.util.connection

    def no_such_name(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    # Nothing may leave this machine, so the resolver answers "no such name" itself.
    monkeypatch.setattr(urllib3.util.connection.socket, "getaddrinfo", no_such_name)
    with pytest.raises(APIConnectionException, match="Name not resolved") as info:
        api_client("https://notes.invalid").service.get_status()
    assert info.value.request_sent is False


def test_server_closing_the_connection_says_so(serve):
    def hang_up(h):
        h.close_connection = True

    server = serve(hang_up)
    with pytest.raises(APIConnectionException, match="closed the connection"):
        api_client(server.url).service.get_status()


def test_the_readme_handler_prints_the_url_once(capsys):
    base = f"http://127.0.0.1:{_free_port()}/api"
    try:
        api_client(base).service.get_status()
    except APIConnectionException as ex:
        print(f"network failure: {ex}")
    assert capsys.readouterr().out.count(base) == 1


# ----------------------------------------------------------------------------- defect 8


class _SetsHeader(HttpCallBack):
    def __init__(self, name, value):
        self.name, self.value, self.calls = name, value, 0

    def on_before_request(self, request):
        self.calls += 1
        request.add_header(self.name, self.value)

    def on_after_response(self, response):
        pass


@pytest.mark.parametrize(
    "name, value",
    [
        ("X-Trace", "a\r\nInjected: SECRET-VALUE"),
        ("X-Trace", "SECRET-VALUE\n"),
        ("X-Trace", "SECRET-VALUE \u20ac"),  # not Latin-1: http.client would fail later
        ("X-Tr\u00e4ce", "SECRET-VALUE"),
        ("X-Trace", 12345),
    ],
)
def test_an_invalid_header_is_refused_at_once_and_not_retried(serve, name, value):
    server = serve(json_reply())
    callback = _SetsHeader(name, value)
    with pytest.raises(ValueError) as info:
        api_client(server.url, http_call_back=callback, max_retries=3, backoff_factor=0).service.get_status()
    error = info.value
    assert not isinstance(error, (APIConnectionException, UnicodeError))
    assert "request header 'X-Tr" in str(error) and "nothing was sent" in str(error)
    assert "SECRET-VALUE" not in str(error) and "12345" not in str(error)
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
    assert callback.calls == 1 and server.requests == []


def test_an_invalid_header_on_a_token_request_is_refused_at_once(serve):
    server = serve(token_reply)
    callback = _SetsHeader("X-Trace", "a\rb")
    with pytest.raises(ValueError, match="X-Trace"):
        password_client(server.url, http_call_back=callback, max_retries=3).http_ropcg.fetch_token()
    assert callback.calls == 1 and server.requests == []


# ----------------------------------------------------------------------------- defect 9


@pytest.mark.parametrize("value", ["yes", "/no/such/ca-bundle.pem", "", 1, None, 0.5])
def test_a_bad_verify_ssl_is_refused_when_the_configuration_is_built(value):
    with pytest.raises(ValueError, match="verify_ssl"):
        Configuration(verify_ssl=value)
    with pytest.raises(ValueError, match="verify_ssl"):
        MdnotesropcgwithoutauthscopesClient(verify_ssl=value)


def test_verify_ssl_accepts_booleans_an_existing_bundle_and_a_directory(tmp_path, certificate):
    assert Configuration(verify_ssl=False).verify_ssl is False
    assert Configuration(verify_ssl=certificate[0]).verify_ssl == certificate[0]
    assert Configuration(verify_ssl=str(tmp_path)).verify_ssl == str(tmp_path)
    assert Configuration(verify_ssl=tmp_path).verify_ssl == str(tmp_path)  # a pathlib.Path too


# ----------------------------------------------------------------------------- defect 7

_INVISIBLE = (
    "\u2028\u2029\u0085\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c\u200b\ufeff\x1b\x00\x7f"
)


def test_clean_text_strips_line_bidi_and_format_characters():
    assert APIHelper.clean_text("a" + _INVISIBLE + "b") == "ab"
    assert APIHelper.clean_text("caf\u00e9 \u65e5\u672c\u00a0x") == "caf\u00e9 \u65e5\u672c\u00a0x"  # text stays
    assert APIHelper.clean_text("\ud800x") == "x"  # a lone surrogate could not even be logged
    assert APIHelper.clean_text("\u202e" * 10_000 + "a" * 600, 512) == "a" * 512 + "..."


def test_server_text_with_line_and_bidi_controls_stays_on_one_line(serve):
    description = "bad\u2028FORGED log line\u2029x\u0085y \u202egnirts desrever\u202c \u2066iso\u2069"
    body = ('{"error": "invalid_grant", "error_description": "%s"}' % description).encode("utf-8")
    server = serve(lambda h: send(h, 400, body, (("Content-Type", "application/json"),)))
    with pytest.raises(OAuthProviderException) as info:
        password_client(server.url).http_ropcg.fetch_token()
    text = str(info.value)
    assert "FORGED log line" in text
    assert len(text.splitlines()) == 1
    assert not any(char in text for char in _INVISIBLE)


# ----------------------------------------------------------------------------- defect 11


def test_debug_log_masks_the_username(serve, caplog):
    server = serve(token_reply)
    caplog.set_level(logging.DEBUG, logger="mdnotesropcgwithoutauthscopes")
    password_client(server.url).http_ropcg.fetch_token()
    assert "'username': '***'" in caplog.text
    assert USERNAME not in caplog.text
    assert USERNAME in server.requests[0][3].decode().replace("%40", "@")  # still sent, of course


def test_a_proxy_that_refuses_says_so(serve, no_proxy_env):
    target = serve(json_reply())
    session = requests.Session()
    session.proxies = {"http": f"http://127.0.0.1:{_free_port()}"}
    with pytest.raises(APIConnectionException, match="Proxy failed: connection refused") as info:
        api_client(target.url, http_client_instance=session).service.get_status()
    assert info.value.request_sent is False and target.requests == []
