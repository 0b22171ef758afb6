"""Exceptions: the status-to-class table, the RFC 6749 code classes, provider errors and transport failures."""

import json
import sys

import pytest
import requests

import mdnotesropcgwithoutauthscopes
from mdnotesropcgwithoutauthscopes import exceptions
from mdnotesropcgwithoutauthscopes.exceptions import (
    APIConnectionException,
    APIException,
    APIStatusException,
    APITimeoutException,
    AuthenticationException,
    BadRequestException,
    ConflictException,
    InvalidClientException,
    InvalidGrantException,
    InvalidRequestException,
    InvalidScopeException,
    NotFoundException,
    OAuthProviderException,
    PermissionDeniedException,
    RateLimitException,
    ServerErrorException,
    UnauthorizedClientException,
    UnprocessableEntityException,
    UnsupportedGrantTypeException,
)
from mdnotesropcgwithoutauthscopes.exceptions.api_status_exceptions import (
    STATUS_EXCEPTIONS,
    exception_class_for_status,
)
from mdnotesropcgwithoutauthscopes.exceptions.o_auth_provider_exception import O_AUTH_ERROR_EXCEPTIONS
from mdnotesropcgwithoutauthscopes.http.http_request import HttpRequest
from mdnotesropcgwithoutauthscopes.http.http_response import HttpResponse
from mdnotesropcgwithoutauthscopes.models.o_auth_provider_error_enum import OAuthProviderErrorEnum
from tests.helpers import (
    STATUS_URL,
    TOKEN_URL,
    USER_URL,
    make_client,
    make_credentials,
    stored_token,
    token_body,
    token_calls,
)


def test_400_is_provider_error_with_its_fields(rsps):
    rsps.post(
        TOKEN_URL,
        status=400,
        json={"error": "invalid_grant", "error_description": "bad password", "error_uri": "https://docs.example/e"},
    )
    with pytest.raises(OAuthProviderException) as info:
        make_client().http_ropcg.fetch_token()
    error = info.value
    assert error.reason == "OAuth 2 provider returned an error."
    assert error.response_code == 400
    assert error.error == OAuthProviderErrorEnum.INVALID_GRANT == "invalid_grant"
    assert error.error_description == "bad password"
    assert error.error_uri == "https://docs.example/e"
    assert isinstance(error.response, HttpResponse)
    assert "OAuth 2 provider returned an error." in str(error) and "invalid_grant" in str(error)


def test_401_is_client_authentication_failure(rsps):
    rsps.post(TOKEN_URL, status=401, json={"error": "invalid_client"}, headers={"WWW-Authenticate": "Basic"})
    with pytest.raises(OAuthProviderException) as info:
        make_client().http_ropcg.fetch_token()
    assert info.value.reason == "OAuth 2 provider says client authentication failed."
    assert info.value.response_code == 401
    assert info.value.error == "invalid_client"


@pytest.mark.parametrize("body", [b"<html>Bad Request</html>", b"", b"[]", b'{"error": 5}'])
def test_provider_error_with_a_body_that_is_not_usable_json(rsps, body):
    rsps.post(TOKEN_URL, status=400, body=body)
    with pytest.raises(OAuthProviderException) as info:
        make_client().http_ropcg.fetch_token()
    assert info.value.response_code == 400
    assert info.value.error is None and info.value.error_description is None and info.value.error_uri is None


def test_unknown_error_code_is_kept_as_raw_string(rsps):
    rsps.post(TOKEN_URL, status=400, json={"error": "slow_down"})
    with pytest.raises(OAuthProviderException) as info:
        make_client().http_ropcg.fetch_token()
    assert info.value.error == "slow_down"


def test_other_token_endpoint_status_gets_the_status_table_class(rsps):
    rsps.post(TOKEN_URL, status=500, body="boom")
    with pytest.raises(APIException) as info:
        make_client(timeout=0.1).http_ropcg.fetch_token()  # no time for a next try
    assert type(info.value) is ServerErrorException and info.value.response_code == 500


@pytest.mark.parametrize("url, call", [(STATUS_URL, "service.get_status"), (USER_URL, "user.get_user")])
@pytest.mark.parametrize(
    "status, exception_class",
    [
        (400, BadRequestException),
        (403, PermissionDeniedException),
        (404, NotFoundException),
        (500, ServerErrorException),
        (503, ServerErrorException),
    ],
)
def test_api_non_2xx_is_api_exception_of_its_status_class(rsps, url, call, status, exception_class):
    rsps.get(url, status=status, body="nope")
    client = make_client(make_credentials(o_auth_token=stored_token(1)))
    controller, method = call.split(".")
    with pytest.raises(APIException) as info:
        getattr(getattr(client, controller), method)()
    assert type(info.value) is exception_class
    assert info.value.response_code == status
    assert info.value.response.text == "nope"
    assert str(status) in str(info.value)


def test_api_2xx_that_is_not_json_is_api_exception(rsps):
    rsps.get(STATUS_URL, body="<html>maintenance</html>", status=200)
    client = make_client(make_credentials(o_auth_token=stored_token(1)))
    with pytest.raises(APIException, match="not a JSON object"):
        client.service.get_status()


def test_connection_refused_is_a_connection_exception_with_url_and_cause():
    client = make_client(make_credentials(o_auth_token=stored_token(1)), base_uri="http://127.0.0.1:9/x")
    with pytest.raises(APIConnectionException) as info:
        client.service.get_status()
    error = info.value
    assert error.url == "http://127.0.0.1:9/x/status"
    assert "127.0.0.1:9" in str(error)
    assert isinstance(error.__cause__, requests.exceptions.ConnectionError)
    assert error.request_sent is False
    assert isinstance(error, APIException) and error.response is None and error.response_code is None
    assert isinstance(error, ConnectionError)  # the builtin, for generic handlers


def test_timeout_is_a_timeout_exception(rsps):
    rsps.get(STATUS_URL, body=requests.exceptions.ReadTimeout("read timed out"))
    client = make_client(make_credentials(o_auth_token=stored_token(1)), timeout=0.5)
    with pytest.raises(APITimeoutException) as info:
        client.service.get_status()
    assert isinstance(info.value, TimeoutError) and isinstance(info.value, APIConnectionException)
    assert info.value.url == STATUS_URL
    assert isinstance(info.value.__cause__, requests.exceptions.Timeout)


def test_server_text_is_cleaned_before_it_reaches_str(rsps):
    rsps.post(
        TOKEN_URL,
        status=400,
        json={"error": "invalid_grant", "error_description": "evil\r\nX-Injected: 1\x1b[31m" + "a" * 5000},
    )
    with pytest.raises(OAuthProviderException) as info:
        make_client().http_ropcg.fetch_token()
    text = str(info.value)
    assert "\r" not in text and "\n" not in text and "\x1b" not in text
    assert len(info.value.error_description) < 600


STATUS_CLASSES = [
    (400, BadRequestException),
    (401, AuthenticationException),
    (403, PermissionDeniedException),
    (404, NotFoundException),
    (409, ConflictException),
    (422, UnprocessableEntityException),
    (429, RateLimitException),
    (500, ServerErrorException),
    (502, ServerErrorException),
    (503, ServerErrorException),
    (599, ServerErrorException),
]

CODE_CLASSES = [
    ("invalid_request", InvalidRequestException),
    ("invalid_client", InvalidClientException),
    ("invalid_grant", InvalidGrantException),
    ("unauthorized_client", UnauthorizedClientException),
    ("unsupported_grant_type", UnsupportedGrantTypeException),
    ("invalid_scope", InvalidScopeException),
]


def api_client():
    return make_client(make_credentials(o_auth_token=stored_token(1)))


# 401 has its own test below: the SDK renews a refused token once before it raises.
@pytest.mark.parametrize("status, exception_class", [(s, c) for s, c in STATUS_CLASSES if s != 401])
def test_api_error_status_gives_its_class(rsps, status, exception_class):
    rsps.get(USER_URL, status=status, json={"message": "no"})
    with pytest.raises(exception_class) as info:
        api_client().user.get_user()
    error = info.value
    assert type(error) is exception_class
    assert isinstance(error, APIStatusException) and isinstance(error, APIException)
    assert error.response_code == status and error.reason == "HTTP response not OK."
    assert f"HTTP {status} from {USER_URL}" in str(error)
    assert [c.request.url for c in rsps.calls] == [USER_URL]  # no retries by default, even for 429/5xx


@pytest.mark.parametrize("status", [405, 410, 418, 451, 302])
def test_error_status_outside_the_table_is_a_plain_status_exception(rsps, status):
    rsps.get(STATUS_URL, status=status, body="")
    with pytest.raises(APIException) as info:
        api_client().service.get_status()
    assert type(info.value) is APIStatusException and info.value.response_code == status


def test_table_is_one_mapping_and_5xx_falls_to_server_error():
    assert dict(STATUS_EXCEPTIONS) == {s: c for s, c in STATUS_CLASSES if s < 500}
    assert exception_class_for_status(500) is ServerErrorException
    assert exception_class_for_status(511) is ServerErrorException
    assert exception_class_for_status(600) is APIStatusException
    with pytest.raises(TypeError):
        STATUS_EXCEPTIONS[418] = ConflictException  # read-only: one table, not one per caller


def test_401_invalid_token_is_renewed_once_then_authentication_exception(rsps):

    rsps.post(TOKEN_URL, json=token_body(2))
    rsps.get(STATUS_URL, status=401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}, json={})
    with pytest.raises(AuthenticationException) as info:
        api_client().service.get_status()
    assert info.value.response_code == 401
    assert [c.request.url for c in rsps.calls] == [STATUS_URL, TOKEN_URL, STATUS_URL]


def test_429_after_retries_is_rate_limit(rsps):
    rsps.get(STATUS_URL, status=429, headers={"Retry-After": "0"}, json={})
    client = make_client(make_credentials(o_auth_token=stored_token(1)), max_retries=2, max_retry_wait=0)
    with pytest.raises(RateLimitException):
        client.service.get_status()
    assert len(rsps.calls) == 3


@pytest.mark.parametrize("code, exception_class", CODE_CLASSES)
@pytest.mark.parametrize("status", [400, 401])
def test_token_endpoint_error_code_gives_its_class(rsps, code, exception_class, status):
    rsps.post(TOKEN_URL, status=status, json={"error": code, "error_description": "why"})
    credentials = make_credentials(o_auth_client_authentication="client_secret_basic")  # one request, no fallback
    with pytest.raises(exception_class) as info:
        make_client(credentials).http_ropcg.fetch_token()
    error = info.value
    assert type(error) is exception_class
    assert isinstance(error, OAuthProviderException) and isinstance(error, APIException)
    assert error.error == code and error.error_description == "why" and error.response_code == status
    expected_reason = {
        400: "OAuth 2 provider returned an error.",
        401: "OAuth 2 provider says client authentication failed.",
    }[status]
    assert error.reason == expected_reason  # the token endpoint's own table still gives the reason


@pytest.mark.parametrize("body", [{"error": "slow_down"}, {"error": 5}, {}, None])
def test_unknown_or_missing_code_is_plain_provider_exception_with_the_raw_string(rsps, body):
    if body is None:
        rsps.post(TOKEN_URL, status=400, body="<html>no</html>")
    else:
        rsps.post(TOKEN_URL, status=400, json=body)
    with pytest.raises(OAuthProviderException) as info:
        make_client().http_ropcg.fetch_token()
    assert type(info.value) is OAuthProviderException
    assert info.value.error == ("slow_down" if body == {"error": "slow_down"} else None)


def test_code_table_covers_every_enum_member_and_keys_equal_plain_strings():
    assert set(O_AUTH_ERROR_EXCEPTIONS) == set(OAuthProviderErrorEnum)
    assert O_AUTH_ERROR_EXCEPTIONS["invalid_grant"] is InvalidGrantException
    assert {c.__name__ for c in O_AUTH_ERROR_EXCEPTIONS.values()} == {c.__name__ for _, c in CODE_CLASSES}


def test_refused_refresh_falls_back_to_the_password_grant_with_subclassed_errors(rsps):

    rsps.post(TOKEN_URL, status=400, json={"error": "invalid_grant"})
    rsps.post(TOKEN_URL, json=token_body(3))
    rsps.get(STATUS_URL, json={"app": "MdNotes"})
    expired = stored_token(1, expiry=1.0)
    client = make_client(make_credentials(o_auth_token=expired))
    assert client.service.get_status().app == "MdNotes"
    grants = [c.request.body for c in token_calls(rsps)]
    assert "grant_type=refresh_token" in grants[0] and "grant_type=password" in grants[1]


def test_exceptions_import_nothing_of_http_at_run_time():
    import subprocess

    code = (
        "import sys\n"
        "import mdnotesropcgwithoutauthscopes.exceptions.api_exception\n"
        "import mdnotesropcgwithoutauthscopes.exceptions.o_auth_provider_exception\n"
        "import mdnotesropcgwithoutauthscopes.exceptions.api_status_exceptions\n"
        "print(sorted(m for m in sys.modules if m.startswith('mdnotesropcgwithoutauthscopes.http')))\n"
    )
    # Load the exception modules without the package root, whatever the root may import one day.
    loader = (
        "import importlib.util, sys, types, pathlib\n"
        "root = pathlib.Path(sys.argv[1])\n"
        "package = types.ModuleType('mdnotesropcgwithoutauthscopes'); package.__path__ = [str(root)]\n"
        "sys.modules['mdnotesropcgwithoutauthscopes'] = package\n" + code
    )
    result = subprocess.run(
        [sys.executable, "-c", loader, str(mdnotesropcgwithoutauthscopes.__path__[0])],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "[]"


def test_every_exception_class_is_exported_from_exceptions_and_the_root():
    classes = {
        name
        for name in dir(exceptions)
        if isinstance(getattr(exceptions, name), type) and issubclass(getattr(exceptions, name), APIException)
    }
    assert classes == set(exceptions.__all__)
    assert classes <= set(mdnotesropcgwithoutauthscopes.__all__)
    for name in classes:
        assert getattr(mdnotesropcgwithoutauthscopes, name) is getattr(exceptions, name)


# ------------------------------------------------------- what a provider error refused: client or grant


def _provider_error(status, body=None, headers=None):
    content = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    response = HttpResponse(status, None, headers or {}, content, HttpRequest("POST", TOKEN_URL))
    return OAuthProviderException.from_response("OAuth 2 provider returned an error.", response)


@pytest.mark.parametrize(
    "status, body, headers, refused_client, refused_grant",
    [
        (401, {"error": "invalid_client"}, {"WWW-Authenticate": "Basic"}, True, False),
        (400, {"error": "invalid_client"}, None, True, False),
        (401, None, {"WWW-Authenticate": 'Basic realm="token"'}, True, False),
        (401, b"<html>no</html>", {"WWW-Authenticate": 'Bearer, Basic realm="x"'}, True, False),
        (400, {"error": "invalid_grant"}, None, False, True),
        (401, {"error": "invalid_grant"}, {"WWW-Authenticate": "Basic"}, False, True),  # Keycloak-style
        (400, {"detail": "bad credentials"}, None, False, True),  # names no error
        (401, None, None, False, True),
        (401, None, {"WWW-Authenticate": "Bearer"}, False, True),
        (403, {"detail": "locked"}, None, False, True),
        (400, {"error": "invalid_request"}, None, False, False),
        (400, {"error": "unauthorized_client"}, None, False, False),
        (400, {"error": "slow_down"}, None, False, False),
        (500, None, None, False, False),
        (429, {"detail": "slow down"}, None, False, False),
    ],
)
def test_refused_client_and_refused_grant_read_the_answer(status, body, headers, refused_client, refused_grant):
    error = _provider_error(status, body, headers)
    assert (error.refused_client, error.refused_grant) == (refused_client, refused_grant)


def test_refused_client_and_grant_without_a_response():
    assert (OAuthProviderException("no answer").refused_client, OAuthProviderException("no answer").refused_grant) == (
        False,
        False,
    )


def test_refused_client_and_grant_are_read_only():
    error = _provider_error(400, {"error": "invalid_grant"})
    with pytest.raises(AttributeError):
        error.refused_grant = False
    with pytest.raises(AttributeError):
        error.refused_client = True


def test_a_real_refusal_from_the_token_endpoint_says_what_was_refused(rsps):
    rsps.post(TOKEN_URL, status=400, json={"error": "invalid_grant"})
    with pytest.raises(InvalidGrantException) as info:
        make_client().http_ropcg.fetch_token()
    assert info.value.refused_grant and not info.value.refused_client
