"""Account and client lockout in the reference server, and the counters that show it (plain HTTP)."""

import time
from collections.abc import Iterator

import pytest
import requests

from mdnotesropcgwithoutauthscopes.testing import MdNotesServer, ServerConfig, ServerUser, start_server
from mdnotesropcgwithoutauthscopes.testing.server.command import build_parser, resolve_config
from mdnotesropcgwithoutauthscopes.testing.server.state import FailureLockout
from tests.server.test_reference_server import (
    CLIENT_ID,
    PASSWORD_FORM,
    USERNAME,
    assert_oauth_error,
    basic,
    get_api,
    password_grant,
    post_token,
    refresh,
)

WRONG_PASSWORD = {**PASSWORD_FORM, "password": "wrong-password"}


@pytest.fixture
def server() -> Iterator[MdNotesServer]:
    with start_server(port=0) as srv:
        yield srv


@pytest.fixture
def locking() -> Iterator[MdNotesServer]:
    with start_server(port=0, lockout_threshold=3, lockout_period=30, enable_faults=True) as srv:
        yield srv


def wrong_password(srv: MdNotesServer, times: int = 1) -> None:
    for _ in range(times):
        response = post_token(srv, WRONG_PASSWORD)
        assert_oauth_error(response, 400, "invalid_grant")
        assert response.json()["error_description"] == "The username or password is wrong"


def assert_account_locked(response: requests.Response) -> None:
    assert_oauth_error(response, 400, "invalid_grant")
    assert response.json()["error_description"] == "account is locked"


def assert_client_locked(response: requests.Response) -> None:
    assert_oauth_error(response, 401, "invalid_client")
    assert response.json()["error_description"] == "client is locked"
    assert response.headers["WWW-Authenticate"] == 'Basic realm="mdnotes"'


def counters(srv: MdNotesServer, *names: str) -> tuple[object, ...]:
    stats = srv.stats()
    return tuple(stats[name] for name in names)


# -- accounts -----------------------------------------------------------------------------------


def test_n_wrong_passwords_lock_the_account_and_the_right_password_is_refused_too(locking: MdNotesServer) -> None:
    body = password_grant(locking)
    wrong_password(locking, 3)

    assert_account_locked(post_token(locking, PASSWORD_FORM))
    assert_account_locked(post_token(locking, WRONG_PASSWORD))
    assert locking.locked_accounts() == (USERNAME,)
    assert locking.locked_clients() == ()
    # Only the password grant is locked: tokens issued before keep working, and so does refresh.
    assert get_api(locking, "user", body["access_token"]).status_code == 200
    assert refresh(locking, body["refresh_token"]).status_code == 200

    stats = locking.stats()
    assert {name: stats[name] for name in stats if "lock" in name or "refused" in name or "password" in name} == {
        "password_grant_requests": 6,
        "password_grants": 1,
        "refused_password_grants": 5,
        "account_lockouts": 1,
        "locked_account_refusals": 2,
        "client_lockouts": 0,
        "locked_client_refusals": 0,
    }
    assert (stats["failed_token_requests"], stats["client_authentication_failures"]) == (5, 0)
    assert stats["token_responses"] == {"password": {"200": 1, "400": 5}, "refresh_token": {"200": 1}}


def test_another_account_is_not_locked_with_the_first() -> None:
    bob = ServerUser("bob@example.com", "bob-password")
    with MdNotesServer(users=[bob], lockout_threshold=2) as srv:
        wrong_password(srv, 2)
        assert_account_locked(post_token(srv, PASSWORD_FORM))
        assert post_token(srv, {**PASSWORD_FORM, "username": bob.username, "password": bob.password}).status_code == 200
        assert srv.locked_accounts() == (USERNAME,)


def test_the_lock_ends_after_the_period() -> None:
    with MdNotesServer(lockout_threshold=2, lockout_period=1) as srv:
        wrong_password(srv, 2)
        locked_at = time.monotonic()
        assert_account_locked(post_token(srv, PASSWORD_FORM))

        time.sleep(max(0.0, locked_at + 1.05 - time.monotonic()))
        assert srv.locked_accounts() == ()
        password_grant(srv)
        # The lock took the failures with it: one more wrong password does not lock again.
        wrong_password(srv)
        password_grant(srv)
        assert counters(srv, "account_lockouts", "locked_account_refusals", "refused_password_grants") == (1, 1, 4)


def test_a_right_password_forgets_the_failures_before_it(locking: MdNotesServer) -> None:
    wrong_password(locking, 2)
    password_grant(locking)
    wrong_password(locking, 2)

    password_grant(locking)
    assert counters(locking, "account_lockouts", "refused_password_grants", "password_grants") == (0, 4, 2)


def test_unknown_usernames_are_never_locked() -> None:
    with MdNotesServer(lockout_threshold=1) as srv:
        for _ in range(3):
            response = post_token(srv, {**WRONG_PASSWORD, "username": "nobody@example.com"})
            assert response.json()["error_description"] == "The username or password is wrong"
        assert srv.locked_accounts() == ()
        assert counters(srv, "account_lockouts", "refused_password_grants") == (0, 3)


def test_lockout_is_off_by_default(server: MdNotesServer) -> None:
    assert (server.config.lockout_threshold, server.config.lockout_period) == (0, 60.0)
    wrong_password(server, 25)

    password_grant(server)
    assert counters(server, "account_lockouts", "refused_password_grants", "locked_account_refusals") == (0, 25, 0)


# -- the client ---------------------------------------------------------------------------------


def test_n_wrong_client_secrets_lock_the_client_and_the_right_secret_is_refused_too() -> None:
    with MdNotesServer(lockout_threshold=2, lockout_period=30) as srv:
        for _ in range(2):
            response = post_token(srv, PASSWORD_FORM, authorization=basic(CLIENT_ID, "wrong-secret"))
            assert response.json()["error_description"] == "Client authentication failed"

        assert_client_locked(post_token(srv, PASSWORD_FORM))
        assert_client_locked(post_token(srv, PASSWORD_FORM, authorization=basic(CLIENT_ID, "wrong-secret")))
        assert srv.locked_clients() == (CLIENT_ID,)
        # Client failures are not password failures: the account is not locked.
        assert srv.locked_accounts() == ()
        stats = srv.stats()
    assert (stats["client_authentication_failures"], stats["client_lockouts"], stats["locked_client_refusals"]) == (
        4,
        1,
        2,
    )
    assert (stats["refused_password_grants"], stats["account_lockouts"], stats["password_grants"]) == (0, 0, 0)
    assert stats["token_responses"] == {"password": {"401": 4}}


def test_client_lock_ends_after_the_period() -> None:
    with MdNotesServer(lockout_threshold=1, lockout_period=0.5) as srv:
        post_token(srv, PASSWORD_FORM, authorization=basic(CLIENT_ID, "wrong-secret"))
        assert_client_locked(post_token(srv, PASSWORD_FORM))
        time.sleep(0.55)
        password_grant(srv)
        assert srv.locked_clients() == ()


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": basic("other-client", "wrong-secret")}, {"Authorization": "Basic !!!"}],
)
def test_requests_that_do_not_name_the_client_do_not_lock_it(headers: dict[str, str]) -> None:
    with MdNotesServer(lockout_threshold=1) as srv:
        for _ in range(2):
            response = requests.post(f"{srv.base_uri}/token", data=PASSWORD_FORM, headers=headers, timeout=5)
            assert_oauth_error(response, 401, "invalid_client")
        password_grant(srv)
        assert counters(srv, "client_authentication_failures", "client_lockouts") == (2, 0)


def test_body_credentials_count_towards_the_client_lock() -> None:
    with MdNotesServer(lockout_threshold=1) as srv:
        form = {**PASSWORD_FORM, "client_id": CLIENT_ID, "client_secret": "wrong-secret"}
        requests.post(f"{srv.base_uri}/token", data=form, timeout=5)
        assert srv.locked_clients() == (CLIENT_ID,)


# -- control: Python and admin HTTP -------------------------------------------------------------


def test_reset_lockouts_unlocks_accounts_and_clients(locking: MdNotesServer) -> None:
    wrong_password(locking, 3)
    for _ in range(3):
        post_token(locking, PASSWORD_FORM, authorization=basic(CLIENT_ID, "wrong-secret"))
    assert (locking.locked_accounts(), locking.locked_clients()) == ((USERNAME,), (CLIENT_ID,))

    locking.reset_stats()  # counters only
    assert locking.locked_accounts() == (USERNAME,)
    locking.reset_lockouts()
    assert (locking.locked_accounts(), locking.locked_clients()) == ((), ())
    password_grant(locking)


def test_admin_api_shows_lockouts_and_reset_clears_them(locking: MdNotesServer) -> None:
    admin = f"{locking.url}/_admin"
    wrong_password(locking, 3)
    for _ in range(3):
        post_token(locking, PASSWORD_FORM, authorization=basic(CLIENT_ID, "wrong-secret"))

    lockouts = requests.get(f"{admin}/lockouts", timeout=5)
    assert lockouts.status_code == 200
    assert lockouts.json() == {"locked_accounts": [USERNAME], "locked_clients": [CLIENT_ID]}
    stats = requests.get(f"{admin}/stats", timeout=5).json()
    assert stats == locking.stats()
    assert {name: stats[name] for name in ("account_lockouts", "client_lockouts", "refused_password_grants")} == {
        "account_lockouts": 1,
        "client_lockouts": 1,
        "refused_password_grants": 3,
    }
    assert stats["token_responses"] == {"password": {"400": 3, "401": 3}}

    assert requests.post(f"{admin}/reset", timeout=5).json() == {"status": "ok"}
    assert requests.get(f"{admin}/lockouts", timeout=5).json() == {"locked_accounts": [], "locked_clients": []}
    password_grant(locking)
    assert requests.get(f"{admin}/stats", timeout=5).json()["token_responses"] == {"password": {"200": 1}}
    assert requests.post(f"{admin}/lockouts", timeout=5).status_code == 405


def test_admin_lockouts_is_404_without_enable_faults(server: MdNotesServer) -> None:
    assert requests.get(f"{server.url}/_admin/lockouts", timeout=5).status_code == 404


@pytest.mark.parametrize(
    "settings, error",
    [
        ({"lockout_threshold": -1}, ValueError),
        ({"lockout_threshold": True}, TypeError),
        ({"lockout_threshold": 2.0}, TypeError),
        ({"lockout_period": 0}, ValueError),
        ({"lockout_period": float("inf")}, ValueError),
        ({"lockout_period": "60"}, TypeError),
    ],
)
def test_bad_lockout_settings_are_refused(settings: dict[str, object], error: type) -> None:
    with pytest.raises(error):
        MdNotesServer(**settings)
    with pytest.raises(error):
        ServerConfig(**settings)


def test_command_line_lockout_flags() -> None:
    parser = build_parser()
    config = resolve_config(parser.parse_args(["--lockout-threshold", "5", "--lockout-period", "2.5"]), {}, parser)
    assert (config.lockout_threshold, config.lockout_period) == (5, 2.5)
    default = resolve_config(parser.parse_args([]), {}, parser)
    assert (default.lockout_threshold, default.lockout_period) == (0, 60.0)
    for bad in (["--lockout-threshold", "-1"], ["--lockout-threshold", "x"], ["--lockout-period", "0"]):
        with pytest.raises(SystemExit):
            parser.parse_args(bad)


# -- the lockout rules, on a clock the test moves -----------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failures_older_than_the_period_are_forgotten() -> None:
    clock = FakeClock()
    lockout = FailureLockout(3, 10, clock)
    assert lockout.record_failure("a") is False
    clock.now += 6
    assert lockout.record_failure("a") is False
    clock.now += 6  # the first failure is 12 s old now
    assert lockout.record_failure("a") is False
    assert not lockout.is_locked("a")
    assert lockout.record_failure("a") is True  # three within 10 s
    assert lockout.locked() == ("a",)


def test_a_lock_lasts_the_period_and_failures_while_locked_do_not_extend_it() -> None:
    clock = FakeClock()
    lockout = FailureLockout(1, 10, clock)
    assert lockout.record_failure("a") is True
    clock.now += 9.9
    assert lockout.record_failure("a") is False
    assert lockout.is_locked("a")
    clock.now += 0.1
    assert not lockout.is_locked("a") and lockout.locked() == ()
    lockout.record_success("a")
    assert lockout.record_failure("b") is True and lockout.locked() == ("b",)


def test_threshold_zero_never_locks() -> None:
    lockout = FailureLockout(0, 10)
    assert not any(lockout.record_failure("a") for _ in range(100))
    assert lockout.locked() == ()


# -- other counters -----------------------------------------------------------------------------


def test_expired_access_tokens_presented_are_counted(server: MdNotesServer) -> None:
    body = password_grant(server)
    get_api(server, "user", body["access_token"])
    get_api(server, "user", "not-a-token")
    server.expire_all_tokens()

    for path in ("user", "status"):
        response = get_api(server, path, body["access_token"])
        assert response.status_code == 401 and response.json()["error_description"] == "The access token expired"
    assert counters(server, "expired_access_tokens", "api_requests") == (2, 4)


def test_reused_refresh_tokens_are_counted(server: MdNotesServer) -> None:
    body = password_grant(server)
    assert refresh(server, body["refresh_token"]).status_code == 200
    assert refresh(server, body["refresh_token"]).status_code == 400
    assert counters(server, "reused_refresh_tokens", "refresh_grants", "refresh_grant_requests") == (1, 1, 2)
    assert server.stats()["token_responses"]["refresh_token"] == {"200": 1, "400": 1}
