"""Model-based test of the token procedure (issue #17): many processes and threads, one store, one server.

A hypothesis ``RuleBasedStateMachine`` drives simulated processes (one client each, sharing one
token store) for two users against an in-process token server that rotates refresh tokens and
revokes the family when one is presented twice. Its rules interleave calls and bursts of threads,
the clock passing expiry and renewal windows, revoked access tokens (401s), a store that fails,
processes killed while holding the store's lease (whose lease then runs out or, on SQLite, is freed
at once), forked children, and clients built from a stored token alone. After every step it checks:

- never two token requests in flight per store key (nor per process), never a refresh token
  presented twice, never another user's token or credentials, never an expired token sent;
- every call returns its own user's data or raises a documented exception (an ``APIException``),
  and only where the step's disturbance explains it (a revoked token, a family revoked by reuse,
  a token alone that expired);
- a save never replaces a newer token (tokens carry the server's issue sequence), nor puts a
  token under another user's key.

While the store is down, processes go on in-process (API.md section 6), so two of them may then
refresh the same token: the server excuses reuse and overlap whose window includes an outage.

``MDNOTES_MODEL_EXAMPLES`` raises the number of examples (for a longer soak run).
"""

from __future__ import annotations

import os
import signal
import threading
import time
import warnings
from dataclasses import dataclass
from multiprocessing import Pipe
from typing import Any, Callable, Optional
from unittest import mock

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from mdnotesropcgwithoutauthscopes.exceptions.api_exception import APIException
from mdnotesropcgwithoutauthscopes.http.auth import renewal
from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import OAuth2, ResourceOwnerAuthCredentials, token_store_key
from mdnotesropcgwithoutauthscopes.http.auth.token_store import MemoryTokenStore, SQLiteTokenStore, TokenStore
from mdnotesropcgwithoutauthscopes.mdnotesropcgwithoutauthscopes_client import MdnotesropcgwithoutauthscopesClient
from tests.helpers import TOKEN_URL, Clock
from tests.helpers.token_model import (
    PASSWORDS,
    Caller,
    ModelStore,
    ProcessTransport,
    StoreSwitch,
    TokenServer,
    serve_child,
)

CLIENT_ID = "model-client"
CLIENT_SECRET = "model-secret"
#: The lease a killed process leaves behind (it stopped renewing it this long before it runs out).
DEAD_LEASE = 0.3
MAX_PROCESSES = 7
EXAMPLES = int(os.environ.get("MDNOTES_MODEL_EXAMPLES", "15"))
CAN_FORK = hasattr(os, "fork")

_build_oauth2 = OAuth2.__init__


def _with_clock(clock: Clock) -> Callable[..., None]:
    """``OAuth2.__init__`` with the model's clock (the client builds its auth manager itself)."""

    def init(self: OAuth2, credentials: Any, auth_controller: Any, **options: Any) -> None:
        options.setdefault("clock", clock)
        _build_oauth2(self, credentials, auth_controller, **options)

    return init


class Stores:
    """The store under test: what each simulated process opens, and what a dead holder left."""

    #: True when the store is shared by real OS processes (forked children, SIGKILLed holders).
    across_processes = False

    def open(self) -> TokenStore:
        raise NotImplementedError

    def close(self) -> None:
        return None


class MemoryStores(Stores):
    """One ``MemoryTokenStore`` for every simulated process of this (one) OS process."""

    def __init__(self) -> None:
        self.store = MemoryTokenStore()

    def open(self) -> TokenStore:
        return self.store


class SQLiteStores(Stores):
    """One SQLite file; each simulated process opens its own ``SQLiteTokenStore`` on it, as processes do."""

    across_processes = CAN_FORK

    def __init__(self, path: str) -> None:
        self.path = path
        self.opened: list[SQLiteTokenStore] = []

    def open(self) -> TokenStore:
        store = SQLiteTokenStore(self.path)
        self.opened.append(store)
        return store

    def close(self) -> None:
        for store in self.opened:
            store.close()


@dataclass
class Process:
    """A simulated process: one client, acting for ``user``.

    ``kind``: ``"password"`` (full credentials), ``"token"`` (a stored token and the client id:
    it can refresh) or ``"bare"`` (a stored token alone: it cannot renew it).
    """

    name: str
    user: str
    kind: str
    client: MdnotesropcgwithoutauthscopesClient
    transport: ProcessTransport


users = st.sampled_from(sorted(PASSWORDS))
picks = st.integers(min_value=0, max_value=63)


class TokenModel(RuleBasedStateMachine):
    """Processes and threads over one store, one server and one clock; see the module docstring."""

    def __init__(self, stores: Stores) -> None:
        super().__init__()
        self.stores = stores
        self.clock = Clock(1_800_000_000.0)
        self._clock_patch = mock.patch.object(OAuth2, "__init__", _with_clock(self.clock))
        self._clock_patch.start()
        self.server = TokenServer(self.clock)
        self.switch = StoreSwitch()
        self.violations: list[str] = []
        self.outcomes = {"ok": 0, "failed": 0}
        self.explained: list[str] = []  # the failed calls the model explains (for diagnosis)
        self._store_back_after: Optional[int] = None
        self._count = 0
        self.processes: list[Process] = []
        for user in sorted(PASSWORDS):
            for _ in range(2):
                self.processes.append(self._start(user, "password"))

    # ------------------------------------------------------------ processes

    def _start(self, user: str, kind: str) -> Process:
        self._count += 1
        name = f"p{self._count}:{user}:{kind}"
        key_label = user if kind == "password" else f"{user}~{kind}"
        transport = ProcessTransport(self.server, Caller(name, user, key_label), self.switch.lockless)
        store = ModelStore(self.stores.open(), self.switch)
        if kind == "password":
            credentials = ResourceOwnerAuthCredentials(
                o_auth_client_id=CLIENT_ID,
                o_auth_client_secret=CLIENT_SECRET,
                o_auth_username=user,
                o_auth_password=PASSWORDS[user],
                o_auth_token_store=store,
            )
        else:
            client_id = CLIENT_ID if kind == "token" else None
            explicit = f"model:{user}:{kind}"
            key = token_store_key(TOKEN_URL, client_id, None, explicit=explicit)
            token = store.inner.load(key) or self.server.issue(user)  # a user restoring the saved token
            credentials = ResourceOwnerAuthCredentials(
                o_auth_client_id=client_id,
                o_auth_client_secret=CLIENT_SECRET if client_id else None,
                o_auth_token=token,
                o_auth_token_store=store,
                o_auth_token_store_key=explicit,
            )
        client = MdnotesropcgwithoutauthscopesClient(
            http_client_instance=transport, resource_owner_auth_credentials=credentials
        )
        store_key = client.http_ropcg.token_store_key
        assert store_key is not None
        self.switch.key_users[store_key] = user
        return Process(name, user, kind, client, transport)

    def _pick(self, i: int) -> Process:
        return self.processes[i % len(self.processes)]

    def _call(self, process: Process, status: bool = False) -> None:
        try:
            if status:
                process.client.service.get_status()
            else:
                got = process.client.user.get_user()
                if got.name != process.user:
                    self.violations.append(f"{process.name} got the data of {got.name}")
        except BaseException as exc:  # noqa: BLE001 - every outcome is judged
            self._judge(
                process,
                type(exc).__name__,
                isinstance(exc, APIException),
                getattr(exc, "response_code", None),
                str(exc),
            )
            return
        self.outcomes["ok"] += 1

    def _judge(self, process: Process, kind: str, documented: bool, code: Optional[int], text: str) -> None:
        """A failed call: a violation unless the exception is documented and the model explains it."""
        self.outcomes["failed"] += 1
        if not documented:
            self.violations.append(f"{process.name}: undocumented {kind}: {text[:300]}")
            return
        if process.kind == "bare":
            reason = "a token alone: once it expires (or is revoked) it cannot be renewed"
        elif process.user in self.server.families_revoked_for:
            reason = "a reuse (excused: the store failed) revoked the family"
        elif code == 401 and process.user in self.server.revoked_for:
            reason = "a revoked token, replaced by another revoked one from the store: 401 after one repeat"
        else:
            reason = None
        if reason is not None:
            self.explained.append(f"{process.name}: {kind} ({code}): {reason}")
            return
        self.violations.append(f"{process.name}: {kind} ({code}) although nothing explains it: {text[:300]}")

    # ------------------------------------------------------------ rules

    @rule(i=picks, status=st.booleans())
    def call(self, i: int, status: bool) -> None:
        self._call(self._pick(i), status)

    @rule(chosen=st.lists(picks, min_size=1, max_size=8))
    def burst(self, chosen: list[int]) -> None:
        """Threads calling at once, in one process or several."""
        threads = [threading.Thread(target=self._call, args=(self._pick(i), i % 3 == 0)) for i in chosen]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
            if thread.is_alive():
                self.violations.append("a call hung for 30 s")

    @rule(seconds=st.sampled_from([1, 7, 14, 16, 29, 31, 60, 400]))
    def advance_clock(self, seconds: int) -> None:
        """Time passes: tokens enter their renewal window (half-life) or expire."""
        self.clock.advance(seconds)

    @rule(user=users)
    def revoke(self, user: str) -> None:
        """The server revokes the user's newest access token: its next use gets a 401."""
        self.server.revoke_newest(user)

    @precondition(lambda self: not self.switch.down)
    @rule(steps=st.integers(min_value=1, max_value=4))
    def store_goes_down(self, steps: int) -> None:
        """The store fails (every method raises ``TokenStoreError``) for the next ``steps`` steps."""
        self._store(down=True)
        self._store_back_after = steps

    @precondition(lambda self: not self.switch.down)
    @rule(chosen=st.lists(picks, min_size=1, max_size=4), seconds=st.sampled_from([16, 31]))
    def brief_outage(self, chosen: list[int], seconds: int) -> None:
        """The store fails for a moment while time passes and processes call (renewing on their own)."""
        self._store(down=True)
        self.advance_clock(seconds)
        self.burst(chosen)
        self._store(down=False)

    def _store(self, *, down: bool) -> None:
        self.server.store_down(down)
        self.switch.down = down

    @precondition(lambda self: len(self.processes) < MAX_PROCESSES)
    @rule(user=users, kind=st.sampled_from(["password", "password", "token", "bare"]))
    def start_process(self, user: str, kind: str) -> None:
        """Another process starts (for a token client: from the stored token, as the seed shows)."""
        self.processes.append(self._start(user, kind))

    @rule(i=picks, hard=st.booleans())
    def kill(self, i: int, hard: bool) -> None:
        """A process dies holding the store's lease; another process takes its place.

        Soft: it stopped renewing the lease, which runs out ``DEAD_LEASE`` s later (a frozen or lost
        host). Hard (SQLite): a real process takes the lease and is SIGKILLed, which frees it at once.
        """
        process = self.processes.pop(i % len(self.processes))
        key = process.client.http_ropcg.token_store_key
        assert key is not None
        process.client.close()
        if hard and self.stores.across_processes:
            self._killed_holder(key)
        else:
            holder = self.stores.open()  # memory: the one store; SQLite: the dead process's own connection
            holder._acquire(key, DEAD_LEASE)  # type: ignore[attr-defined]  # taken, never renewed or released
        self.processes.append(self._start(process.user, process.kind))

    def _killed_holder(self, key: str) -> None:
        assert isinstance(self.stores, SQLiteStores)
        taken_r, taken_w = os.pipe()
        pid = _fork()
        if pid == 0:
            try:
                SQLiteTokenStore(self.stores.path)._acquire(key, 6.0)
                os.write(taken_w, b"x")
                os.kill(os.getpid(), signal.SIGKILL)
            finally:
                os._exit(1)
        os.close(taken_w)
        taken = os.read(taken_r, 1)
        os.close(taken_r)
        _, status = os.waitpid(pid, 0)
        if taken != b"x" or not os.WIFSIGNALED(status):
            self.violations.append("the killed holder did not take the lease")

    @precondition(lambda self: self.stores.across_processes)
    @rule(i=picks)
    def fork(self, i: int) -> None:
        """A process forks; the child makes one call (through the parent's server) and exits."""
        process = self._pick(i)
        parent_end, child_end = Pipe()
        finished = threading.Event()
        outcome: list[Any] = []
        server = threading.Thread(target=serve_child, args=(self.server, parent_end, finished, outcome), daemon=True)
        server.start()
        pid = _fork()
        if pid == 0:
            self._child(process, child_end)
        give_up = time.monotonic() + 20
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > give_up:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                self.violations.append(f"the forked child of {process.name} hung")
                status = 0
                break
            time.sleep(0.005)
        finished.set()
        server.join(5)
        parent_end.close()
        child_end.close()
        if not outcome:
            self.violations.append(f"the forked child of {process.name} ended without an outcome (status {status})")
            return
        result = outcome[0]
        self.violations.extend(result["violations"])
        if result["error"] is None:
            self.outcomes["ok"] += 1
        else:
            self._judge(process, *result["error"])

    def _child(self, process: Process, pipe: Any) -> None:
        code = 1
        try:
            # The child has one thread; the test's own locks may have been held by a parent thread.
            self.switch.guard = threading.Lock()
            self.switch.violations = []
            process.transport.forward_to(
                pipe, Caller(f"{process.name}/child{os.getpid()}", process.user, process.transport.caller.key)
            )
            result: dict[str, Any] = {"violations": [], "error": None}
            try:
                got = process.client.user.get_user()
                if got.name != process.user:
                    result["violations"].append(f"the child of {process.name} got the data of {got.name}")
            except BaseException as exc:  # noqa: BLE001 - reported to the parent
                code_of = getattr(exc, "response_code", None)
                result["error"] = (type(exc).__name__, isinstance(exc, APIException), code_of, str(exc)[:300])
            renewal._in_flight.wait(renewal.EXIT_GRACE_SECONDS)  # as interpreter exit would
            result["violations"].extend(self.switch.violations)
            process.transport.report(result)
            code = 0
        finally:
            os._exit(code)

    @rule()
    def settle(self) -> None:
        """Let background renewals finish."""
        renewal._in_flight.wait(5)

    # ------------------------------------------------------------ checks

    @invariant()
    def nothing_went_wrong(self) -> None:
        problems = self.server.violations + self.switch.violations + self.violations
        assert not problems, problems

    @invariant()
    def time_passes_for_the_store(self) -> None:
        """Not a check: ends an outage of ``store_goes_down`` after its steps (invariants run after each step)."""
        if self._store_back_after is not None:
            self._store_back_after -= 1
            if self._store_back_after < 0:
                self._store_back_after = None
                self._store(down=False)

    def teardown(self) -> None:
        try:
            for process in self.processes:
                process.client.close()
            renewal._in_flight.wait(5)
            self.nothing_went_wrong()
        finally:
            self._clock_patch.stop()
            self.stores.close()


def _fork() -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # a multi-threaded fork, on purpose
        return os.fork()


SETTINGS = settings(
    max_examples=EXAMPLES,
    stateful_step_count=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _stores(kind: str, tmp_path: Any) -> Stores:
    return MemoryStores() if kind == "memory" else SQLiteStores(str(tmp_path / "replay.sqlite3"))


def replay(machine: TokenModel, steps: list[tuple[str, dict[str, Any]]]) -> None:
    """Run ``steps`` (rule name, arguments) on ``machine`` in order, checking the invariant after each."""
    try:
        machine.nothing_went_wrong()
        for name, arguments in steps:
            getattr(machine, name)(**arguments)
            machine.nothing_went_wrong()
    finally:
        machine.teardown()


#: A process renews on its own while the store is down; once the store answers, the stored token is
#: older than the process's own. Presenting its (spent) refresh token again made the server revoke
#: the whole family: every process was signed out and fell back to the password grant.
RENEWED_DURING_AN_OUTAGE = [
    ("call", {"i": 0, "status": False}),
    ("store_goes_down", {"steps": 2}),
    ("advance_clock", {"seconds": 31}),
    ("call", {"i": 0, "status": False}),
    ("time_passes_for_the_store", {}),
    ("time_passes_for_the_store", {}),
    ("time_passes_for_the_store", {}),  # two steps are over: the store answers again
    ("advance_clock", {"seconds": 31}),
    ("call", {"i": 0, "status": False}),
    ("call", {"i": 1, "status": False}),
]


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_process_that_renewed_during_an_outage_does_not_present_the_stale_stored_refresh_token(
    kind: str, tmp_path: Any
) -> None:
    machine = TokenModel(_stores(kind, tmp_path))
    replay(machine, RENEWED_DURING_AN_OUTAGE)
    assert not machine.switch.down
    assert machine.server.stats["reused_refresh_tokens"] == 0
    assert machine.server.stats["refresh_grants"] == 2


def test_token_model_with_a_memory_store() -> None:
    run_state_machine_as_test(lambda: TokenModel(MemoryStores()), settings=SETTINGS)


def test_token_model_with_a_sqlite_store(tmp_path: Any) -> None:
    runs = iter(range(1_000_000))
    run_state_machine_as_test(
        lambda: TokenModel(SQLiteStores(str(tmp_path / f"tokens-{next(runs)}.sqlite3"))), settings=SETTINGS
    )
