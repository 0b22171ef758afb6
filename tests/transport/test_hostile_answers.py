"""Hostile or broken answers (defect 4 and its siblings) give SDK exceptions, never raw ones."""

import pytest

from mdnotesropcgwithoutauthscopes.api_helper import APIHelper
from mdnotesropcgwithoutauthscopes.exceptions.api_connection_exception import APIConnectionException
from mdnotesropcgwithoutauthscopes.exceptions.api_exception import APIException
from mdnotesropcgwithoutauthscopes.exceptions.o_auth_provider_exception import OAuthProviderException
from tests.helpers.transport import api_client, password_client, send

DEEP = b"[" * 200_000 + b"]" * 200_000
DEEP_OBJECT = b'{"error": ' * 200_000 + b"1" + b"}" * 200_000


def _json(status, body):
    return lambda h: send(h, status, body, (("Content-Type", "application/json"),))


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT])
def test_deeply_nested_json_is_not_json_to_the_sdk(body):
    with pytest.raises(ValueError, match="nested too deeply"):
        APIHelper.json_deserialize(body)
    with pytest.raises(ValueError):
        APIHelper.json_deserialize(body.decode())


def test_deeply_nested_2xx_body_is_an_api_exception(serve):
    server = serve(_json(200, DEEP))
    with pytest.raises(APIException, match="not a JSON object") as info:
        api_client(server.url).service.get_status()
    assert info.value.response_code == 200


def test_deeply_nested_401_body_is_the_usual_error(serve):
    challenge = ("WWW-Authenticate", 'Bearer error="insufficient_scope"')  # not a refused token: no renewal
    server = serve(lambda h: send(h, 401, DEEP_OBJECT, (("Content-Type", "application/json"), challenge)))
    with pytest.raises(APIException) as info:
        api_client(server.url).service.get_status()
    assert info.value.response_code == 401
    assert len(server.requests) == 1


@pytest.mark.parametrize("status", [400, 401])
def test_deeply_nested_token_error_body_is_an_oauth_provider_exception(serve, status):
    server = serve(_json(status, DEEP_OBJECT))
    with pytest.raises(OAuthProviderException) as info:
        password_client(
            server.url, credentials={"o_auth_client_authentication": "client_secret_basic"}
        ).http_ropcg.fetch_token()
    assert info.value.response_code == status and info.value.error is None


def test_deeply_nested_token_body_is_an_api_exception(serve):
    server = serve(_json(200, DEEP_OBJECT))
    with pytest.raises(APIException) as info:
        password_client(server.url).http_ropcg.fetch_token()
    assert info.value.response_code == 200


def _raw(answer):
    """Write ``answer`` as the whole response, then close."""

    def reply(h):
        h.close_connection = True
        h.wfile.write(answer)

    return reply


@pytest.mark.parametrize(
    "answer, words",
    [
        (b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n", "header line that is too long"),
        (
            b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(150)) + b"\r\n",
            "could not be read as HTTP",
        ),
        (b"SSH-2.0-OpenSSH_9.6\r\n", "not HTTP"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", "body ended early"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{}", "body ended early"),
        (
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 8\r\n\r\nnot gzip",
            "could not be decompressed",
        ),
        (b"", "closed the connection"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", "invalid header"),
    ],
)
def test_broken_answers_are_connection_errors_in_words(serve, answer, words):
    server = serve(_raw(answer))
    with pytest.raises(APIConnectionException) as info:
        api_client(server.url).service.get_status()
    assert words in str(info.value)
    assert info.value.request_sent is True
    assert info.value.__cause__ is not None


def test_non_latin1_location_is_followed_as_utf8(serve):
    def reply(h):
        if h.path.endswith("/status"):
            h.send_response(302)
            h.send_header("Location", "/caf\u00c3\u00a9")  # UTF-8 bytes of "café", as servers send them
            h.send_header("Content-Length", "0")
            h.end_headers()
        else:
            _json(200, b'{"status": "ok"}')(h)

    server = serve(reply)
    api_client(server.url).service.get_status()
    assert server.requests[1][1] == "/caf%C3%A9"


@pytest.mark.parametrize("charset", ["idna", "undefined", "punycode", "no-such-charset", "base64"])
def test_a_charset_that_cannot_decode_text_falls_back_to_utf8(serve, charset):
    from mdnotesropcgwithoutauthscopes.http.http_response import HttpResponse

    response = HttpResponse(200, "OK", {}, b'{"status": "\xc3\xa9\xff"}', None, encoding=charset)
    assert response.text == '{"status": "\u00e9\ufffd"}'
    body = b'{"error": "invalid_grant", "error_description": "caf\xc3\xa9"}'
    content_type = ("Content-Type", f"application/json; charset={charset}")
    server = serve(lambda h: send(h, 400, body, (content_type,)))
    with pytest.raises(OAuthProviderException) as info:
        password_client(server.url).http_ropcg.fetch_token()
    assert info.value.error == "invalid_grant" and info.value.error_description == "caf\u00e9"
