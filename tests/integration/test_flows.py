"""The SDK's whole job against the reference server, over real sockets."""

import json
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mdnotesropcgwithoutauthscopes.exceptions.auth_validation_exception import AuthValidationException
from mdnotesropcgwithoutauthscopes.exceptions.o_auth_provider_exception import OAuthProviderException
from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import ClientAuthentication, ResourceOwnerAuthCredentials
from mdnotesropcgwithoutauthscopes.mdnotesropcgwithoutauthscopes_client import MdnotesropcgwithoutauthscopesClient
from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken
from tests.helpers.integration import DEMO, client_for, credentials

REPO = Path(__file__).resolve().parents[2]


def test_full_flow_fetch_store_restore_call(server):
    client = client_for(server)
    token = client.http_ropcg.fetch_token()
    assert token.token_type.lower() == "bearer" and token.refresh_token
    stored = json.dumps(token.to_dictionary())

    restored = OAuthToken.from_dictionary(json.loads(stored))
    client = MdnotesropcgwithoutauthscopesClient(
        config=client.config.clone_with(
            resource_owner_auth_credentials=client.config.resource_owner_auth_credentials.clone_with(
                o_auth_token=restored
            )
        )
    )
    status = client.service.get_status()
    user = client.user.get_user()
    assert status.status == "ok" and isinstance(status.users, int)
    assert user.email == DEMO["username"]
    assert server.stats()["token_requests"] == 1


@pytest.mark.parametrize("method", [ClientAuthentication.BASIC, ClientAuthentication.REQUEST_BODY])
def test_client_authentication_methods_with_awkward_characters(server, method):
    client = client_for(server, credentials(o_auth_client_authentication=method))
    assert client.service.get_status().status == "ok"
    assert server.stats()["password_grants"] == 1


def test_refresh_rotates_and_old_refresh_token_is_refused(server):
    first = client_for(server).http_ropcg.fetch_token()
    stale = client_for(server, credentials(o_auth_token=first, o_auth_password=None))
    client = client_for(server, credentials(o_auth_token=first))
    second = client.http_ropcg.refresh_token()
    assert second.refresh_token and second.refresh_token != first.refresh_token
    with pytest.raises(OAuthProviderException) as info:
        stale.http_ropcg.refresh_token()  # a copy of the spent refresh token
    assert info.value.error == "invalid_grant"


def test_manual_refresh_is_installed_so_the_client_and_the_returned_token_keep_working(server):
    first = client_for(server).http_ropcg.fetch_token()
    client = client_for(server, credentials(o_auth_token=first, o_auth_password=None))
    second = client.http_ropcg.refresh_token()
    assert client.http_ropcg.token is second
    before = server.stats()["token_requests"]
    assert client.service.get_status().status == "ok"  # sent with the new token, no token request
    third = client.http_ropcg.refresh_token()  # the installed refresh token is the rotated one
    assert third.refresh_token not in (first.refresh_token, second.refresh_token)
    assert client_for(server, credentials(o_auth_token=third)).user.get_user().email == DEMO["username"]
    assert server.stats()["token_requests"] == before + 1


def test_automatic_refresh_after_expiry_calls_update_callback(start):
    server = start(token_lifetime=1)
    saved = []
    # No early renewal: this is the path of a token that has expired.
    client = client_for(server, credentials(o_auth_on_token_update=saved.append, o_auth_refresh_window=0))
    client.service.get_status()
    time.sleep(1.1)
    client.user.get_user()
    stats = server.stats()
    assert (stats["password_grants"], stats["refresh_grants"]) == (1, 1)
    assert len(saved) == 2 and saved[0].access_token != saved[1].access_token


def test_revoked_token_gets_the_401_retry_once(server):
    client = client_for(server)
    client.service.get_status()
    server.revoke_all_tokens()
    assert client.service.get_status().status == "ok"
    stats = server.stats()
    assert stats["token_requests"] == 2 and stats["refresh_grants"] == 1


def test_wrong_password_and_wrong_secret(server):
    with pytest.raises(OAuthProviderException) as info:
        client_for(server, credentials(o_auth_password="nope")).http_ropcg.fetch_token()
    assert info.value.response_code == 400 and info.value.error == "invalid_grant"
    assert info.value.error_description
    with pytest.raises(OAuthProviderException) as info:
        client_for(server, credentials(o_auth_client_secret="nope")).http_ropcg.fetch_token()
    assert info.value.response_code == 401 and info.value.error == "invalid_client"


def test_stored_token_alone_expired_raises_before_sending(start):
    server = start(token_lifetime=1)
    token = client_for(server).http_ropcg.fetch_token()
    client = client_for(server, ResourceOwnerAuthCredentials(o_auth_token=token))
    client.service.get_status()
    time.sleep(1.1)
    before = server.stats()["api_requests"]
    with pytest.raises(AuthValidationException):
        client.service.get_status()
    assert server.stats()["api_requests"] == before


def test_one_connection_for_many_sequential_calls(server):
    with client_for(server) as client:
        for _ in range(200):
            client.service.get_status()
    assert server.stats()["connections"] == 1


def test_complete_example_runs_and_prints_no_secret(tmp_path):
    db = tmp_path / "tokens.sqlite3"
    result = subprocess.run(
        [sys.executable, str(REPO / "examples" / "complete_example.py"), "--token-lifetime", "1", "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for marker in ("Step 1", "Step 2", "Step 3", "Step 4", "invalid_grant", "o_auth_on_token_update"):
        assert marker in out
    assert "password grants 1, refresh grants 1" in out  # two clients, one store: one refresh between them
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    (stored,) = [json.loads(v) for (v,) in sqlite3.connect(db).execute("SELECT value FROM tokens")]
    for secret in ("demo-secret", "demo-password", stored["access_token"], stored["refresh_token"]):
        assert secret not in out and secret not in result.stderr


def test_complete_example_against_a_running_server_skips_the_wait_and_cleans_up(server):
    result = subprocess.run(
        [sys.executable, str(REPO / "examples" / "complete_example.py"), "--base-uri", server.base_uri]
        + [f"--{name.replace('_', '-')}={value}" for name, value in DEMO.items()],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "skipped: with --base-uri" in result.stdout
    removed = [line for line in result.stdout.splitlines() if line.startswith("Removed the temporary token file")]
    assert removed and not Path(removed[0].rsplit(" ", 1)[1]).exists()
