"""A fleet of processes sharing one user's token: token requests per expiry window and per process, with and without a store.

Run from the repository root::

    .venv/bin/python benchmarks/fleet.py                  # 4 processes x 4 threads, 2 s tokens, 10 s
    .venv/bin/python benchmarks/fleet.py --quick          # 2 processes, 4 s
    .venv/bin/python benchmarks/fleet.py --processes 8 --seconds 20 --stores none,sqlite

Scenarios (each against a fresh reference server in this process, with refresh-token rotation and
reuse detection, on 127.0.0.1):

* ``none``: no store; each process signs in on its own and refreshes its own token family.
* ``restored``: no store, every process starts from the same saved token (the "store and restore"
  pattern without a lock): they refresh it independently, reuse each other's rotated refresh
  tokens, and the server revokes the family.
* ``sqlite`` / ``redis``: a ``SQLiteTokenStore`` file / a ``RedisTokenStore`` on a redis-server
  started here (skipped when no ``redis-server`` binary exists).

Then the hot path: CPU per ``client.service.get_status()`` with a valid token, without a store and
with one (a stub transport answers without a socket, as in ``bench.py``), and how many times the
store was touched during the timed calls.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path[:0] = [REPO, HERE]

# How early (as a share of the lifetime) a renewal may come and still count in the window it serves.
EARLY_SHARE = 0.25

DEMO = {
    "client_id": "fleet-client",
    "client_secret": "fleet-secret",
    "username": "fleet@example.com",
    "password": "fleet-password",
}


def _credentials(**extra: Any) -> Any:
    from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import ResourceOwnerAuthCredentials

    return ResourceOwnerAuthCredentials(
        o_auth_client_id=DEMO["client_id"],
        o_auth_client_secret=DEMO["client_secret"],
        o_auth_username=DEMO["username"],
        o_auth_password=DEMO["password"],
        **extra,
    )


# ------------------------------------------------------------------------------------- the fleet


def _fleet_process(
    base_uri: str, store: Any, restored: Any, threads: int, seconds: float, go: Any, results: Any
) -> None:
    """One process: ``threads`` threads sharing one client; reports its calls, failures and token times."""
    from mdnotesropcgwithoutauthscopes.mdnotesropcgwithoutauthscopes_client import (
        MdnotesropcgwithoutauthscopesClient,
    )
    from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken

    obtained: list[float] = []
    extra: dict[str, Any] = {"o_auth_on_token_update": lambda token: obtained.append(time.time())}
    if store is not None:
        extra["o_auth_token_store"] = store
    if restored is not None:
        extra["o_auth_token"] = OAuthToken.from_dictionary(restored)
    client = MdnotesropcgwithoutauthscopesClient(
        base_uri=base_uri, resource_owner_auth_credentials=_credentials(**extra), timeout=5
    )
    counts = {"calls": 0, "failures": 0}
    lock = threading.Lock()

    def run() -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                client.service.get_status()
                outcome = "calls"
            except Exception:  # noqa: BLE001 - counted, the fleet goes on
                outcome = "failures"
            with lock:
                counts[outcome] += 1
            time.sleep(0.05)

    go.wait(60)
    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    client.close()
    results.put((os.getpid(), counts["calls"], counts["failures"], obtained))


def run_fleet(kind: str, args: argparse.Namespace, redis_url: str | None) -> dict[str, Any]:
    """Run one scenario; return the server's counters and each process's token times."""
    from mdnotes_server import start_server
    from mdnotesropcgwithoutauthscopes import RedisTokenStore, SQLiteTokenStore

    server = start_server(port=0, token_lifetime=args.lifetime, **DEMO)
    folder = tempfile.TemporaryDirectory(prefix="mdnotes-fleet-")
    try:
        store: Any = None
        restored = None
        if kind == "sqlite":
            store = SQLiteTokenStore(os.path.join(folder.name, "tokens.sqlite3"))
        elif kind == "redis":
            store = RedisTokenStore(redis_url or "", prefix=f"fleet-{os.getpid()}-{time.time_ns()}:")
        elif kind == "restored":
            from mdnotesropcgwithoutauthscopes.mdnotesropcgwithoutauthscopes_client import (
                MdnotesropcgwithoutauthscopesClient,
            )

            with MdnotesropcgwithoutauthscopesClient(
                base_uri=server.base_uri, resource_owner_auth_credentials=_credentials()
            ) as first:
                restored = first.http_ropcg.fetch_token().to_dictionary()  # the token every process restores
            server.reset_stats()
        context = multiprocessing.get_context("fork")
        go, results = context.Event(), context.Queue()
        processes = [
            context.Process(
                target=_fleet_process,
                args=(server.base_uri, store, restored, args.threads, args.seconds, go, results),
            )
            for _ in range(args.processes)
        ]
        for process in processes:
            process.start()
        time.sleep(0.5)  # let every child reach go.wait()
        started = time.time()
        go.set()
        outcomes = [results.get(timeout=args.seconds + 60) for _ in processes]
        for process in processes:
            process.join(30)
        return {"kind": kind, "stats": server.stats(), "started": started, "outcomes": outcomes}
    finally:
        server.stop()
        folder.cleanup()


def report_fleet(result: dict[str, Any], args: argparse.Namespace) -> None:
    stats, started, outcomes = result["stats"], result["started"], result["outcomes"]
    # A token renewed early (a little before its predecessor expires) counts in the window it serves.
    windows = max(1, int(args.seconds / args.lifetime + EARLY_SHARE) + 1)
    per_window = [0] * windows
    for _, _, _, times in outcomes:
        for moment in times:
            window = int((moment - started) / args.lifetime + EARLY_SHARE)
            per_window[min(windows - 1, max(0, window))] += 1
    calls = sum(calls for _, calls, _, _ in outcomes)
    failures = sum(failed for _, _, failed, _ in outcomes)
    print(
        f"| {result['kind']} | {stats['token_requests']} | {stats['password_grants']} | {stats['refresh_grants']}"
        f" | {stats['reused_refresh_tokens']} | {stats['failed_token_requests']} | {calls} | {failures}"
        f" | {' '.join(str(n) for n in per_window)} | {' '.join(str(len(t)) for _, _, _, t in outcomes)} |"
    )


# ------------------------------------------------------------------------------------ hot path


class _CountingStore:
    """Wraps a store's methods to count how often the SDK touches it."""

    def __init__(self, store: Any) -> None:
        self.touched = 0
        for name in ("load", "save", "lock", "delete"):
            method = getattr(store, name)
            setattr(store, name, self._counted(method))

    def _counted(self, method: Any) -> Any:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.touched += 1
            return method(*args, **kwargs)

        return counted


def hot_path(args: argparse.Namespace, redis_url: str | None) -> None:
    """CPU per call with a valid token, without and with a store, and how often the store was touched."""
    import requests
    from bench import STUB_BASE, _stub_adapter_class

    from mdnotesropcgwithoutauthscopes import RedisTokenStore, SQLiteTokenStore
    from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import token_store_key
    from mdnotesropcgwithoutauthscopes.mdnotesropcgwithoutauthscopes_client import (
        MdnotesropcgwithoutauthscopesClient,
    )
    from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken

    token = OAuthToken(access_token="bench-token", token_type="Bearer", expires_in=3600, expiry=time.time() + 3600)
    key = token_store_key(STUB_BASE + "/token", DEMO["client_id"], DEMO["username"])
    folder = tempfile.TemporaryDirectory(prefix="mdnotes-hot-")
    stores: dict[str, Any] = {"SQLiteTokenStore": SQLiteTokenStore(os.path.join(folder.name, "tokens.sqlite3"))}
    if redis_url is not None:
        stores["RedisTokenStore"] = RedisTokenStore(redis_url, prefix="hot-path:")
    counters = {}
    for name, store in stores.items():
        store.save(key, token)  # each client starts from the stored token
        counters[name] = _CountingStore(store)

    def client(**extra: Any) -> Any:
        session = requests.Session()
        session.mount("http://127.0.0.1:1/", _stub_adapter_class()())  # type: ignore[no-untyped-call]
        return MdnotesropcgwithoutauthscopesClient(
            base_uri=STUB_BASE, http_client_instance=session, resource_owner_auth_credentials=_credentials(**extra)
        )

    peers = {"no store (token in memory)": client(o_auth_token=token)}
    for name, store in stores.items():
        peers[name] = client(o_auth_token_store=store)
    for peer in peers.values():
        for _ in range(200):  # warm up; a client with a store reads its token from the store here, once
            peer.service.get_status()
    touched_before = {name: counter.touched for name, counter in counters.items()}
    rounds: dict[str, list[float]] = {name: [] for name in peers}
    for _ in range(args.rounds):
        for name, peer in peers.items():  # interleaved, so drift hits every client alike
            began = time.process_time()
            for _ in range(args.calls):
                peer.service.get_status()
            rounds[name].append((time.process_time() - began) / args.calls * 1e6)
    print(f"\nHot path: CPU per get_status() with a valid token, stub transport, median of {args.rounds} rounds")
    print(f"of {args.calls} calls\n")
    print(
        f"| client | CPU µs/call, fastest of {args.rounds} rounds | median of {args.rounds} rounds"
        " | store operations during the timed calls |"
    )
    print("|---|---|---|---|")
    for name, samples in rounds.items():
        touched = counters[name].touched - touched_before[name] if name in counters else 0
        print(f"| {name} | {min(samples):.1f} | {statistics.median(samples):.1f} | {touched} |")
    for peer in peers.values():
        peer.close()
    for store in stores.values():
        store.close()
    folder.cleanup()


# ----------------------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--lifetime", type=float, default=2.0, help="token lifetime in seconds")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long each fleet calls")
    parser.add_argument("--stores", default="none,restored,sqlite,redis")
    parser.add_argument("--calls", type=int, default=5000, help="calls per hot-path round")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--quick", action="store_true", help="2 processes, 4 s, short hot path")
    args = parser.parse_args()
    if args.quick:
        args.processes, args.seconds, args.calls, args.rounds = 2, 4.0, 1000, 3

    kinds = [kind.strip() for kind in args.stores.split(",") if kind.strip()]
    redis_server = None
    if "redis" in kinds:
        from tests.redis_server import RedisServer, redis_server_binary

        binary = redis_server_binary()
        if binary is None:
            print("redis-server not found: the redis scenario is left out")
            kinds.remove("redis")
        else:
            redis_server = RedisServer(binary).start()
    try:
        print(
            f"Fleet: {args.processes} processes x {args.threads} threads (one client per process), "
            f"{args.lifetime:g} s tokens, {args.seconds:g} s of calls, one call per thread every 50 ms\n"
        )
        print(
            "| store | token requests | password grants | refresh grants | reused refresh tokens"
            " | failed token requests | API calls | failed calls | token requests per window | per process |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|")
        for kind in kinds:
            report_fleet(run_fleet(kind, args, redis_server.url if redis_server else None), args)
        hot_path(args, redis_server.url if redis_server else None)
    finally:
        if redis_server is not None:
            redis_server.close()


if __name__ == "__main__":
    main()
