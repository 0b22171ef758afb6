"""The outage backoff (API.md section 9): a failing token endpoint is probed by one party per step.

The first step is 0.5 s and the second 1 s, each with +-25 % jitter, so during a 1 s burst of 503s
a sign-in sends exactly 3 token requests (at 0, about 0.5 and about 1.5 s): the counts below are
exact whatever the jitter draws.
"""

import threading
import time

from mdnotesropcgwithoutauthscopes import ServerErrorException
from tests.helpers.integration import client_for


def run_threads(target, threads):
    results, lock = [], threading.Lock()

    def run():
        started = time.monotonic()
        try:
            outcome = target()
        except Exception as exc:  # noqa: BLE001 - collected for the assertions
            outcome = exc
        with lock:
            results.append((outcome, time.monotonic() - started))

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return results


def test_16_threads_signing_in_during_a_1_s_burst_wait_for_the_next_try_and_one_probes(start):
    server = start(token_lifetime=3600)
    client = client_for(server, timeout=10)
    server.set_faults(token_503_for=1.0, retry_after=0)

    results = run_threads(lambda: client.service.get_status().status, 16)

    assert [outcome for outcome, _ in results] == ["ok"] * 16
    assert max(elapsed for _, elapsed in results) >= 1.0
    stats = server.stats()
    assert (stats["token_requests"], stats["injected_token_503s"], stats["password_grants"]) == (3, 2, 1)
    assert stats["token_responses"] == {"password": {"503": 2, "200": 1}}
    client.close()


def test_a_next_try_beyond_the_call_timeout_fails_the_calls_at_once_with_the_503(start):
    server = start(token_lifetime=3600)
    client = client_for(server, timeout=0.3)  # the next try is 0.375 s or more away
    server.set_faults(token_503_for=5.0, retry_after=0)

    results = run_threads(client.service.get_status, 16)

    for outcome, elapsed in results:
        assert isinstance(outcome, ServerErrorException) and outcome.response_code == 503, outcome
        assert elapsed < 0.3
    assert (server.stats()["token_requests"], server.stats()["injected_token_503s"]) == (1, 1)
    # The next call within the backoff sends nothing either.
    started = time.monotonic()
    outcome = run_threads(client.service.get_status, 1)[0][0]
    assert isinstance(outcome, ServerErrorException) and time.monotonic() - started < 0.3
    assert server.stats()["token_requests"] == 1
    client.close()


def test_retry_after_is_honoured(start):
    server = start(token_lifetime=3600)
    client = client_for(server, timeout=10)
    server.set_faults(token_503_for=3.0, retry_after=2)

    started = time.monotonic()
    assert client.service.get_status().status

    assert time.monotonic() - started >= 4.0  # 503 at 0 and at 2 s (Retry-After: 2), then 200 at 4 s
    stats = server.stats()
    assert (stats["token_requests"], stats["injected_token_503s"], stats["password_grants"]) == (3, 2, 1)
    client.close()


def test_calls_keep_using_a_valid_token_while_its_renewal_backs_off(start):
    """4 s tokens renewed at half-life; a 1 s burst when the window opens: no call fails or waits."""
    server = start(token_lifetime=4)
    client = client_for(server, timeout=10)
    assert client.service.get_status().status
    issued = time.monotonic()
    time.sleep(max(0.0, issued + 1.9 - time.monotonic()))
    server.set_faults(token_503_for=1.0, retry_after=0)
    slowest, calls = 0.0, 0
    while time.monotonic() < issued + 6.0:
        started = time.monotonic()
        assert client.service.get_status().status
        slowest = max(slowest, time.monotonic() - started)
        calls += 1
        time.sleep(0.02)

    assert slowest < 0.5
    stats = server.stats()
    assert stats["expired_access_tokens"] == 0
    assert stats["api_requests"] == calls + 1
    # Probes come within a quarter of the token's remaining life, never closer than 0.2 s apart
    # (guard.OUTAGE_MIN): at most 6 in a 1 s burst, then one renewal.
    assert 1 <= stats["injected_token_503s"] <= 6
    assert stats["token_requests"] == 1 + stats["injected_token_503s"] + stats["refresh_grants"]
    assert stats["password_grants"] == 1 and stats["refresh_grants"] >= 1
    client.close()
