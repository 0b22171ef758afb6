"""No secret in any repr, str, exception message or log line the SDK produces."""

import logging

import pytest

from mdnotesropcgwithoutauthscopes.exceptions.api_exception import APIException
from mdnotesropcgwithoutauthscopes.http.http_request import HttpRequest
from mdnotesropcgwithoutauthscopes.http.proxy_settings import ProxySettings
from tests.helpers import (
    CLIENT_SECRET,
    PASSWORD,
    STATUS_BODY,
    STATUS_URL,
    TOKEN_URL,
    make_client,
    make_credentials,
    token_body,
)

SECRETS = (CLIENT_SECRET, PASSWORD, "ACCESS-TOKEN-1", "REFRESH-TOKEN-1", "PROXY-PASSWORD")


def _assert_clean(text):
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} leaked into {text!r}"


def test_reprs_and_strs_hide_secrets(rsps):
    rsps.post(TOKEN_URL, json=token_body(1))
    rsps.get(STATUS_URL, json=STATUS_BODY)
    client = make_client(proxy_settings=None)
    client.service.get_status()
    token = client.http_ropcg.token
    creds = client.config.resource_owner_auth_credentials.clone_with(o_auth_token=token)
    config = client.config.clone_with(
        resource_owner_auth_credentials=creds, proxy_settings=ProxySettings("p.test", 1, "u", "PROXY-PASSWORD")
    )
    for obj in (token, creds, config, client, client.http_ropcg, config.proxy_settings):
        _assert_clean(repr(obj))
        _assert_clean(str(obj))
    assert "***" in repr(creds) and "***" in repr(token)


def test_request_repr_hides_authorization_and_secret_form_fields():
    request = HttpRequest(
        "POST",
        "http://x",
        {"Authorization": "Basic " + CLIENT_SECRET},
        parameters={"password": PASSWORD, "refresh_token": "REFRESH-TOKEN-1", "username": "u"},
    )
    text = repr(request)
    _assert_clean(text)
    assert "'username': '***'" in text  # personal data, masked like the credentials


@pytest.mark.parametrize(
    "status, body", [(400, {"error": "invalid_grant"}), (401, {"error": "invalid_client"}), (500, {})]
)
def test_exceptions_hide_secrets(rsps, status, body):
    rsps.post(TOKEN_URL, status=status, json=body)
    with pytest.raises(APIException) as info:
        make_client(timeout=0.1).http_ropcg.fetch_token()  # no time for a next try after a 500
    _assert_clean(str(info.value))
    _assert_clean(repr(info.value))
    _assert_clean(repr(info.value.response))


def test_debug_logs_of_a_whole_flow_hide_secrets(rsps, sdk_logs):
    rsps.post(TOKEN_URL, json=token_body(1))
    rsps.get(STATUS_URL, status=401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}, json={})
    rsps.get(STATUS_URL, json=STATUS_BODY)
    rsps.post(TOKEN_URL, status=400, json={"error": "invalid_grant"})
    rsps.post(TOKEN_URL, json=token_body(1))
    client = make_client(make_credentials(o_auth_on_token_update=lambda t: 1 / 0))
    client.service.get_status()
    assert any(r.levelno == logging.DEBUG for r in sdk_logs.records)
    assert "Authorization" in sdk_logs.text and "***" in sdk_logs.text
    _assert_clean(sdk_logs.text)
