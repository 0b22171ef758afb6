"""TLS failures (defect 1) and settings that change after the first request (defect 5), on real servers."""

import pytest
import requests

from mdnotesropcgwithoutauthscopes.exceptions.api_connection_exception import APIConnectionException
from tests.helpers.transport import api_client, assert_no_secret, json_reply, password_client, token_reply


def _https_url_of(server):
    return server.url.replace("http://", "https://")


def test_https_against_a_plain_http_server_is_a_connection_error_in_words(serve):
    server = serve(json_reply())
    base = _https_url_of(server)
    for call in (
        lambda: api_client(base).service.get_status(),
        lambda: password_client(base).http_ropcg.fetch_token(),
    ):
        with pytest.raises(APIConnectionException) as info:
            call()
        error = info.value
        assert "TLS handshake failed" in str(error)
        assert error.url.startswith(base) and str(error).count(error.url) == 1
        assert error.request_sent is False
        assert isinstance(error.__cause__, requests.exceptions.RequestException)
        assert_no_secret(str(error))


def test_untrusted_certificate_is_a_connection_error_for_api_calls_and_token_requests(serve, tls):
    server = serve(json_reply(), tls=tls)
    for call in (
        lambda: api_client(server.url).service.get_status(),
        lambda: password_client(server.url).http_ropcg.fetch_token(),
    ):
        with pytest.raises(APIConnectionException) as info:
            call()
        error = info.value
        assert "TLS certificate not trusted" in str(error) and "self-signed" in str(error)
        assert error.url.startswith(server.url)
        assert error.request_sent is False
    assert server.requests == []  # nothing got past the handshake


def test_the_same_server_is_trusted_with_its_certificate_as_ca_bundle(serve, tls, certificate):
    server = serve(token_reply, tls=tls)
    token = password_client(server.url, verify_ssl=certificate[0]).http_ropcg.fetch_token()
    assert token.access_token == "ACCESS-TOKEN-transport"


def test_untrusted_certificate_is_not_retried_as_if_sent(serve, tls):
    server = serve(json_reply(), tls=tls)
    with pytest.raises(APIConnectionException, match="not trusted"):
        api_client(server.url, max_retries=0).service.get_status()


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_session_verify_switched_on_after_a_call_applies_to_the_next(serve, tls, no_proxy_env):
    server = serve(json_reply(), tls=tls)
    session = requests.Session()
    session.verify = False
    client = api_client(server.url, http_client_instance=session)
    assert client.service.get_status().status == "ok"
    session.verify = True
    with pytest.raises(APIConnectionException, match="TLS certificate not trusted"):
        client.service.get_status()
    session.verify = False
    assert client.service.get_status().status == "ok"


def test_session_proxies_set_after_a_call_apply_to_the_next(serve, no_proxy_env):
    target = serve(json_reply())
    proxy = serve(json_reply())  # a forward proxy answers requests for absolute URLs
    session = requests.Session()
    client = api_client(target.url, http_client_instance=session)
    assert client.service.get_status().status == "ok"
    session.proxies = {"http": proxy.url}
    assert client.service.get_status().status == "ok"
    assert len(target.requests) == 1
    assert [path for _, path, _, _ in proxy.requests] == [target.url + "/status"]


def test_environment_proxy_set_after_a_call_applies_to_the_next(serve, no_proxy_env, monkeypatch):
    target = serve(json_reply())
    proxy = serve(json_reply())
    client = api_client(target.url)
    assert client.service.get_status().status == "ok"
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    assert client.service.get_status().status == "ok"
    assert len(target.requests) == 1 and len(proxy.requests) == 1
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert client.service.get_status().status == "ok"
    assert len(target.requests) == 2


def test_settings_given_to_the_client_are_not_changed_by_the_environment(serve, no_proxy_env, monkeypatch):
    from mdnotesropcgwithoutauthscopes.http.requests_client import RequestsClient

    proxies = {"https": "http://127.0.0.1:9"}
    client = RequestsClient(proxies=proxies)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:8")
    client._settings_for("http://127.0.0.1:1/x")
    assert proxies == {"https": "http://127.0.0.1:9"} and client._proxies == proxies
