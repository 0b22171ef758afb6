"""Where the renewal window opens (``Timing.state``): never so that a new token is due as it arrives."""

import math

import pytest

from mdnotesropcgwithoutauthscopes.http.auth.token_state import Phase, Timing, stamped
from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken


def arrived(lifetime, sent_at):
    token = OAuthToken(access_token="a", token_type="Bearer", expires_in=lifetime)
    token.expiry = stamped(token, sent_at)
    return token


@pytest.mark.parametrize("sent_at", [1000.0, 1000.4, 1000.99])
def test_a_6_s_token_is_renewed_at_half_life(sent_at):
    state = Timing(0, None).state(arrived(6, sent_at), sent_at)
    expiry = math.floor(sent_at + 6)
    assert (state.deadline, state.renew_at) == (expiry, expiry - 3)
    assert state.phase(sent_at) is Phase.FRESH


# A skew takes up to half of a token of under 2 s whose expiry lost up to 1 s to rounding: such a
# token may be born expired, so those pairs are left out rather than skipped.
CASES = [
    (lifetime, skew)
    for lifetime in (1, 1.5, 2, 3, 60, 3600)
    for skew in (0, 1, 30, 10_000)
    if not (skew and lifetime < 2)
]


@pytest.mark.parametrize(("lifetime", "skew"), CASES)
@pytest.mark.parametrize("fraction", [0.0, 0.3, 0.6, 0.99])
def test_a_new_token_is_never_due_as_it_arrives(lifetime, fraction, skew):
    sent_at = 1000 + fraction
    state = Timing(skew, None).state(arrived(lifetime, sent_at), sent_at)
    assert state.phase(sent_at) is Phase.FRESH
    if state.renew_at is not None:  # and a renewal in the window gets a later expiry
        assert math.floor(state.renew_at + lifetime) > arrived(lifetime, sent_at).expiry


def test_a_skew_of_half_the_lifetime_leaves_half_the_usable_life_as_window():
    state = Timing(60, None).state(arrived(120, 1000.0), 1000.0)
    assert (state.deadline, state.renew_at) == (1060.0, 1030.0)


def test_a_1_s_token_is_not_renewed_early_a_1_5_s_token_once_its_successor_lasts_longer():
    assert Timing(0, None).state(arrived(1, 1000.6), 1000.6).renew_at is None
    assert Timing(0, None).state(arrived(1.5, 1000.6), 1000.6).renew_at == 1001.5
