"""Errors: the status table, provider errors, transport failures."""

import pytest
import requests

from mdnotesropcgwithoutauthscopes.exceptions.api_connection_exception import (
    APIConnectionException,
    APITimeoutException,
)
from mdnotesropcgwithoutauthscopes.exceptions.api_exception import APIException
from mdnotesropcgwithoutauthscopes.exceptions.api_status_exceptions import (
    BadRequestException,
    NotFoundException,
    PermissionDeniedException,
    ServerErrorException,
)
from mdnotesropcgwithoutauthscopes.exceptions.o_auth_provider_exception import OAuthProviderException
from mdnotesropcgwithoutauthscopes.http.http_response import HttpResponse
from mdnotesropcgwithoutauthscopes.models.o_auth_provider_error_enum import OAuthProviderErrorEnum
from tests.conftest import STATUS_URL, TOKEN_URL, USER_URL, make_client, make_credentials, stored_token


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
        make_client().http_ropcg.fetch_token()
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
