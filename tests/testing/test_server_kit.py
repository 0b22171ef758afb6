"""The reference server as the kit offers it: the context manager, its settings, counters and faults from Python."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from mdnotesropcgwithoutauthscopes.exceptions.api_connection_exception import APIConnectionException
from mdnotesropcgwithoutauthscopes.exceptions.api_exception import APIException
from mdnotesropcgwithoutauthscopes.testing import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_PASSWORD,
    DEFAULT_USERNAME,
    FaultSettings,
    MdNotesServer,
    ServerConfig,
    ServerUser,
    client_for,
    credentials_for,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


def password_grant(server, username=DEFAULT_USERNAME, password=DEFAULT_PASSWORD):
    return requests.post(
        f"{server.base_uri}/token",
        data={"grant_type": "password", "username": username, "password": password},
        auth=(server.client_id, server.client_secret),
        timeout=5,
    )


def refresh(server, refresh_token):
    return requests.post(
        f"{server.base_uri}/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=(server.client_id, server.client_secret),
        timeout=5,
    )


def test_context_manager_serves_on_a_free_loopback_port_and_stops_on_exit():
    with MdNotesServer() as server:
        assert server.running
        assert server.host == "127.0.0.1" and server.port > 0
        assert server.base_uri == f"http://127.0.0.1:{server.port}/oauth2/non-auth-server"
        assert password_grant(server).status_code == 200
        port = server.port
    assert not server.running
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_two_servers_get_two_ports_and_a_server_starts_once():
    with MdNotesServer() as one, MdNotesServer() as two:
        assert one.port != two.port
        with pytest.raises(RuntimeError):
            one.start()


def test_demo_credentials_are_the_documented_defaults():
    assert (DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET) == ("demo-client", "demo-secret")
    assert (DEFAULT_USERNAME, DEFAULT_PASSWORD) == ("demo@example.com", "demo-password")
    with MdNotesServer() as server:
        credentials = credentials_for(server)
        assert credentials.o_auth_client_id == "demo-client"
        assert credentials.o_auth_username == "demo@example.com"


def test_sdk_client_flow_is_counted_by_grant_and_endpoint():
    with MdNotesServer(token_lifetime=3600) as server, client_for(server) as client:
        client.service.get_status()
        client.user.get_user()
        client.http_ropcg.refresh_token()
        client.user.get_user()
        stats = server.stats()
    assert stats == {
        "token_requests": 2,
        "password_grant_requests": 1,
        "refresh_grant_requests": 1,
        "password_grants": 1,
        "refresh_grants": 1,
        "failed_token_requests": 0,
        "reused_refresh_tokens": 0,
        "refused_password_grants": 0,
        "client_authentication_failures": 0,
        "account_lockouts": 0,
        "client_lockouts": 0,
        "locked_account_refusals": 0,
        "locked_client_refusals": 0,
        "expired_access_tokens": 0,
        "api_requests": 3,
        "status_requests": 1,
        "user_requests": 2,
        "connections": 1,
        "injected_token_503s": 0,
        "injected_token_429s": 0,
        "dropped_token_requests": 0,
        "delayed_token_requests": 0,
        "token_responses": {"password": {"200": 1}, "refresh_token": {"200": 1}},
    }


def test_failed_and_reused_refresh_tokens_are_counted():
    with MdNotesServer() as server:
        first = password_grant(server).json()
        assert password_grant(server, password="wrong").status_code == 400
        assert refresh(server, first["refresh_token"]).status_code == 200
        reused = refresh(server, first["refresh_token"])
        assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
        stats = server.stats()
    assert (stats["password_grant_requests"], stats["password_grants"]) == (2, 1)
    assert (stats["refresh_grant_requests"], stats["refresh_grants"]) == (2, 1)
    assert (stats["failed_token_requests"], stats["reused_refresh_tokens"]) == (2, 1)


def test_without_rotation_the_refresh_token_comes_back_and_stays_valid():
    with MdNotesServer(rotate_refresh_tokens=False) as server:
        first = password_grant(server).json()
        for _ in range(2):
            again = refresh(server, first["refresh_token"]).json()
            assert again["refresh_token"] == first["refresh_token"]
            assert again["access_token"] != first["access_token"]
        server.rotate_refresh_tokens = True
        rotated = refresh(server, first["refresh_token"]).json()
        assert rotated["refresh_token"] != first["refresh_token"]
        assert server.stats()["reused_refresh_tokens"] == 0


def test_token_lifetime_changes_while_running_apply_to_later_tokens():
    with MdNotesServer(token_lifetime=3600) as server:
        assert password_grant(server).json()["expires_in"] == 3600
        server.token_lifetime = 1.5
        assert password_grant(server).json()["expires_in"] == 1.5
        with pytest.raises(ValueError):
            server.token_lifetime = 0
        with pytest.raises(TypeError):
            server.rotate_refresh_tokens = "no"


def test_expire_all_tokens_makes_the_sdk_refresh_without_waiting():
    with MdNotesServer() as server, client_for(server) as client:
        client.service.get_status()
        token = client.http_ropcg.token.access_token
        assert server.expire_all_tokens() == 1
        expired = requests.get(f"{server.base_uri}/user", headers={"Authorization": f"Bearer {token}"}, timeout=5)
        assert expired.status_code == 401
        assert 'error="invalid_token"' in expired.headers["WWW-Authenticate"]
        assert "expired" in expired.json()["error_description"]
        assert client.user.get_user().email == DEFAULT_USERNAME
        assert server.stats()["refresh_grants"] == 1


def test_several_users_each_see_themselves():
    extra = ServerUser("bob@example.com", "bob-password", name="Bob", id=42)
    with MdNotesServer(users=[extra]) as server:
        carol = server.add_user("carol@example.com", "carol-password")
        assert (carol.id, carol.name) == (3, "carol@example.com")
        assert [user.username for user in server.users] == [DEFAULT_USERNAME, "bob@example.com", "carol@example.com"]
        with client_for(server, username="bob@example.com") as bob, client_for(server, username=carol.username) as c:
            assert (bob.user.get_user().id, bob.user.get_user().name) == (42, "Bob")
            assert c.user.get_user().email == "carol@example.com"
            assert c.service.get_status().users == 3
        with pytest.raises(ValueError):
            server.add_user("bob@example.com", "x")
        with pytest.raises(ValueError):
            credentials_for(server, username="nobody")
    assert "bob-password" not in repr(extra)


def test_faults_given_at_start_apply_from_the_first_request():
    faults = FaultSettings(status_503_count=1, retry_after=4)
    with MdNotesServer(faults=faults) as server:
        first = password_grant(server)
        assert (first.status_code, first.headers["Retry-After"]) == (503, "4")
        assert password_grant(server).status_code == 200
        assert server.stats()["failed_token_requests"] == 1


def test_faults_set_while_running_reach_the_sdk():
    with MdNotesServer() as server, client_for(server, timeout=0.5) as client:
        client.service.get_status()
        server.set_faults(status_429_count=1, retry_after=2)
        with pytest.raises(APIException) as info:
            client.service.get_status()
        assert (info.value.response_code, info.value.response.headers["Retry-After"]) == (429, "2")

        server.set_faults(drop_next=1)
        with pytest.raises(APIConnectionException):
            client.user.get_user()

        server.set_faults(latency=2)
        started = time.monotonic()
        with pytest.raises(APIConnectionException):
            client.user.get_user()
        assert time.monotonic() - started < 2  # the client gave up at its 0.5 s timeout

        server.set_faults(revoke_all=True)
        assert client.user.get_user().email == DEFAULT_USERNAME  # renewed after the 401
        server.clear_faults()


def test_http_fault_control_api_still_answers_loopback_clients():
    with MdNotesServer(enable_faults=True) as server:
        admin = f"{server.url}/_admin"
        assert requests.post(f"{admin}/faults", json={"status_503_count": 1}, timeout=5).status_code == 200
        assert requests.get(f"{server.base_uri}/status", timeout=5).status_code == 503
        assert requests.get(f"{admin}/stats", timeout=5).json()["status_requests"] == 1


def test_from_config_and_bad_settings():
    server = MdNotesServer.from_config(ServerConfig(port=0, token_lifetime=5))
    with server:
        assert password_grant(server).json()["expires_in"] == 5
    with pytest.raises(TypeError):
        MdNotesServer.from_config({"port": 0})
    with pytest.raises(ValueError):
        MdNotesServer(users=[ServerUser(DEFAULT_USERNAME, "again")])
    with pytest.raises(TypeError):
        MdNotesServer(users=["bob:secret"])
    with pytest.raises(TypeError):
        MdNotesServer(users="bob")
    with pytest.raises(TypeError):
        MdNotesServer(faults={"latency": 1})


def test_old_import_path_is_the_same_server():
    import mdnotes_server
    from mdnotes_server.handler import is_loopback
    from mdnotesropcgwithoutauthscopes.testing.server import handler

    assert mdnotes_server.MdNotesServer is MdNotesServer
    assert is_loopback is handler.is_loopback


@pytest.mark.parametrize(
    "module", ["mdnotes_server", "mdnotesropcgwithoutauthscopes.testing.server"], ids=["checkout", "installed"]
)
def test_both_module_commands_serve_until_sigterm(module):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", module, "--port", "0", "--user", "bob:bob-pw", "--no-rotate-refresh-tokens"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        banner = [process.stdout.readline()]
        while banner[-1] and "Stop with" not in banner[-1]:
            banner.append(process.stdout.readline())
        port = int(banner[0].rsplit(":", 1)[1])
        response = requests.post(
            f"http://127.0.0.1:{port}/oauth2/non-auth-server/token",
            data={"grant_type": "password", "username": "bob", "password": "bob-pw"},
            auth=("demo-client", "demo-secret"),
            timeout=5,
        )
        assert response.status_code == 200, response.text
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=10)
    assert process.returncode == 0, errors
    output = "".join(banner)
    assert "refresh tokens kept (no rotation)" in output
    assert "username=bob password=bob-pw" in output


def test_module_command_help_names_the_command_it_was_run_as():
    result = subprocess.run(
        [sys.executable, "-m", "mdnotesropcgwithoutauthscopes.testing.server", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0
    assert result.stdout.startswith("usage: python -m mdnotesropcgwithoutauthscopes.testing.server")


def test_every_public_name_loads_and_unknown_names_fail():
    import mdnotesropcgwithoutauthscopes.testing as kit

    for name in kit.__all__:
        assert getattr(kit, name) is not None
    assert set(kit.__all__) <= set(dir(kit))
    with pytest.raises(AttributeError):
        kit.not_a_name  # noqa: B018 - the attribute access is the test
