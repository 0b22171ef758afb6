"""Call latency across many token lifetimes with a slow token endpoint, early renewal on and off.

Run from the repository root::

    .venv/bin/python benchmarks/expiry.py            # 16 threads, 15 s per mode, 3 s tokens
    .venv/bin/python benchmarks/expiry.py --quick    # 8 threads, 6 s per mode

The reference server runs in this process on 127.0.0.1 with tokens that live ``--lifetime``
seconds. Every token request takes ``--token-latency`` seconds longer than it would (a wrapper
around the SDK's ``RequestsClient`` waits before sending it), while API calls stay fast. Each mode
runs ``--threads`` threads calling ``client.service.get_status()`` in a loop for ``--seconds``
and prints the call latencies (p50, p99, max), the token requests the server counted, and the
401 answers (a token the server had already expired).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from typing import Optional

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from mdnotes_server import start_server  # noqa: E402
from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import ResourceOwnerAuthCredentials  # noqa: E402
from mdnotesropcgwithoutauthscopes.http.http_client import HttpClient  # noqa: E402
from mdnotesropcgwithoutauthscopes.http.http_request import HttpRequest  # noqa: E402
from mdnotesropcgwithoutauthscopes.http.http_response import HttpResponse  # noqa: E402
from mdnotesropcgwithoutauthscopes.http.requests_client import RequestsClient  # noqa: E402
from mdnotesropcgwithoutauthscopes.mdnotesropcgwithoutauthscopes_client import (  # noqa: E402
    MdnotesropcgwithoutauthscopesClient,
)

DEMO = {"client_id": "bench-client", "client_secret": "bench-secret", "username": "bench@example.com"}
DEMO_PASSWORD = "bench-password"


class SlowTokenEndpoint(HttpClient):
    """Sends through a ``RequestsClient``, waiting ``delay`` seconds before each token request."""

    def __init__(self, delay: float) -> None:
        self._inner = RequestsClient()
        self._delay = delay
        self.unauthorized = 0
        self._lock = threading.Lock()

    def execute(self, request: HttpRequest, *, timeout: Optional[float] = None) -> HttpResponse:
        if request.query_url.endswith("/token"):
            time.sleep(self._delay)
        response = self._inner.execute(request, timeout=timeout)
        if response.status_code == 401 and not request.query_url.endswith("/token"):
            with self._lock:
                self.unauthorized += 1
        return response

    def close(self) -> None:
        self._inner.close()


def run(window: Optional[float], args: argparse.Namespace) -> dict[str, float]:
    """One mode: returns the latency percentiles in ms and the counts."""
    server = start_server(port=0, token_lifetime=args.lifetime, password=DEMO_PASSWORD, **DEMO)
    transport = SlowTokenEndpoint(args.token_latency)
    credentials = ResourceOwnerAuthCredentials(
        o_auth_client_id=DEMO["client_id"],
        o_auth_client_secret=DEMO["client_secret"],
        o_auth_username=DEMO["username"],
        o_auth_password=DEMO_PASSWORD,
        o_auth_refresh_window=window,
    )
    client = MdnotesropcgwithoutauthscopesClient(
        base_uri=server.base_uri, http_client_instance=transport, resource_owner_auth_credentials=credentials
    )
    client.service.get_status()  # the first token: its wait is not part of the comparison
    server.reset_stats()
    latencies: list[float] = []
    failures: list[BaseException] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + args.seconds

    def worker() -> None:
        mine = []
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                client.service.get_status()
            except Exception as exc:  # noqa: BLE001 - counted and reported
                failures.append(exc)
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(args.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats = server.stats()
    client.close()
    server.stop()
    latencies.sort()
    return {
        "calls": len(latencies),
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "max_ms": latencies[-1] * 1000,
        "token_requests": stats["token_requests"],
        "expiry_windows": args.seconds / args.lifetime,
        "unauthorized": transport.unauthorized,
        "failures": len(failures),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--lifetime", type=float, default=3.0, help="token lifetime in seconds")
    parser.add_argument("--token-latency", type=float, default=0.5, help="extra seconds per token request")
    parser.add_argument("--quick", action="store_true", help="8 threads, 6 s per mode")
    args = parser.parse_args()
    if args.quick:
        args.threads, args.seconds = 8, 6.0
    print(
        f"{args.threads} threads x {args.seconds:.0f} s per mode, {args.lifetime:g} s tokens, "
        f"token endpoint +{args.token_latency:g} s"
    )
    header = f"{'early renewal':<28}{'calls':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'token req':>11}{'401s':>6}"
    print(header)
    for label, window in (("on (default window)", None), ("off (o_auth_refresh_window=0)", 0.0)):
        r = run(window, args)
        print(
            f"{label:<28}{r['calls']:>8}{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}{r['max_ms']:>9.1f}"
            f"{r['token_requests']:>11}{r['unauthorized']:>6}"
            + (f"  ({r['failures']} failed calls)" if r["failures"] else "")
        )
    print(f"expiry windows per mode: {args.seconds / args.lifetime:.1f}")


if __name__ == "__main__":
    main()
