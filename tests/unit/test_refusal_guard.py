"""The hold and backoff decisions of ``http/auth/guard.py``, and ``CredentialsHeldException`` itself (no server)."""

import pickle
import time

import pytest

from mdnotesropcgwithoutauthscopes import CredentialsHeldException, OAuthProviderException
from mdnotesropcgwithoutauthscopes.exceptions.api_connection_exception import APITimeoutException
from mdnotesropcgwithoutauthscopes.http.auth import guard
from mdnotesropcgwithoutauthscopes.http.auth.guard import Hold, Outage, RefusalGuard, next_outage


def held(**changes):
    values = dict(error="invalid_grant", error_description="wrong", refused="grant", refusals=2, retry_at=1e10)
    values.update(changes)
    return CredentialsHeldException(**values)


def test_the_exception_survives_pickling_as_a_worker_process_sends_it():
    exc = held(retry_at=time.time() + 30)
    copy = pickle.loads(pickle.dumps(exc))
    assert type(copy) is CredentialsHeldException and isinstance(copy, OAuthProviderException)
    assert (copy.error, copy.error_description, copy.refused, copy.refusals, copy.retry_at) == (
        exc.error,
        exc.error_description,
        exc.refused,
        exc.refusals,
        exc.retry_at,
    )
    assert str(copy) == str(exc)


def test_the_message_says_when_and_how_to_clear():
    text = str(held(refused="client", error="invalid_client", refusals=1, retry_at=0))
    assert "client credentials" in text and "1970-01-01T00:00:00Z" in text and "clear_hold()" in text
    assert held(retry_at=0).retry_after == 0.0


def test_holds_double_and_stop_at_the_cap():
    credentials = RefusalGuard(("id", "secret", "user", "pw"), hold_max=10.0)
    exc = OAuthProviderException("refused")
    first = credentials.refused(exc, "grant", None, 100.0)
    second = credentials.refused(exc, "grant", first, 200.0)
    third = credentials.refused(exc, "grant", second, 300.0)
    assert (first.until, second.until, third.until) == (103.0, 206.0, 310.0)
    assert (first.refusals, second.refusals, third.refusals) == (1, 2, 3)
    round_of_three = credentials.refused(exc, "client", None, 0.0, requests=3)
    assert (round_of_three.refusals, round_of_three.until) == (3, 10.0)
    assert credentials.applies(first, 102.9) and not credentials.applies(first, 103.0)


def test_a_hold_names_only_its_own_credentials():
    refused = RefusalGuard(("id", "secret", "user", "old"), hold_max=300.0)
    corrected = RefusalGuard(("id", "secret", "user", "new"), hold_max=300.0)
    hold = refused.refused(OAuthProviderException("refused"), "grant", None, 0.0)
    assert refused.applies(hold, 1.0) and not corrected.applies(hold, 1.0)
    assert corrected.refused(OAuthProviderException("refused"), "grant", hold, 1.0).refusals == 1
    assert not RefusalGuard(("id", "secret", "user", "old"), hold_max=0).applies(hold, 1.0)  # 0: off


@pytest.mark.parametrize(
    "record", [None, {}, {"until": "soon"}, {"until": 1, "refusals": 1, "kind": "grant"}, {"next_try": []}]
)
def test_records_that_are_not_holds_or_outages_are_ignored(record):
    assert Hold.from_record(record) is None
    assert Outage.from_record(record) is None


def test_the_outage_backoff_doubles_with_jitter_and_is_capped():
    exc = APITimeoutException("timed out")
    previous = None
    for failures in range(1, 12):
        outage = next_outage(exc, previous, 0.0, None)
        nominal = guard.OUTAGE_FIRST * 2 ** (failures - 1)
        assert outage.failures == failures
        assert min(nominal * 0.75, guard.OUTAGE_MAX) <= outage.next_try <= min(nominal * 1.25, guard.OUTAGE_MAX)
        previous = outage
    assert outage.next_try == guard.OUTAGE_MAX


def test_a_valid_token_brings_the_next_probe_within_a_quarter_of_its_life_left():
    outage = next_outage(APITimeoutException("timed out"), Outage(0.0, 8, "x", None), 100.0, 104.0)
    assert outage.next_try == 101.0  # 64 s nominal, but 4 s of token left
    assert next_outage(APITimeoutException("t"), None, 100.0, 100.1).next_try == 100.0 + guard.OUTAGE_MIN
