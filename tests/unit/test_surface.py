"""The public surface as a new user meets it: root imports, enums, named settings, refusals, lifecycle."""

import copy
import importlib
import inspect
import json
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import mdnotesropcgwithoutauthscopes
from mdnotesropcgwithoutauthscopes import (
    ClientClosedException,
    Configuration,
    HttpMethodEnum,
    MdnotesropcgwithoutauthscopesClient,
    OAuthProviderErrorEnum,
    OAuthToken,
    ProxySettings,
    ResourceOwnerAuthCredentials,
)
from tests.helpers import STATUS_BODY, STATUS_URL, TOKEN_URL, make_client, make_credentials, stored_token, token_body

ROOT = Path(__file__).resolve().parents[2]

# The documented module paths that stay valid, and the root names that must be the same objects.
MODULE_PATHS = {
    "MdnotesropcgwithoutauthscopesClient": "mdnotesropcgwithoutauthscopes.mdnotesropcgwithoutauthscopes_client",
    "Configuration": "mdnotesropcgwithoutauthscopes.configuration",
    "Environment": "mdnotesropcgwithoutauthscopes.configuration",
    "Server": "mdnotesropcgwithoutauthscopes.configuration",
    "ResourceOwnerAuthCredentials": "mdnotesropcgwithoutauthscopes.http.auth.o_auth_2",
    "OAuth2": "mdnotesropcgwithoutauthscopes.http.auth.o_auth_2",
    "ClientAuthentication": "mdnotesropcgwithoutauthscopes.http.auth.o_auth_2",
    "APIException": "mdnotesropcgwithoutauthscopes.exceptions.api_exception",
    "OAuthProviderException": "mdnotesropcgwithoutauthscopes.exceptions.o_auth_provider_exception",
    "OAuthToken": "mdnotesropcgwithoutauthscopes.models.o_auth_token",
    "ServiceStatus": "mdnotesropcgwithoutauthscopes.models.service_status",
    "User": "mdnotesropcgwithoutauthscopes.models.user",
    "Note": "mdnotesropcgwithoutauthscopes.models.note",
    "OAuthProviderErrorEnum": "mdnotesropcgwithoutauthscopes.models.o_auth_provider_error_enum",
    "HttpMethodEnum": "mdnotesropcgwithoutauthscopes.http.http_method_enum",
    "HttpCallBack": "mdnotesropcgwithoutauthscopes.http.http_call_back",
    "HttpRequest": "mdnotesropcgwithoutauthscopes.http.http_request",
    "HttpResponse": "mdnotesropcgwithoutauthscopes.http.http_response",
    "HttpClient": "mdnotesropcgwithoutauthscopes.http.http_client",
    "RequestsClient": "mdnotesropcgwithoutauthscopes.http.requests_client",
    "ProxySettings": "mdnotesropcgwithoutauthscopes.http.proxy_settings",
    "TokenStore": "mdnotesropcgwithoutauthscopes.http.auth.token_store",
    "TokenStoreError": "mdnotesropcgwithoutauthscopes.http.auth.token_store",
    "MemoryTokenStore": "mdnotesropcgwithoutauthscopes.http.auth.token_store",
}


def _run(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return result.stdout.strip()


# ------------------------------------------------------------------ the package root


@pytest.mark.parametrize("name", sorted(MODULE_PATHS))
def test_root_name_is_the_object_of_its_module_path(name):
    module = importlib.import_module(MODULE_PATHS[name])
    assert getattr(mdnotesropcgwithoutauthscopes, name) is getattr(module, name)
    assert name in mdnotesropcgwithoutauthscopes.__all__


def test_every_name_in_all_is_importable_and_star_import_works():
    namespace: dict[str, object] = {}
    exec("from mdnotesropcgwithoutauthscopes import *", namespace)
    exported = set(mdnotesropcgwithoutauthscopes.__all__)
    assert exported <= set(namespace)
    assert len(exported) == len(mdnotesropcgwithoutauthscopes.__all__)  # no duplicates
    assert exported <= set(dir(mdnotesropcgwithoutauthscopes))
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        mdnotesropcgwithoutauthscopes.Nope  # noqa: B018


def test_importing_the_root_does_not_import_requests_until_requests_client_is_used():
    out = _run(
        "import sys, mdnotesropcgwithoutauthscopes as m\n"
        "print('requests' in sys.modules)\n"
        "m.RequestsClient\n"
        "print('requests' in sys.modules)\n"
    )
    assert out.split() == ["False", "True"]


def test_version_is_a_string_and_the_user_agent_sends_it():
    from mdnotesropcgwithoutauthscopes.http.requests_client import RequestsClient

    version = mdnotesropcgwithoutauthscopes.__version__
    assert isinstance(version, str) and version.count(".") == 2
    client = RequestsClient()
    assert client.session.headers["User-Agent"] == f"mdnotesropcgwithoutauthscopes-python/{version}"
    client.close()


def test_package_ships_py_typed():
    assert (Path(mdnotesropcgwithoutauthscopes.__file__).parent / "py.typed").is_file()


# ------------------------------------------------------------------ enums


@pytest.mark.parametrize(
    "member, value",
    [*((m, m.value) for m in OAuthProviderErrorEnum), *((m, m.value) for m in HttpMethodEnum)],
)
def test_enum_members_are_their_strings(member, value):
    assert member == value and value == member and not (member != value)
    assert hash(member) == hash(value) and {value: 1}[member] == 1
    assert str(member) == value and f"{member}" == value and "%s" % member == value
    assert format(member, ">20") == format(value, ">20")
    assert json.dumps(member) == json.dumps(value)
    assert type(member)(value) is member
    assert isinstance(member, str)


def test_enums_list_their_members_and_say_which_strings_are_theirs():
    assert [m.value for m in OAuthProviderErrorEnum] == [
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
    ]
    assert [m.value for m in HttpMethodEnum] == ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]
    assert OAuthProviderErrorEnum.is_valid("invalid_grant") and not OAuthProviderErrorEnum.is_valid("slow_down")
    assert not OAuthProviderErrorEnum.is_valid(None)
    assert HttpMethodEnum.GET != "get" and HttpMethodEnum.GET != OAuthProviderErrorEnum.INVALID_GRANT


def test_retry_methods_accept_enum_members_and_store_plain_strings():
    config = Configuration(retry_methods=(HttpMethodEnum.GET, "delete"))
    assert config.retry_methods == ("GET", "DELETE")
    assert all(type(m) is str for m in config.retry_methods)


@pytest.mark.parametrize("bad", ["F\nOO", "GET PUT", "", "GÉT", "GET\r"])
def test_retry_methods_must_be_http_method_tokens(bad):
    with pytest.raises(ValueError, match="retry_methods"):
        Configuration(retry_methods=(bad,))


# ------------------------------------------------------------------ the client's settings


def test_client_parameters_equal_configurations():
    client = inspect.signature(MdnotesropcgwithoutauthscopesClient.__init__).parameters
    config = inspect.signature(Configuration.__init__).parameters
    assert list(client)[:2] == ["self", "config"]
    settings = {n: p for n, p in client.items() if n not in ("self", "config")}
    assert list(settings) == list(config)[1:] == list(Configuration._FIELDS)
    for name, parameter in settings.items():
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY, name
        assert parameter.default == config[name].default, name
        assert parameter.annotation == config[name].annotation, name
    assert len(settings) == 16
    # What help() and IDEs show is that signature, not the keyword check in front of it.
    shown = inspect.signature(MdnotesropcgwithoutauthscopesClient).parameters
    assert list(shown) == ["config", *settings]


def test_config_stays_the_first_positional_parameter():
    config = Configuration(timeout=7)
    with MdnotesropcgwithoutauthscopesClient(config) as client:
        assert client.config is config


def test_settings_left_at_their_defaults_may_accompany_config():
    config = Configuration(timeout=7)
    with MdnotesropcgwithoutauthscopesClient(config=config, timeout=60, max_retries=0) as client:
        assert client.config is config
    with pytest.raises(TypeError, match="not both: max_retries, timeout"):
        MdnotesropcgwithoutauthscopesClient(config=config, timeout=5, max_retries=1)


@pytest.mark.parametrize(
    "build, owner",
    [
        (lambda: MdnotesropcgwithoutauthscopesClient(tiemout=5), "MdnotesropcgwithoutauthscopesClient()"),
        (lambda: Configuration(tiemout=5), "Configuration()"),
        (lambda: Configuration().clone_with(tiemout=5), "Configuration.clone_with()"),
    ],
)
def test_mistyped_setting_names_the_one_meant(build, owner):
    with pytest.raises(TypeError) as info:
        build()
    assert str(info.value) == f"{owner} got unknown setting 'tiemout' (did you mean 'timeout'?)"


def test_mistyped_credentials_setting_names_the_one_meant():
    with pytest.raises(TypeError, match=r"'o_auth_pasword' \(did you mean 'o_auth_password'\?\)"):
        make_credentials().clone_with(o_auth_pasword="x")
    with pytest.raises(TypeError, match=r"'o_auth_client' \(did you mean 'o_auth_client_id'\?\)"):
        ResourceOwnerAuthCredentials(o_auth_client="x")


def test_unknown_settings_without_a_close_match_are_all_named():
    with pytest.raises(TypeError) as info:
        Configuration().clone_with(zzz=1, timeuot=2)
    assert str(info.value) == (
        "Configuration.clone_with() got unknown settings 'timeuot' (did you mean 'timeout'?), 'zzz'"
    )
    with pytest.raises(TypeError, match="'colour'"):
        ProxySettings("http://proxy.test").clone_with(colour="red")


def test_clone_with_returns_its_own_class():
    class Tuned(Configuration):
        __slots__ = ()

    clone = Tuned(timeout=5).clone_with(max_retries=1)
    assert type(clone) is Tuned and clone.timeout == 5 and clone.max_retries == 1


# ------------------------------------------------------------------ credentials never None


def test_credentials_are_never_none_on_a_configuration():
    assert Configuration().resource_owner_auth_credentials == ResourceOwnerAuthCredentials()
    explicit_none = Configuration(resource_owner_auth_credentials=None)
    assert isinstance(explicit_none.resource_owner_auth_credentials, ResourceOwnerAuthCredentials)
    with_creds = Configuration(resource_owner_auth_credentials=make_credentials())
    cleared = with_creds.clone_with(resource_owner_auth_credentials=None)
    assert cleared.resource_owner_auth_credentials == ResourceOwnerAuthCredentials()
    assert cleared == Configuration()
    # The empty credentials can be filled in directly, as the guide shows for a stored token.
    token = stored_token(1)
    filled = cleared.resource_owner_auth_credentials.clone_with(o_auth_token=token)
    assert filled.o_auth_token is token


# ------------------------------------------------------------------ tokens that cannot be right


def test_token_without_access_token_or_token_type_is_refused():
    with pytest.raises(TypeError, match="access_token"):
        OAuthToken()  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="needs access_token"):
        OAuthToken.from_dictionary({})
    with pytest.raises(ValueError, match="needs token_type"):
        OAuthToken.from_dictionary({"access_token": "a"})
    with pytest.raises(ValueError, match="access_token must not be empty"):
        OAuthToken(access_token="", token_type="Bearer")
    with pytest.raises(TypeError, match="token_type must be a string, not int"):
        OAuthToken(access_token="a", token_type=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs access_token"):
        make_credentials(o_auth_token={})


def test_refusals_never_echo_the_token():
    with pytest.raises(TypeError) as info:
        OAuthToken(access_token=["SECRET-VALUE"], token_type="Bearer")  # type: ignore[arg-type]
    assert "SECRET-VALUE" not in str(info.value)


def test_expires_in_that_is_not_a_number_is_refused_from_a_caller():
    with pytest.raises(ValueError, match="expires_in must be a finite number of seconds, not 'soon'"):
        OAuthToken(access_token="a", token_type="Bearer", expires_in="soon")
    with pytest.raises(ValueError, match="expiry"):
        OAuthToken(access_token="a", token_type="Bearer", expiry=float("inf"))
    with pytest.raises(TypeError, match="expires_in must be a number of seconds, not list"):
        OAuthToken(access_token="a", token_type="Bearer", expires_in=[3600])  # type: ignore[arg-type]
    assert OAuthToken(access_token="a", token_type="Bearer", expires_in=" 3600 ").expires_in == 3600


@pytest.mark.parametrize("junk", ["soon", "", [3600], {"s": 1}, True, "1e400"])
def test_expires_in_that_is_not_a_number_from_a_server_counts_as_unknown(junk):
    token = OAuthToken.from_dictionary({"access_token": "a", "token_type": "Bearer", "expires_in": junk})
    assert token.expires_in is None and token.expiry is None


def test_token_response_with_junk_expires_in_gives_a_token_without_expiry(rsps):
    rsps.post(TOKEN_URL, json=token_body(1, expires_in="soon"))
    token = make_client().http_ropcg.fetch_token()
    assert token.access_token == "ACCESS-TOKEN-1" and token.expires_in is None and token.expiry is None


def test_token_response_without_token_type_is_an_api_exception_naming_it(rsps):
    rsps.post(TOKEN_URL, json={"access_token": "SECRET-ACCESS"})
    with pytest.raises(mdnotesropcgwithoutauthscopes.APIException) as info:
        make_client().http_ropcg.fetch_token()
    assert "not a valid OAuthToken" in str(info.value) and "token_type" in str(info.value)
    assert "SECRET-ACCESS" not in str(info.value) and info.value.response_code == 200


def test_from_dictionary_returns_the_class_it_is_called_on():
    class Special(OAuthToken):
        pass

    assert type(Special.from_dictionary({"access_token": "a", "token_type": "Bearer"})) is Special
    assert Special.from_dictionary(None) is None


# ------------------------------------------------------------------ closing and pickling


def test_closed_client_refuses_to_send(rsps):
    rsps.get(STATUS_URL, json=STATUS_BODY)
    client = make_client(make_credentials(o_auth_token=stored_token(1)))
    client.service.get_status()
    assert client.closed is False
    client.close()
    client.close()  # harmless
    assert client.closed is True
    with pytest.raises(ClientClosedException, match="client is closed") as info:
        client.service.get_status()
    assert isinstance(info.value, RuntimeError) and isinstance(info.value, mdnotesropcgwithoutauthscopes.APIException)
    with pytest.raises(ClientClosedException):
        client.http_ropcg.fetch_token()
    assert len(rsps.calls) == 1  # nothing sent after close()


def test_with_block_closes_the_client():
    with make_client(make_credentials(o_auth_token=stored_token(1))) as client:
        pass
    assert client.closed
    with pytest.raises(ClientClosedException):
        client.user.get_user()


def test_closed_client_tells_how_to_get_a_new_one(rsps):
    rsps.get(STATUS_URL, json=STATUS_BODY)
    old = make_client(make_credentials(o_auth_token=stored_token(1)))
    old.close()
    with MdnotesropcgwithoutauthscopesClient(config=old.config) as new:
        assert new.service.get_status().status == "ok"


def test_client_cannot_be_pickled_or_copied_but_its_configuration_can():
    client = MdnotesropcgwithoutauthscopesClient(timeout=5)
    message = "cannot be pickled or copied: build one client per process from its Configuration"
    with pytest.raises(TypeError, match=message):
        pickle.dumps(client)
    with pytest.raises(TypeError, match=message):
        copy.copy(client)
    restored = pickle.loads(pickle.dumps(client.config))
    assert restored == client.config and restored.timeout == 5
    client.close()


# ------------------------------------------------------------------ types as a user's checker sees them

USER_SCRIPT = """
from typing import Optional

from mdnotesropcgwithoutauthscopes import (
    APIException, Configuration, InvalidGrantException, MdnotesropcgwithoutauthscopesClient, OAuthProviderErrorEnum,
    OAuthProviderException, OAuthToken, RateLimitException, ResourceOwnerAuthCredentials, ServiceStatus, User,
)

credentials = ResourceOwnerAuthCredentials(
    o_auth_client_id="id", o_auth_client_secret="secret", o_auth_username="user", o_auth_password="password"
)
client = MdnotesropcgwithoutauthscopesClient(timeout=10, max_retries=2, resource_owner_auth_credentials=credentials)
config: Configuration = client.config.clone_with(max_retries=0)
token: OAuthToken = client.http_ropcg.fetch_token()
restored: OAuthToken = OAuthToken.from_dictionary(token.to_dictionary())
renewed = config.clone_with(
    resource_owner_auth_credentials=config.resource_owner_auth_credentials.clone_with(o_auth_token=restored)
)
with MdnotesropcgwithoutauthscopesClient(config=renewed) as other:
    status: ServiceStatus = other.service.get_status()
    user: User = other.user.get_user()
try:
    client.user.get_user()
except InvalidGrantException as ex:
    code: Optional[str] = ex.error
except OAuthProviderException as ex:
    wrong = ex.error == OAuthProviderErrorEnum.INVALID_GRANT or OAuthProviderErrorEnum.INVALID_CLIENT == "invalid_client"
except RateLimitException as ex:
    status_code: Optional[int] = ex.response_code
except APIException as ex:
    print(ex.reason)
client.close()
"""


def test_a_user_script_written_from_the_docs_passes_mypy_strict(tmp_path):
    mypy = pytest.importorskip("mypy.api")
    script = tmp_path / "user_script.py"
    script.write_text(textwrap.dedent(USER_SCRIPT), encoding="utf-8")
    stdout, stderr, status = mypy.run(
        ["--strict", "--follow-imports=silent", "--no-incremental", "--config-file", "", str(script)]
    )
    assert status == 0, stdout + stderr


# ------------------------------------------------------------------------- reprs and mistyped names


@pytest.mark.parametrize("name", ["credentials", "auth_credentials", "Credentials", "owner_credentials"])
def test_a_shortened_credentials_setting_suggests_the_real_one(name):
    with pytest.raises(TypeError) as info:
        MdnotesropcgwithoutauthscopesClient(**{name: make_credentials()})
    assert str(info.value) == (
        f"MdnotesropcgwithoutauthscopesClient() got unknown setting {name!r} "
        "(did you mean 'resource_owner_auth_credentials'?)"
    )


def test_a_name_close_to_no_setting_suggests_nothing():
    with pytest.raises(TypeError) as info:
        MdnotesropcgwithoutauthscopesClient(creds=None)
    assert str(info.value) == "MdnotesropcgwithoutauthscopesClient() got unknown setting 'creds'"


def test_the_client_and_its_parts_have_short_reprs_without_secrets():
    base = "https://api.example/v1"
    client = make_client(base_uri=base, timeout=5)
    with client:
        assert repr(client) == (
            f"MdnotesropcgwithoutauthscopesClient(base_uri={base!r}, environment=Environment.PRODUCTION, closed=False)"
        )
        assert repr(client.service) == f"ServiceController(base_uri={base!r})"
        assert repr(client.user) == f"UserController(base_uri={base!r})"
        assert repr(client.o_auth_authorization) == f"OAuthAuthorizationController(base_uri={base!r})"
        assert (
            repr(client.http_client) == "RequestsClient(timeout=None, max_response_bytes=10485760, owns_session=True)"
        )
    assert repr(client).endswith("closed=True)")
    for text in (repr(client), repr(client.service), repr(client.http_client)):
        assert len(text) < 200
        for secret in ("CLIENT-SECRET", "PASSWORD", "alice"):
            assert secret not in text
