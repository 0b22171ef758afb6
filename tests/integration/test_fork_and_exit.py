"""Issue #17: fork, interpreter exit and interrupts (Ctrl-C, SystemExit) never break the shared token."""

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import ResourceOwnerAuthCredentials
from mdnotesropcgwithoutauthscopes.http.auth.token_store import MemoryTokenStore, SQLiteTokenStore
from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken
from tests.helpers import STATUS_BODY
from tests.helpers.integration import client_for
from tests.integration import proc_workers

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX fork and signals")

EXIT_SCRIPT = Path(__file__).with_name("exit_script.py")
ROOT = Path(__file__).resolve().parents[2]


def wait_for_child(pid, deadline):
    """The exit code of child ``pid`` (negative: the signal that killed it); "hung" if it outlives ``deadline``."""
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "hung"
        time.sleep(0.01)


# --- 5. A fork storm on a SQLite store ------------------------------------------------------------------


def test_children_forked_from_a_sqlite_store_user_lock_and_load_from_many_threads_without_crashing(tmp_path):
    """4 children x 16 threads, lock + load in a loop at a 1 us switch interval, 3 rounds: every child exits 0."""
    store = SQLiteTokenStore(tmp_path / "tokens.sqlite3")
    key = "token:fork-storm"
    store.save(key, OAuthToken(access_token="ACCESS", token_type="Bearer", refresh_token="REFRESH"))
    with store.lock(key, 6):  # the parent's connection is open and has held the lease
        assert store.load(key).access_token == "ACCESS"

    busy = threading.Event()

    def parent_keeps_using_the_store():  # so forks also land while a parent thread is inside the store
        while not busy.is_set():
            with store.lock(key, 6):
                store.load(key)
            time.sleep(0.001)

    parent_thread = threading.Thread(target=parent_keeps_using_the_store, daemon=True)
    parent_thread.start()
    codes = []
    try:
        for _ in range(3):
            pids = []
            for _ in range(4):
                pid = os.fork()
                if pid == 0:  # the child: no pytest from here on, only os._exit
                    code = 1
                    try:
                        code = proc_workers.lock_and_load_in_threads(store, key, threads=16, seconds=1.0, lease=6)
                    finally:
                        os._exit(code)
                pids.append(pid)
            deadline = time.monotonic() + 20  # SQLite gives up on a lock after 10 s: a hang ends sooner
            codes.append([wait_for_child(pid, deadline) for pid in pids])
    finally:
        busy.set()
        parent_thread.join(10)

    assert codes == [[0, 0, 0, 0]] * 3  # -11 would be a segfault
    assert store.load(key).access_token == "ACCESS"


# --- 6. MemoryTokenStore's lock in a forked child ----------------------------------------------------------


def test_a_child_forked_while_a_parent_thread_holds_a_memory_store_lock_takes_the_lock_at_once():
    store = MemoryTokenStore()
    holding, release = threading.Event(), threading.Event()

    def hold():
        with store.lock("key", 30):  # a 30 s lease: a child that inherited it would wait that long
            holding.set()
            release.wait(30)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert holding.wait(5)
    readable, writable = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            started = time.monotonic()
            with store.lock("key", 30):
                os.write(writable, repr(time.monotonic() - started).encode())
        finally:
            os._exit(0)
    os.close(writable)
    try:
        ready, _, _ = select.select([readable], [], [], 5)
        answer = os.read(readable, 100) if ready else b""
    finally:
        os.close(readable)
        code = wait_for_child(pid, time.monotonic() + 1)
        release.set()
        holder.join(5)

    assert answer, "the child still waited for its parent's lock after 5 s"
    assert float(answer) < 1.0
    assert code == 0


# --- 7. Interpreter exit with a renewal in flight ------------------------------------------------------


class HangingTokenEndpoint(BaseHTTPRequestHandler):
    """/status answers at once; the token endpoint accepts the request and never answers."""

    def do_GET(self):  # noqa: N802 - http.server's name
        body = json.dumps(STATUS_BODY).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):  # noqa: N802 - http.server's name
        self.server.token_requests += 1
        self.server.release.wait(60)

    def log_message(self, *args):
        pass


@pytest.fixture
def hanging_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), HangingTokenEndpoint)
    server.daemon_threads = True
    server.token_requests = 0
    server.release = threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("close", [False, True], ids=["without-close", "with-close"])
def test_the_interpreter_exits_within_the_grace_while_a_background_renewal_hangs(close, hanging_server):
    base_uri = f"http://127.0.0.1:{hanging_server.server_address[1]}"
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    script = subprocess.Popen(
        [sys.executable, str(EXIT_SCRIPT), base_uri, "close" if close else "keep"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment,
        cwd=str(ROOT),
    )
    try:
        line = script.stdout.readline().decode()
        try:
            script.wait(15)
        except subprocess.TimeoutExpired:
            pytest.fail("the interpreter was still running 15 s after the script ended")
        exited = time.time()
    finally:
        if script.poll() is None:
            script.kill()
            script.wait(5)
        errors = script.stderr.read().decode()
        script.stdout.close()
        script.stderr.close()

    assert line.startswith("END "), errors
    assert hanging_server.token_requests == 1  # the renewal was in flight when the script ended
    assert script.returncode == 0, errors
    assert exited - float(line.split()[1]) <= 2.5


# --- 8. Ctrl-C or SystemExit in one thread's token request ---------------------------------------------------


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, SystemExit])
@pytest.mark.parametrize("kind", ["none", "sqlite"])
def test_an_interrupt_in_one_threads_token_request_does_not_reach_the_threads_waiting_for_it(
    interrupt, kind, server, tmp_path
):
    """Thread A's token request raises ``interrupt``; B..H, waiting for it, try again and succeed."""
    signer = client_for(server)
    calls = []
    entered = threading.Event()

    def provider(last, manager):
        calls.append(threading.current_thread().name)
        if len(calls) == 1:
            entered.set()
            time.sleep(0.5)  # B..H queue behind this request meanwhile
            raise interrupt()
        return signer.http_ropcg.fetch_token()

    store = {}
    if kind == "sqlite":
        store = dict(o_auth_token_store=SQLiteTokenStore(tmp_path / "tokens.sqlite3"), o_auth_token_store_key="me")
    client = client_for(server, ResourceOwnerAuthCredentials(o_auth_token_provider=provider, **store))
    outcomes = {}

    def call():
        try:
            client.service.get_status()
            outcomes[threading.current_thread().name] = "ok"
        except BaseException as exc:  # noqa: BLE001 - what each thread got is the test
            outcomes[threading.current_thread().name] = type(exc).__name__

    first = threading.Thread(target=call, name="A")
    first.start()
    assert entered.wait(5)
    others = [threading.Thread(target=call, name=name) for name in "BCDEFGH"]
    for thread in others:
        thread.start()
    for thread in [first, *others]:
        thread.join(30)

    assert outcomes == {"A": interrupt.__name__, **{name: "ok" for name in "BCDEFGH"}}
    assert len(calls) == 2  # the interrupted request and one more, for all seven waiters
    assert server.stats()["password_grants"] == 1
    client.close()
    signer.close()
