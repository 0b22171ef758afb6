"""Errors by meaning: the status-to-class table and the RFC 6749 section 5.2 code classes."""

import sys

import pytest

import mdnotesropcgwithoutauthscopes
from mdnotesropcgwithoutauthscopes import exceptions
from mdnotesropcgwithoutauthscopes.exceptions import (
    APIException,
    APIStatusException,
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
from mdnotesropcgwithoutauthscopes.models.o_auth_provider_error_enum import OAuthProviderErrorEnum
from tests.conftest import STATUS_URL, TOKEN_URL, USER_URL, make_client, make_credentials, stored_token

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
    from tests.conftest import token_body

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
    from tests.conftest import token_body, token_calls

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
    # The package root imports the client (and so http/); load the exception modules without it.
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
