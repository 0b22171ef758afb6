"""Faults that hit only the token endpoint (for fault soaks of token renewal), and their counters."""

import time
from collections.abc import Callable, Iterator

import pytest
import requests

from mdnotesropcgwithoutauthscopes.testing import FaultSettings, MdNotesServer, start_server
from tests.server.test_reference_server import PASSWORD_FORM, get_api, password_grant, post_token


@pytest.fixture
def server() -> Iterator[MdNotesServer]:
    with start_server(port=0, enable_faults=True) as srv:
        yield srv


def timed(call: Callable[[], requests.Response]) -> tuple[requests.Response, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_token_503_for_answers_every_token_request_503_for_that_long_and_spares_the_api(
    server: MdNotesServer,
) -> None:
    token = password_grant(server)["access_token"]
    server.set_faults(token_503_for=1.0, retry_after=0)
    until = time.monotonic() + 1.0

    for _ in range(3):
        response = post_token(server, PASSWORD_FORM)
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "0"
        assert response.json()["error"] == "temporarily_unavailable"
        assert get_api(server, "user", token).status_code == 200
    time.sleep(max(0.0, until + 0.05 - time.monotonic()))
    password_grant(server)

    stats = server.stats()
    assert (stats["injected_token_503s"], stats["failed_token_requests"], stats["password_grants"]) == (3, 3, 2)
    assert stats["token_responses"] == {"password": {"200": 2, "503": 3}}
    assert (stats["api_requests"], stats["user_requests"]) == (3, 3)


def test_token_delay_delays_only_the_next_k_token_requests(server: MdNotesServer) -> None:
    token = password_grant(server)["access_token"]
    server.set_faults(token_delay=0.3, token_delay_count=2)

    response, elapsed = timed(lambda: get_api(server, "status", token))
    assert response.status_code == 200 and elapsed < 0.25
    for _ in range(2):
        response, elapsed = timed(lambda: post_token(server, PASSWORD_FORM))
        assert response.status_code == 200 and elapsed >= 0.3
    response, elapsed = timed(lambda: post_token(server, PASSWORD_FORM))
    assert response.status_code == 200 and elapsed < 0.25

    stats = server.stats()
    assert (stats["delayed_token_requests"], stats["password_grants"], stats["injected_token_503s"]) == (2, 4, 0)


def test_token_faults_combine_a_delay_with_a_503_burst(server: MdNotesServer) -> None:
    server.set_faults(token_503_for=5, retry_after=0, token_delay=0.2, token_delay_count=1)

    response, elapsed = timed(lambda: post_token(server, PASSWORD_FORM))
    assert response.status_code == 503 and elapsed >= 0.2
    server.clear_faults()
    password_grant(server)
    stats = server.stats()
    assert (stats["delayed_token_requests"], stats["injected_token_503s"]) == (1, 1)


def test_admin_faults_sets_the_token_faults(server: MdNotesServer) -> None:
    admin = f"{server.url}/_admin"
    body = {"token_503_for": 30, "retry_after": 0, "token_delay": 0.1, "token_delay_count": 1}
    configured = requests.post(f"{admin}/faults", json=body, timeout=5)

    assert configured.status_code == 200
    assert {name: configured.json()["faults"][name] for name in body} == body
    assert post_token(server, PASSWORD_FORM).headers["Retry-After"] == "0"
    assert requests.get(f"{admin}/stats", timeout=5).json()["injected_token_503s"] == 1

    assert requests.post(f"{admin}/reset", timeout=5).status_code == 200
    password_grant(server)
    assert requests.get(f"{admin}/stats", timeout=5).json()["injected_token_503s"] == 0


def test_token_503_window_starts_when_a_server_is_created_with_it() -> None:
    with MdNotesServer(faults=FaultSettings(token_503_for=30, retry_after=0)) as srv:
        assert post_token(srv, PASSWORD_FORM).status_code == 503
        assert get_api(srv, "status").status_code == 401  # the API answers as usual


def test_counted_faults_on_the_token_endpoint_are_counted(server: MdNotesServer) -> None:
    server.set_faults(drop_next=1, status_503_count=1, status_429_count=1, latency=0.01)
    with pytest.raises(requests.ConnectionError):
        post_token(server, PASSWORD_FORM)
    assert post_token(server, PASSWORD_FORM).status_code == 503
    assert post_token(server, PASSWORD_FORM).status_code == 429
    assert get_api(server, "status").status_code == 401  # API requests are not token faults
    password_grant(server)

    stats = server.stats()
    assert (stats["dropped_token_requests"], stats["injected_token_503s"], stats["injected_token_429s"]) == (1, 1, 1)
    assert stats["delayed_token_requests"] == 4
    assert stats["token_responses"] == {"password": {"dropped": 1, "503": 1, "429": 1, "200": 1}}


@pytest.mark.parametrize(
    "settings, error",
    [
        ({"token_503_for": -1}, ValueError),
        ({"token_delay": 0.5}, ValueError),  # without token_delay_count
        ({"token_delay_count": 2}, ValueError),  # without token_delay
        ({"token_delay": 0.5, "token_delay_count": 1.5}, TypeError),
        ({"token_503_for": "soon"}, TypeError),
    ],
)
def test_bad_token_fault_settings_are_refused(server: MdNotesServer, settings: dict[str, object], error: type) -> None:
    with pytest.raises(error):
        server.set_faults(**settings)
    response = requests.post(f"{server.url}/_admin/faults", json=settings, timeout=5)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
