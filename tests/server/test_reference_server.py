"""Plain-HTTP tests of the MdNotes reference server (no SDK involved)."""

import base64
import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Optional
from urllib.parse import quote_plus

import pytest
import requests

from mdnotesropcgwithoutauthscopes.configuration import Configuration
from mdnotesropcgwithoutauthscopes.testing import MdNotesServer, start_server
from mdnotesropcgwithoutauthscopes.testing.server import handler as handler_module
from mdnotesropcgwithoutauthscopes.testing.server.command import banner, client_url
from mdnotesropcgwithoutauthscopes.testing.server.handler import is_loopback

CLIENT_ID = "demo-client"
CLIENT_SECRET = "demo-secret"
USERNAME = "demo@example.com"
PASSWORD = "demo-password"
PASSWORD_FORM = {"grant_type": "password", "username": USERNAME, "password": PASSWORD}
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def server() -> Iterator[MdNotesServer]:
    with start_server(port=0) as srv:
        yield srv


@pytest.fixture
def fault_server() -> Iterator[MdNotesServer]:
    with start_server(port=0, enable_faults=True) as srv:
        yield srv


def basic(client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET) -> str:
    """Client authentication exactly as RFC 6749 §2.3.1 asks: form-encode, then Basic."""
    pair = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode("ascii")
    return "Basic " + base64.b64encode(pair).decode("ascii")


def raw_basic(client_id: str, secret: str, charset: str) -> str:
    """Basic without the form-encoding step, as many clients send it."""
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode(charset)).decode("ascii")


def post_token(
    srv: MdNotesServer,
    form: dict[str, str],
    *,
    authorization: Optional[str] = None,
    base: Optional[str] = None,
) -> requests.Response:
    headers = {"Accept": "application/json", "Authorization": authorization or basic()}
    return requests.post(f"{base or srv.base_uri}/token", data=form, headers=headers, timeout=5)


def password_grant(srv: MdNotesServer, **kwargs: str) -> dict[str, object]:
    response = post_token(srv, PASSWORD_FORM, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()


def refresh(srv: MdNotesServer, refresh_token: object) -> requests.Response:
    return post_token(srv, {"grant_type": "refresh_token", "refresh_token": str(refresh_token)})


def get_api(srv: MdNotesServer, path: str, token: Optional[object] = None) -> requests.Response:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return requests.get(f"{srv.base_uri}/{path}", headers=headers, timeout=5)


def assert_oauth_error(response: requests.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["error"] == error
    assert body["error_description"]


# -- token endpoint ---------------------------------------------------------------------------


def test_password_grant_returns_bearer_token_without_scope(server: MdNotesServer) -> None:
    response = post_token(server, PASSWORD_FORM)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    assert response.headers["Content-Type"] == "application/json;charset=UTF-8"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600 and isinstance(body["expires_in"], int)
    assert body["access_token"] != body["refresh_token"]
    assert server.stats() == {
        "token_requests": 1,
        "password_grant_requests": 1,
        "refresh_grant_requests": 0,
        "password_grants": 1,
        "refresh_grants": 0,
        "failed_token_requests": 0,
        "reused_refresh_tokens": 0,
        "refused_password_grants": 0,
        "client_authentication_failures": 0,
        "account_lockouts": 0,
        "client_lockouts": 0,
        "locked_account_refusals": 0,
        "locked_client_refusals": 0,
        "expired_access_tokens": 0,
        "api_requests": 0,
        "status_requests": 0,
        "user_requests": 0,
        "connections": 1,
        "injected_token_503s": 0,
        "injected_token_429s": 0,
        "dropped_token_requests": 0,
        "delayed_token_requests": 0,
        "token_responses": {"password": {"200": 1}},
    }


def test_token_endpoint_answers_on_both_base_paths_and_echoes_scope(server: MdNotesServer) -> None:
    body = password_grant(server, base=server.auth_base_uri)
    assert "scope" not in body

    scoped = post_token(server, {**PASSWORD_FORM, "scope": "notes:read"})
    assert scoped.json()["scope"] == "notes:read"


def test_basic_credentials_are_form_decoded_per_rfc6749_2_3_1() -> None:
    client_id, secret = "my:client+id%20é x", "s:e+c%r é t"
    with start_server(port=0, client_id=client_id, client_secret=secret) as srv:
        assert post_token(srv, PASSWORD_FORM, authorization=basic(client_id, secret)).status_code == 200
        assert post_token(srv, PASSWORD_FORM, authorization=basic(client_id, "wrong")).status_code == 401


@pytest.mark.parametrize("charset", ["utf-8", "latin-1"])
def test_basic_credentials_without_form_encoding_are_accepted(charset: str) -> None:
    client_id, secret = "plain-é", "s+e%c:r é t"
    with start_server(port=0, client_id=client_id, client_secret=secret) as srv:
        response = post_token(srv, PASSWORD_FORM, authorization=raw_basic(client_id, secret, charset))
        assert response.status_code == 200, response.text


def test_client_credentials_in_the_body_are_accepted(server: MdNotesServer) -> None:
    form = {**PASSWORD_FORM, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    response = requests.post(f"{server.base_uri}/token", data=form, timeout=5)
    assert response.status_code == 200, response.text


def test_basic_and_body_credentials_together_are_invalid_request(server: MdNotesServer) -> None:
    form = {**PASSWORD_FORM, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    assert_oauth_error(post_token(server, form), 400, "invalid_request")


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        basic(CLIENT_ID, "wrong-secret"),
        basic("other-client", CLIENT_SECRET),
        "Basic !!!not-base64",
        "Bearer x",
    ],
)
def test_missing_or_bad_client_authentication_is_invalid_client(
    server: MdNotesServer, authorization: Optional[str]
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = requests.post(f"{server.base_uri}/token", data=PASSWORD_FORM, headers=headers, timeout=5)

    assert_oauth_error(response, 401, "invalid_client")
    assert response.headers["WWW-Authenticate"] == 'Basic realm="mdnotes"'
    assert server.stats()["failed_token_requests"] == 1


def test_wrong_password_is_invalid_grant(server: MdNotesServer) -> None:
    response = post_token(server, {**PASSWORD_FORM, "password": "nope"})
    assert_oauth_error(response, 400, "invalid_grant")
    assert server.stats()["password_grants"] == 0


def test_unknown_grant_type_is_unsupported_grant_type(server: MdNotesServer) -> None:
    response = post_token(server, {"grant_type": "client_credentials"})
    assert_oauth_error(response, 400, "unsupported_grant_type")


@pytest.mark.parametrize(
    "body, content_type",
    [
        ("username=demo%40example.com&password=demo-password", None),  # no grant_type
        ("grant_type=password&username=demo%40example.com", None),  # no password
        ("grant_type=password&username=demo%40example.com&password=", None),  # empty means omitted
        ("grant_type=refresh_token", None),
        ("grant_type=password&grant_type=password&username=demo%40example.com&password=demo-password", None),
        (json.dumps(PASSWORD_FORM), "application/json"),
    ],
)
def test_malformed_token_requests_are_invalid_request(
    server: MdNotesServer, body: str, content_type: Optional[str]
) -> None:
    headers = {
        "Authorization": basic(),
        "Content-Type": content_type or "application/x-www-form-urlencoded; charset=UTF-8",
    }
    response = requests.post(f"{server.base_uri}/token", data=body, headers=headers, timeout=5)
    assert_oauth_error(response, 400, "invalid_request")


def test_chunked_token_request_is_read(server: MdNotesServer) -> None:
    parts = ["grant_type=password&", f"username={quote_plus(USERNAME)}&", f"password={PASSWORD}"]
    chunks = (part.encode("ascii") for part in parts)  # a generator body makes requests send chunks
    headers = {"Authorization": basic(), "Content-Type": "application/x-www-form-urlencoded"}
    response = requests.post(f"{server.base_uri}/token", data=chunks, headers=headers, timeout=5)
    assert response.status_code == 200, response.text


def test_refresh_rotates_and_reuse_revokes_the_whole_family(server: MdNotesServer) -> None:
    first = password_grant(server)
    other_family = password_grant(server)

    rotated = refresh(server, first["refresh_token"])
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["access_token"] not in (first["access_token"], other_family["access_token"])
    assert second["refresh_token"] != first["refresh_token"]
    assert "scope" not in second
    assert get_api(server, "user", second["access_token"]).status_code == 200

    assert_oauth_error(refresh(server, first["refresh_token"]), 400, "invalid_grant")

    # The reuse revoked every descendant of that password grant, and nothing else.
    assert_oauth_error(refresh(server, second["refresh_token"]), 400, "invalid_grant")
    assert get_api(server, "user", second["access_token"]).status_code == 401
    assert get_api(server, "user", first["access_token"]).status_code == 401
    assert get_api(server, "user", other_family["access_token"]).status_code == 200
    assert refresh(server, other_family["refresh_token"]).status_code == 200
    stats = server.stats()
    assert (stats["password_grants"], stats["refresh_grants"], stats["failed_token_requests"]) == (2, 2, 2)
    assert stats["reused_refresh_tokens"] == 1  # the second refresh of the revoked family was unknown, not reused


def test_unknown_refresh_token_is_invalid_grant(server: MdNotesServer) -> None:
    assert_oauth_error(refresh(server, "never-issued"), 400, "invalid_grant")


# -- API endpoints ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["status", "user"])
def test_api_without_token_gets_a_bare_bearer_challenge(server: MdNotesServer, path: str) -> None:
    response = get_api(server, path)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="mdnotes"'
    assert "error" not in response.json()


@pytest.mark.parametrize("path", ["status", "user"])
def test_api_with_unknown_token_gets_invalid_token(server: MdNotesServer, path: str) -> None:
    response = get_api(server, path, "not-a-token")
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="mdnotes", error="invalid_token", error_description="')
    assert response.json()["error"] == "invalid_token"


def test_status_and_user_with_a_token(server: MdNotesServer) -> None:
    token = password_grant(server)["access_token"]

    status = get_api(server, "status", token)
    assert status.status_code == 200
    body = status.json()
    assert {k: body[k] for k in ("app", "moto", "notes", "status")} == {
        "app": "MdNotes",
        "moto": "Notes made simple",
        "notes": 0,
        "status": "ok",
    }
    assert body["users"] == 1 and body["os"] and body["php_version"]
    assert datetime.fromisoformat(body["time"].replace("Z", "+00:00")).utcoffset().total_seconds() == 0

    user = get_api(server, "user", token).json()
    assert (user["id"], user["name"], user["email"]) == (1, "Demo User", USERNAME)
    assert user["created_at"] and user["updated_at"]
    assert server.stats()["api_requests"] == 2


def test_access_token_expires_after_a_fractional_lifetime() -> None:
    with start_server(port=0, token_lifetime=0.5) as srv:
        body = password_grant(srv)
        assert body["expires_in"] == 0.5
        assert get_api(srv, "status", body["access_token"]).status_code == 200

        time.sleep(0.7)

        expired = get_api(srv, "status", body["access_token"])
        assert expired.status_code == 401
        assert 'error="invalid_token"' in expired.headers["WWW-Authenticate"]
        assert "expired" in expired.json()["error_description"]
        renewed = refresh(srv, body["refresh_token"])
        assert renewed.status_code == 200
        assert get_api(srv, "status", renewed.json()["access_token"]).status_code == 200


def test_unknown_path_is_404_and_wrong_method_is_405(server: MdNotesServer) -> None:
    missing = requests.get(f"{server.base_uri}/notes", timeout=5)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"

    wrong = requests.get(f"{server.base_uri}/token", timeout=5)
    assert wrong.status_code == 405 and wrong.headers["Allow"] == "POST"
    assert requests.post(f"{server.base_uri}/status", timeout=5).headers["Allow"] == "GET"


# -- connections and lifecycle ----------------------------------------------------------------


def test_keep_alive_reuses_one_connection_without_nagle_delays(server: MdNotesServer) -> None:
    with requests.Session() as session:
        started = time.monotonic()
        for _ in range(10):
            assert session.get(f"{server.base_uri}/status", timeout=5).status_code == 401
        # With Nagle's algorithm on, each reply would wait ~40 ms for the client's delayed ACK.
        assert time.monotonic() - started < 0.3
    assert server.stats()["connections"] == 1
    assert server.stats()["api_requests"] == 10

    server.reset_stats()
    stats = server.stats()
    assert stats.pop("token_responses") == {}
    assert set(stats.values()) == {0}


def test_concurrent_clients_each_get_their_own_tokens(server: MdNotesServer) -> None:
    with ThreadPoolExecutor(max_workers=20) as pool:
        tokens = list(pool.map(lambda _: password_grant(server)["access_token"], range(20)))

    assert len(set(tokens)) == 20
    stats = server.stats()
    assert (stats["connections"], stats["password_grants"], stats["failed_token_requests"]) == (20, 20, 0)


def test_stop_is_idempotent_and_closes_keep_alive_connections() -> None:
    srv = start_server(port=0)
    with requests.Session() as session:
        assert session.get(f"{srv.base_uri}/status", timeout=5).status_code == 401
        srv.stop()
        srv.stop()
        with pytest.raises(requests.ConnectionError):
            session.get(f"{srv.base_uri}/status", timeout=5)


def test_servers_in_one_process_are_independent() -> None:
    with start_server(port=0) as one, start_server(port=0, enable_faults=True) as two:
        token = password_grant(one)["access_token"]
        two.set_faults(status_503_count=1)

        assert get_api(two, "user", token).status_code == 503
        assert get_api(one, "user", token).status_code == 200
        assert get_api(two, "user", token).status_code == 401
        assert one.stats()["token_requests"] == 1 and two.stats()["token_requests"] == 0


# -- fault injection --------------------------------------------------------------------------


def test_latency_delays_every_request(server: MdNotesServer) -> None:
    server.set_faults(latency=0.3)
    started = time.monotonic()
    assert get_api(server, "status").status_code == 401
    assert time.monotonic() - started >= 0.3

    server.clear_faults()
    started = time.monotonic()
    get_api(server, "status")
    assert time.monotonic() - started < 0.3


def test_503_count_sends_retry_after_then_recovers(server: MdNotesServer) -> None:
    token = password_grant(server)["access_token"]
    server.set_faults(status_503_count=2, retry_after=7)
    assert requests.get(f"{server.base_uri}/notes", timeout=5).status_code == 404  # not a route: no fault

    for _ in range(2):
        response = get_api(server, "status", token)
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "7"
        assert response.json()["error"] == "temporarily_unavailable"
    assert get_api(server, "status", token).status_code == 200


def test_faults_hit_the_token_endpoint_too(server: MdNotesServer) -> None:
    server.set_faults(status_503_count=1)

    response = post_token(server, PASSWORD_FORM)
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    assert post_token(server, PASSWORD_FORM).status_code == 200
    stats = server.stats()
    assert (stats["token_requests"], stats["failed_token_requests"], stats["password_grants"]) == (2, 1, 1)


def test_503_ratio_picks_that_share_of_requests(server: MdNotesServer) -> None:
    server.set_faults(status_503_ratio=1.0, retry_after="Wed, 21 Oct 2015 07:28:00 GMT")
    response = get_api(server, "status")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "Wed, 21 Oct 2015 07:28:00 GMT"

    server.set_faults(status_503_ratio=0.0)
    assert get_api(server, "status").status_code == 401


def test_429_count(server: MdNotesServer) -> None:
    server.set_faults(status_429_count=1, retry_after=2)
    response = get_api(server, "status")
    assert response.status_code == 429 and response.headers["Retry-After"] == "2"
    assert get_api(server, "status").status_code == 401


def test_drop_next_closes_the_connection_without_a_response(server: MdNotesServer) -> None:
    server.set_faults(drop_next=1)

    with pytest.raises(requests.ConnectionError):
        post_token(server, PASSWORD_FORM)
    assert post_token(server, PASSWORD_FORM).status_code == 200
    stats = server.stats()
    assert (stats["token_requests"], stats["failed_token_requests"], stats["connections"]) == (2, 1, 2)


def test_revoke_all_kills_access_tokens_but_not_refresh_tokens(server: MdNotesServer) -> None:
    body = password_grant(server)
    server.set_faults(revoke_all=True)

    revoked = get_api(server, "user", body["access_token"])
    assert revoked.status_code == 401 and revoked.json()["error"] == "invalid_token"
    renewed = refresh(server, body["refresh_token"])
    assert renewed.status_code == 200
    assert get_api(server, "user", renewed.json()["access_token"]).status_code == 200
    assert server.revoke_all_tokens() == 1


@pytest.mark.parametrize(
    "settings, error",
    [
        ({"latency": -1}, ValueError),
        ({"status_503_ratio": 1.5}, ValueError),
        ({"drop_next": 1.5}, TypeError),
        ({"status_429_count": True}, TypeError),
    ],
)
def test_set_faults_rejects_bad_settings(server: MdNotesServer, settings: dict, error: type) -> None:
    with pytest.raises(error):
        server.set_faults(**settings)


# -- admin API --------------------------------------------------------------------------------


@pytest.mark.parametrize("method, path", [("POST", "faults"), ("POST", "reset"), ("GET", "stats"), ("POST", "revoke")])
def test_admin_api_is_404_when_faults_are_disabled(server: MdNotesServer, method: str, path: str) -> None:
    response = requests.request(method, f"{server.url}/_admin/{path}", json={}, timeout=5)
    assert response.status_code == 404


def test_admin_api_controls_faults_stats_and_tokens(fault_server: MdNotesServer) -> None:
    admin = f"{fault_server.url}/_admin"
    token = password_grant(fault_server)["access_token"]

    configured = requests.post(f"{admin}/faults", json={"status_503_count": 1, "retry_after": 3}, timeout=5)
    assert configured.status_code == 200
    assert configured.json()["faults"]["status_503_count"] == 1
    # Admin requests are exempt from faults: the 503 is still waiting for the next API call.
    assert requests.get(f"{admin}/stats", timeout=5).json()["token_requests"] == 1
    assert get_api(fault_server, "user", token).headers["Retry-After"] == "3"

    assert requests.post(f"{admin}/revoke", timeout=5).json() == {"revoked": 1}
    assert get_api(fault_server, "user", token).status_code == 401

    requests.post(f"{admin}/faults", json={"status_429_count": 5}, timeout=5)
    assert requests.post(f"{admin}/reset", timeout=5).status_code == 200
    assert get_api(fault_server, "status").status_code == 401
    assert fault_server.stats()["api_requests"] == 1


@pytest.mark.parametrize("body", ["not json", "[1]", json.dumps({"bogus": 1}), json.dumps({"latency": -1})])
def test_admin_faults_rejects_bad_bodies(fault_server: MdNotesServer, body: str) -> None:
    response = requests.post(f"{fault_server.url}/_admin/faults", data=body, timeout=5)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_admin_wrong_method_is_405(fault_server: MdNotesServer) -> None:
    assert requests.get(f"{fault_server.url}/_admin/faults", timeout=5).status_code == 405


def test_admin_api_refuses_clients_that_are_not_loopback(fault_server: MdNotesServer, monkeypatch) -> None:
    # Only loopback traffic is allowed in tests, so the remote client is simulated: the server's own
    # check is made to see the (real, loopback) caller as remote.
    monkeypatch.setattr(handler_module, "is_loopback", lambda address: False)
    assert requests.get(f"{fault_server.url}/_admin/stats", timeout=5).status_code == 403
    monkeypatch.undo()
    assert requests.get(f"{fault_server.url}/_admin/stats", timeout=5).status_code == 200


@pytest.mark.parametrize(
    "address, expected",
    [
        ("127.0.0.1", True),
        ("127.8.9.1", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("192.0.2.2", False),
        ("::ffff:192.0.2.2", False),
        ("fd00::2", False),
        ("garbage", False),
    ],
)
def test_is_loopback(address: str, expected: bool) -> None:
    assert is_loopback(address) is expected


# -- command line -----------------------------------------------------------------------------


def _read_line(stream, timeout: float) -> str:
    ready, _, _ = select.select([stream], [], [], timeout)
    assert ready, "the server printed nothing in time"
    return stream.readline()


def test_command_line_prints_listening_line_serves_and_stops_on_sigterm() -> None:
    env = {**os.environ, "MDNOTES_CLIENT_ID": "env-client", "MDNOTES_CLIENT_SECRET": "env-secret"}
    process = subprocess.Popen(
        [sys.executable, "-m", "mdnotes_server", "--port", "0", "--client-secret", "flag-secret"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = _read_line(process.stdout, timeout=5).rstrip("\n")
        prefix = "MdNotes reference server listening on http://127.0.0.1:"
        assert first.startswith(prefix), first
        port = int(first[len(prefix) :])
        # It binds 127.0.0.1 but announces the host name of the SDK's default base_uri. The banner
        # is written at once, so the lines after the first are in the pipe's buffer already.
        default_line = process.stdout.readline()
        auth_line = process.stdout.readline()
        assert default_line == f"  DEFAULT server: http://localhost:{port}/oauth2/non-auth-server\n"
        assert auth_line == f"  AUTH server:    http://localhost:{port}/oauth2/auth-server\n"

        # The environment sets the client id, the flag beats the environment for the secret.
        response = requests.post(
            f"http://localhost:{port}/oauth2/non-auth-server/token",
            data=PASSWORD_FORM,
            headers={"Authorization": basic("env-client", "flag-secret")},
            timeout=5,
        )
        assert response.status_code == 200, response.text
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        process.stdout.close()
        stderr = process.stderr.read()
        process.stderr.close()
    assert process.returncode == 0, stderr
    assert stderr == ""


def test_banner_at_the_default_port_names_exactly_the_sdk_default_base_uri() -> None:
    server = MdNotesServer(port=3000)  # not started: port is the configured one

    lines = banner(server)
    assert lines[0] == "MdNotes reference server listening on http://127.0.0.1:3000"
    assert lines[1] == f"  DEFAULT server: {Configuration().get_base_uri()}"
    assert Configuration().get_base_uri() == "http://localhost:3000/oauth2/non-auth-server"
    assert lines[2] == "  AUTH server:    http://localhost:3000/oauth2/auth-server"
    assert "  Lockout: off" in lines
    assert server.base_uri == "http://127.0.0.1:3000/oauth2/non-auth-server"  # what tests connect to


@pytest.mark.parametrize(
    "host, expected",
    [
        ("127.0.0.1", "http://localhost:3000"),
        ("::1", "http://localhost:3000"),
        ("localhost", "http://localhost:3000"),
        # "localhost" would not reach these.
        ("127.0.0.2", "http://127.0.0.2:3000"),
        ("0.0.0.0", "http://0.0.0.0:3000"),
        ("192.0.2.7", "http://192.0.2.7:3000"),
        ("fd00::2", "http://[fd00::2]:3000"),
    ],
)
def test_client_url_is_localhost_only_for_the_addresses_localhost_reaches(host: str, expected: str) -> None:
    assert client_url(MdNotesServer(host=host, port=3000)) == expected


def test_banner_of_a_started_server_names_its_port_and_lockout() -> None:
    with MdNotesServer(lockout_threshold=5, lockout_period=2.5) as server:
        lines = banner(server)
    assert lines[1] == f"  DEFAULT server: http://localhost:{server.port}/oauth2/non-auth-server"
    assert "  Lockout: an account or the client is locked for 2.5 s after 5 failures within 2.5 s" in lines
