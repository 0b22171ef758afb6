"""Configuration and credentials: defaults, immutability, clone_with, validation."""

import inspect

import pytest
import requests

from mdnotesropcgwithoutauthscopes.configuration import Configuration, Environment, Server
from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import ClientAuthentication, ResourceOwnerAuthCredentials
from mdnotesropcgwithoutauthscopes.http.http_call_back import HttpCallBack
from mdnotesropcgwithoutauthscopes.http.proxy_settings import ProxySettings
from mdnotesropcgwithoutauthscopes.mdnotesropcgwithoutauthscopes_client import MdnotesropcgwithoutauthscopesClient
from tests.helpers import make_credentials, stored_token


def test_defaults_match_the_contract():
    config = Configuration()
    assert config.http_client_instance is None
    assert config.override_http_client_configuration is False
    assert config.http_call_back is None
    assert config.timeout == 60
    assert config.max_retries == 0
    assert config.backoff_factor == 2
    assert config.retry_statuses == (408, 413, 429, 500, 502, 503, 504, 521, 522, 524)
    assert config.retry_methods == ("GET", "PUT")
    assert config.proxy_settings is None
    assert config.environment is Environment.PRODUCTION
    assert config.base_uri is None
    assert config.resource_owner_auth_credentials == ResourceOwnerAuthCredentials()  # empty: none given
    assert config.get_base_uri() == "http://localhost:3000/oauth2/non-auth-server"
    assert config.get_base_uri(Server.AUTH) == "http://localhost:3000/oauth2/auth-server"


def test_configuration_is_immutable():
    config = Configuration()
    with pytest.raises(AttributeError, match="clone_with"):
        config.timeout = 5
    creds = ResourceOwnerAuthCredentials(o_auth_client_id="a")
    with pytest.raises(AttributeError):
        creds.o_auth_client_id = "b"


def test_clone_with_changes_only_what_is_named_and_honours_falsy_values():
    callback = HttpCallBack()
    config = Configuration(max_retries=3, timeout=10, http_call_back=callback, base_uri="https://x.test")
    clone = config.clone_with(max_retries=0)
    assert clone.max_retries == 0
    assert clone.timeout == 10 and clone.http_call_back is callback and clone.base_uri == "https://x.test"
    assert config.max_retries == 3
    assert config.clone_with(timeout=0.5).timeout == 0.5
    assert config.clone_with(http_call_back=None).http_call_back is None
    assert config.clone_with(base_uri=None).get_base_uri() == "http://localhost:3000/oauth2/non-auth-server"
    assert config.clone_with(backoff_factor=0).backoff_factor == 0
    assert config.clone_with(retry_statuses=()).retry_statuses == ()


def _constructor_parameters(cls):
    return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]


@pytest.mark.parametrize("cls", [Configuration, ResourceOwnerAuthCredentials])
def test_clone_with_accepts_every_constructor_parameter(cls):
    instance = cls()
    for name in _constructor_parameters(cls):
        clone = instance.clone_with(**{name: getattr(instance, name)})
        assert clone == instance
        assert clone is not instance


def test_clone_with_rejects_unknown_names():
    with pytest.raises(TypeError, match="timeuot"):
        Configuration().clone_with(timeuot=5)


def test_credentials_clone_with_keeps_everything_else():
    on_update = print
    creds = make_credentials(o_auth_on_token_update=on_update, o_auth_clock_skew=5)
    token = stored_token(1)
    clone = creds.clone_with(o_auth_token=token)
    assert clone.o_auth_token is token
    assert clone.o_auth_client_secret == creds.o_auth_client_secret
    assert clone.o_auth_password == creds.o_auth_password
    assert clone.o_auth_on_token_update is on_update and clone.o_auth_clock_skew == 5
    assert clone.clone_with(o_auth_clock_skew=0).o_auth_clock_skew == 0
    assert creds.o_auth_token is None


def test_guide_pattern_restores_a_token_into_a_new_client():
    client = MdnotesropcgwithoutauthscopesClient(resource_owner_auth_credentials=make_credentials())
    token = stored_token(3)
    creds = client.config.resource_owner_auth_credentials.clone_with(o_auth_token=token)
    config = client.config.clone_with(resource_owner_auth_credentials=creds)
    client2 = MdnotesropcgwithoutauthscopesClient(config=config)
    assert client2.http_ropcg.token is token
    assert client2.http_ropcg.is_valid()
    assert client2.config.resource_owner_auth_credentials.o_auth_token is token


@pytest.mark.parametrize(
    "settings, error, name",
    [
        ({"timeout": "10"}, TypeError, "timeout"),
        ({"timeout": 0}, ValueError, "timeout"),
        ({"timeout": -1}, ValueError, "timeout"),
        ({"max_retries": -1}, ValueError, "max_retries"),
        ({"max_retries": 1.5}, TypeError, "max_retries"),
        ({"max_retries": True}, TypeError, "max_retries"),
        ({"backoff_factor": None}, TypeError, "backoff_factor"),
        ({"retry_statuses": "500"}, TypeError, "retry_statuses"),
        ({"retry_statuses": ["500"]}, TypeError, "retry_statuses"),
        ({"retry_methods": "GET"}, TypeError, "retry_methods"),
        ({"environment": "production"}, TypeError, "environment"),
        ({"base_uri": "localhost:3000"}, ValueError, "base_uri"),
        ({"base_uri": 3000}, TypeError, "base_uri"),
        ({"http_call_back": object()}, TypeError, "http_call_back"),
        ({"proxy_settings": "http://proxy"}, TypeError, "proxy_settings"),
        ({"resource_owner_auth_credentials": {"o_auth_client_id": "x"}}, TypeError, "resource_owner_auth_credentials"),
        ({"override_http_client_configuration": "yes"}, TypeError, "override_http_client_configuration"),
    ],
)
def test_bad_settings_raise_naming_the_setting(settings, error, name):
    with pytest.raises(error, match=name):
        MdnotesropcgwithoutauthscopesClient(**settings)


def test_unknown_setting_is_a_type_error():
    with pytest.raises(TypeError):
        MdnotesropcgwithoutauthscopesClient(time_out=5)


def test_http_client_instance_must_be_a_session():
    with pytest.raises(TypeError, match="http_client_instance"):
        MdnotesropcgwithoutauthscopesClient(http_client_instance=object())


@pytest.mark.parametrize(
    "kwargs, error, name",
    [
        ({"o_auth_client_id": 123}, TypeError, "o_auth_client_id"),
        ({"o_auth_client_secret": b"x"}, TypeError, "o_auth_client_secret"),
        ({"o_auth_username": 1}, TypeError, "o_auth_username"),
        ({"o_auth_password": ["x"]}, TypeError, "o_auth_password"),
        ({"o_auth_token": "a-token-string"}, TypeError, "o_auth_token"),
        ({"o_auth_token_provider": "x"}, TypeError, "o_auth_token_provider"),
        ({"o_auth_on_token_update": 1}, TypeError, "o_auth_on_token_update"),
        ({"o_auth_clock_skew": -1}, ValueError, "o_auth_clock_skew"),
        ({"o_auth_clock_skew": "5"}, TypeError, "o_auth_clock_skew"),
        ({"o_auth_client_authentication": "digest"}, ValueError, "o_auth_client_authentication"),
    ],
)
def test_bad_credentials_raise_naming_the_argument(kwargs, error, name):
    with pytest.raises(error, match=name):
        ResourceOwnerAuthCredentials(**kwargs)


def test_client_from_config_or_settings_not_both():
    with pytest.raises(TypeError, match="not both"):
        MdnotesropcgwithoutauthscopesClient(config=Configuration(), timeout=5)
    client = MdnotesropcgwithoutauthscopesClient(config=Configuration(timeout=5))
    assert client.config.timeout == 5


def test_client_exposes_its_parts_and_closes():
    with MdnotesropcgwithoutauthscopesClient() as client:
        assert client.http_ropcg is not None
        assert client.service is not None and client.user is not None and client.o_auth_authorization is not None
        assert client.config.resource_owner_auth_credentials == ResourceOwnerAuthCredentials()


def test_given_session_is_used_and_not_closed_by_client():
    session = requests.Session()
    closed = []
    session.close = lambda: closed.append(True)
    client = MdnotesropcgwithoutauthscopesClient(http_client_instance=session)
    assert client.http_client.session is session
    client.close()
    assert closed == []


def test_proxy_settings_turn_into_requests_proxies():
    proxy = ProxySettings("proxy.example.com", 8080, "user", "p@ss:word")
    assert proxy.to_proxies() == {
        "http": "http://user:p%40ss%3Aword@proxy.example.com:8080",
        "https": "http://user:p%40ss%3Aword@proxy.example.com:8080",
    }
    assert "p@ss" not in repr(proxy)
    assert ProxySettings("https://p.example:3128").to_proxies()["https"] == "https://p.example:3128"


def test_client_authentication_values():
    assert ClientAuthentication.BASIC == "client_secret_basic"
    assert ResourceOwnerAuthCredentials().o_auth_client_authentication == ClientAuthentication.AUTO


@pytest.mark.parametrize(
    "base_uri",
    [
        "http://carol:PW-SECRET@localhost:3000/oauth2/non-auth-server",
        "https://carol:PW-SECRET@api.example/",
        "https://PW-SECRET@api.example",
        "http://carol:p@ss:PW-SECRET@host/x",
        "HTTPS://carol:PW-SECRET@host?x=1",
        "ftp://carol:PW-SECRET@host/",  # refused for its user info before its scheme is named
    ],
)
def test_a_base_uri_with_user_info_is_refused_without_repeating_it(base_uri):
    for build in (
        lambda: Configuration(base_uri=base_uri),
        lambda: Configuration().clone_with(base_uri=base_uri),
        lambda: MdnotesropcgwithoutauthscopesClient(base_uri=base_uri),
    ):
        with pytest.raises(ValueError) as info:
            build()
        message = str(info.value)
        assert message.startswith("base_uri must not contain user info (user:password@)")
        assert "PW-SECRET" not in message and "carol" not in message
        assert "PW-SECRET" not in repr(info.value)


def test_an_at_sign_in_the_path_of_a_base_uri_is_not_user_info():
    assert Configuration(base_uri="https://api.example/@team/v1/").base_uri == "https://api.example/@team/v1"
