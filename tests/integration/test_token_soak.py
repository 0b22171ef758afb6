"""A 60 s fault soak of token renewal (``benchmarks/soak.py`` runs the long one): 3 processes x 4 clients.

One SQLiteTokenStore, 6 s tokens, a fault every 5 to 8 s, alternating a 1.5 s burst of 503
(``Retry-After: 0``) on token requests and 3 token requests delayed 1 s. With the default renewal
window (half the lifetime) an outage this short fails no call and lets no expired token through.
"""

import signal
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import soak  # noqa: E402 - benchmarks/ is not a package

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX processes (fork)")

SECONDS = 60.0
LIFETIME = 6.0


def test_a_fleet_rides_out_a_minute_of_token_endpoint_faults(tmp_path):
    result = soak.run_soak(
        SECONDS, processes=3, clients=4, lifetime=LIFETIME, fault_every=(5.0, 8.0), store_dir=str(tmp_path)
    )

    assert result["exit_codes"] == [0, 0, 0]
    assert result["faults"] >= 7 and result["bursts"] >= 3 and result["delays"] >= 3, result
    assert result["failures"] == [] and result["failed_calls"] == 0
    assert result["calls"] > 1000
    assert result["expired_access_tokens"] == 0
    assert result["reused_refresh_tokens"] == 0
    assert result["password_grants"] == 1
    assert result["token_requests"] <= SECONDS / (LIFETIME / 2) + 1 + 3 * result["faults"], result
    # Every token request is one this fleet sent: a 503, or a token some process got and shared.
    assert result["token_requests"] == result["token_503s"] + result["obtained"]
    assert result["delayed_token_requests"] >= 1
