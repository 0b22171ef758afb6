"""Password grants sent with a wrong password: 16 threads of one client, and 4 processes on one SQLite store.

Run from the repository root::

    .venv/bin/python benchmarks/lockout.py              # 10 s per scenario
    .venv/bin/python benchmarks/lockout.py --seconds 3

Each scenario runs against a fresh reference server (127.0.0.1, a free port) that locks an account
after ``--threshold`` (5) refused sign-ins in 10 minutes, and prints the password grants the server
received per 10 s, the refusals, whether the account was locked, and what the calls raised.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
if REPO not in sys.path:
    sys.path.insert(0, REPO)

DEMO = {
    "client_id": "lockout-client",
    "client_secret": "lockout-secret",
    "username": "lockout@example.com",
    "password": "lockout-password",
}
WRONG = "a-changed-password"


def _client(base_uri: str, store: Any = None) -> Any:
    from mdnotesropcgwithoutauthscopes import MdnotesropcgwithoutauthscopesClient, ResourceOwnerAuthCredentials

    return MdnotesropcgwithoutauthscopesClient(
        base_uri=base_uri,
        resource_owner_auth_credentials=ResourceOwnerAuthCredentials(
            o_auth_client_id=DEMO["client_id"],
            o_auth_client_secret=DEMO["client_secret"],
            o_auth_username=DEMO["username"],
            o_auth_password=WRONG,
            o_auth_token_store=store,
        ),
    )


def _call(client: Any, threads: int, seconds: float) -> Counter[str]:
    """``threads`` threads calling ``get_status()`` in a loop for ``seconds``; what the calls raised."""
    raised: Counter[str] = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def run() -> None:
        while time.monotonic() < deadline:
            try:
                client.service.get_status()
                name = "ok"
            except Exception as exc:  # noqa: BLE001 - counted
                name = type(exc).__name__
            with lock:
                raised[name] += 1

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return raised


def _process(base_uri: str, store_path: str, threads: int, seconds: float, go: Any, results: Any) -> None:
    import logging

    logging.getLogger("mdnotesropcgwithoutauthscopes").setLevel(logging.ERROR)
    from mdnotesropcgwithoutauthscopes import SQLiteTokenStore

    client = _client(base_uri, SQLiteTokenStore(store_path))
    go.wait(60)
    results.put(dict(_call(client, threads, seconds)))
    client.close()


def scenario(name: str, seconds: float, threshold: int, processes: int, threads: int) -> None:
    from mdnotesropcgwithoutauthscopes.testing import start_server

    server = start_server(port=0, lockout_threshold=threshold, lockout_period=600, **DEMO)
    raised: Counter[str] = Counter()
    try:
        if processes == 0:
            client = _client(server.base_uri)
            raised = _call(client, threads, seconds)
            client.close()
        else:
            with tempfile.TemporaryDirectory(prefix="mdnotes-lockout-") as folder:
                context = multiprocessing.get_context("fork")
                go, results = context.Event(), context.Queue()
                fleet = [
                    context.Process(
                        target=_process,
                        args=(server.base_uri, os.path.join(folder, "tokens.sqlite3"), threads, seconds, go, results),
                    )
                    for _ in range(processes)
                ]
                for process in fleet:
                    process.start()
                time.sleep(1.0)  # every child imports and opens the store before the clock starts
                go.set()
                for _ in fleet:
                    raised.update(results.get(timeout=seconds + 60))
                for process in fleet:
                    process.join(30)
        stats = server.stats()
    finally:
        server.stop()
    grants = stats["password_grant_requests"]
    print(f"{name}: {seconds:g} s, wrong password, lockout after {threshold} refusals")
    print(f"  password grants sent           {grants}  ({grants * 10 / seconds:.1f} per 10 s)")
    print(f"  refused (wrong password)       {stats['refused_password_grants']}")
    print(f"  refused (account locked)       {stats['locked_account_refusals']}")
    print(f"  account lockouts               {stats['account_lockouts']}")
    print(f"  calls, by outcome              {dict(raised.most_common())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--threshold", type=int, default=5)
    args = parser.parse_args()
    scenario("16 threads, one client", args.seconds, args.threshold, processes=0, threads=16)
    scenario("4 processes x 8 threads, one SQLiteTokenStore", args.seconds, args.threshold, processes=4, threads=8)


if __name__ == "__main__":
    main()
