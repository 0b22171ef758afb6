"""Fakes for the model-based token test: a token server with rotation and reuse detection, a failing store, processes.

- ``TokenServer``: an in-process OAuth 2 server (password and refresh grants, rotating refresh tokens,
  reuse detection that revokes the token family, ``GET /user`` and ``GET /status`` with Bearer tokens,
  expiry on the test's clock). It is also the model's oracle: it records a violation when two token
  requests of one store key (or of one process) are in flight at once, when a refresh token is
  presented twice, when a process presents another user's credentials or token, and when an expired
  access token reaches it.
- ``ProcessTransport``: the ``HttpClient`` of one simulated process: it tells the server which
  process, user and store key a request comes from, and in a forked child forwards to the parent.
- ``ModelStore``: a ``TokenStore`` that delegates to a real store, fails with ``TokenStoreError``
  while the test says the store is down, and checks every save (never an older token over a newer
  one, never a token of another user under a key).

Access and refresh tokens carry the server's issue sequence (``at-<user>-<seq>``), so a save can be
compared with what it replaces.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, Callable, Optional

from mdnotesropcgwithoutauthscopes.http.auth.token_store import Lease, TokenStore, TokenStoreError
from mdnotesropcgwithoutauthscopes.http.http_client import HttpClient
from mdnotesropcgwithoutauthscopes.http.http_request import HttpRequest
from mdnotesropcgwithoutauthscopes.http.http_response import HttpResponse
from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken

#: The lifetime of every token the server issues (seconds of the test's clock).
LIFETIME = 30
#: The users the server knows, and their passwords.
PASSWORDS = {"alice": "alice-password", "bob": "bob-password"}
USER_IDS = {"alice": 1, "bob": 2}


def seq_of(token: str) -> int:
    """The issue sequence encoded in an access or refresh token (``at-alice-17`` -> 17)."""
    return int(token.rsplit("-", 1)[1])


def user_of(token: str) -> str:
    """The user encoded in an access or refresh token (``at-alice-17`` -> ``alice``)."""
    return token.split("-")[1]


@dataclass(frozen=True)
class Caller:
    """Who sends a request: a process (``process``), the user it acts for, and its store key's label."""

    process: str
    user: str
    key: str


@dataclass
class _Access:
    user: str
    family: int
    expires_at: float
    revoked: bool = False


@dataclass
class _Refresh:
    user: str
    family: int
    spent_at: Optional[int] = None  # the server event at which it was exchanged
    spent_by: Optional[str] = None
    spent_lockless: bool = False  # by a flight that went on without the store (it could not save)


@dataclass
class _Flight:
    event: int
    process: str
    lockless: bool


@dataclass
class Request:
    """The parts of an ``HttpRequest`` the server reads (plain data: it crosses a pipe from a forked child)."""

    method: str
    url: str
    headers: dict[str, str]
    form: dict[str, Any]
    lockless: bool  # sent by a flight whose store lock failed: it goes on in-process (API.md section 6)

    @classmethod
    def of(cls, request: HttpRequest, lockless: bool) -> Request:
        form = dict(request.parameters or {})
        return cls(str(request.http_method), request.query_url, dict(request.headers), form, lockless)


@dataclass
class Answer:
    """A response as plain data."""

    status: int
    headers: dict[str, str]
    body: dict[str, Any]


class TokenServer:
    """The token server and the API, in this process, on the test's clock; see the module docstring.

    Args:
        clock: the test's clock (unix seconds).
        token_delay: real seconds each token request takes, so concurrent requests really overlap.
    """

    def __init__(self, clock: Callable[[], float], *, token_delay: float = 0.004) -> None:
        self._clock = clock
        self._delay = token_delay
        self._lock = threading.Lock()
        self._seq = 0
        self._event = 0
        self._access: dict[str, _Access] = {}
        self._refresh: dict[str, _Refresh] = {}
        self._revoked_families: set[int] = set()
        self._newest: dict[str, str] = {}  # user -> newest access token
        self._flights: dict[str, list[_Flight]] = {}  # store key label -> token requests in flight
        self._process_flights: Counter[str] = Counter()
        self._down: list[list[Optional[int]]] = []  # [from event, to event or None] while the store was down
        self.violations: list[str] = []
        self.excused: list[str] = []  # reuse or overlap the failing store explains (API.md section 6)
        self.families_revoked_for: set[str] = set()  # users whose token family a reuse revoked
        self.revoked_for: set[str] = set()  # users whose newest access token the test revoked
        self.stats: Counter[str] = Counter()

    # ------------------------------------------------------------ the test's levers

    def store_down(self, down: bool) -> None:
        """The test took the store down (or brought it back): reuse and overlap in that window are excused."""
        with self._lock:
            self._event += 1
            if down:
                self._down.append([self._event, None])
            elif self._down and self._down[-1][1] is None:
                self._down[-1][1] = self._event

    def revoke_newest(self, user: str) -> Optional[str]:
        """Revoke the newest access token of ``user`` (an admin's revocation): its next use gets a 401."""
        with self._lock:
            token = self._newest.get(user)
            if token is not None:
                self._access[token].revoked = True
                self.revoked_for.add(user)
            return token

    def issue(self, user: str) -> OAuthToken:
        """A token issued outside the SDK (a user's stored token), with its ``expiry`` stamped."""
        with self._lock:
            body = self._issue(user, family=None)
        token = OAuthToken.from_dictionary(body)
        token.expiry = int(self._clock()) + LIFETIME
        return token

    # ------------------------------------------------------------ serving

    def handle(self, caller: Caller, request: Request) -> Answer:
        """Answer one request of ``caller``."""
        path = request.url.rsplit("/", 1)[-1]
        if request.method == "POST" and path == "token":
            return self._token(caller, request.form, request.lockless)
        if request.method == "GET" and path in ("user", "status"):
            return self._resource(caller, request, path)
        return Answer(404, {}, {"error": "not_found"})

    def _token(self, caller: Caller, form: dict[str, Any], lockless: bool) -> Answer:
        with self._lock:
            self._event += 1
            entered = self._event
            self.stats["token_requests"] += 1
            others = self._flights.setdefault(caller.key, [])
            if others:
                first = min(flight.event for flight in others)
                what = f"two token requests in flight for key {caller.key} ({others[0].process} and {caller.process})"
                without_store = lockless or any(flight.lockless for flight in others)
                self._violate_unless_store_was_down(first, what, without_store)
            flight = _Flight(entered, caller.process, lockless)
            others.append(flight)
            self._process_flights[caller.process] += 1
            if self._process_flights[caller.process] > 1:
                self.violations.append(f"two token requests in flight from one process ({caller.process})")
        try:
            time.sleep(self._delay)
            with self._lock:
                return self._grant(caller, form, lockless)
        finally:
            with self._lock:
                self._flights[caller.key].remove(flight)
                self._process_flights[caller.process] -= 1

    def _grant(self, caller: Caller, form: dict[str, Any], lockless: bool) -> Answer:
        grant = form.get("grant_type")
        if grant == "password":
            self.stats["password_grants"] += 1
            username = str(form.get("username"))
            if username != caller.user:
                self.violations.append(f"{caller.process} of {caller.user} signed in as {username}")
            if PASSWORDS.get(username) != form.get("password"):
                return _refused("invalid_grant")
            return Answer(200, _JSON, self._issue(username, family=None))
        if grant == "refresh_token":
            self.stats["refresh_grants"] += 1
            presented = str(form.get("refresh_token"))
            entry = self._refresh.get(presented)
            if entry is None:
                self.violations.append(f"{caller.process} presented a refresh token the server never issued")
                return _refused("invalid_grant")
            if entry.user != caller.user:
                self.violations.append(f"{caller.process} of {caller.user} presented {entry.user}'s refresh token")
            if entry.spent_at is not None:
                self.stats["reused_refresh_tokens"] += 1
                self._revoked_families.add(entry.family)
                self.families_revoked_for.add(entry.user)
                what = (
                    f"refresh token {presented} presented again by {caller.process} "
                    f"(first by {entry.spent_by}); its family is revoked"
                )
                if entry.spent_by == caller.process:
                    self.violations.append(what + " (the same process presented it twice)")
                else:
                    self._violate_unless_store_was_down(entry.spent_at, what, lockless or entry.spent_lockless)
                return _refused("invalid_grant")
            if entry.family in self._revoked_families:
                return _refused("invalid_grant")
            entry.spent_at = self._event
            entry.spent_by = caller.process
            entry.spent_lockless = lockless
            return Answer(200, _JSON, self._issue(entry.user, family=entry.family))
        return _refused("unsupported_grant_type")

    def _issue(self, user: str, family: Optional[int]) -> dict[str, Any]:
        self._seq += 1
        seq = self._seq
        family = seq if family is None else family
        access, refresh = f"at-{user}-{seq}", f"rt-{user}-{seq}"
        self._access[access] = _Access(user, family, self._clock() + LIFETIME)
        self._refresh[refresh] = _Refresh(user, family)
        self._newest[user] = access
        self.stats["tokens_issued"] += 1
        return {"access_token": access, "token_type": "Bearer", "expires_in": LIFETIME, "refresh_token": refresh}

    def _resource(self, caller: Caller, request: Request, path: str) -> Answer:
        authorization = request.headers.get("Authorization", "")
        token = authorization[len("Bearer ") :] if authorization.startswith("Bearer ") else ""
        with self._lock:
            self.stats["api_calls"] += 1
            entry = self._access.get(token)
            if entry is None:
                self.violations.append(f"{caller.process} sent an access token the server never issued")
                return _unauthorized()
            if entry.user != caller.user:
                self.violations.append(f"{caller.process} of {caller.user} sent {entry.user}'s access token")
            if self._clock() >= entry.expires_at:
                self.violations.append(f"{caller.process} sent an expired access token")
                return _unauthorized()
            if entry.revoked or entry.family in self._revoked_families:
                self.stats["refused_access_tokens"] += 1
                return _unauthorized()
            user = entry.user
        if path == "status":
            return Answer(200, _JSON, {"app": "MdNotes", "status": "ok", "users": len(PASSWORDS), "notes": 0})
        body = {
            "id": USER_IDS[user],
            "name": user,
            "email": f"{user}@example.com",
            "created_at": "c",
            "updated_at": "u",
        }
        return Answer(200, _JSON, body)

    def _violate_unless_store_was_down(self, since: int, what: str, without_store: bool) -> None:
        """Record ``what`` as a violation, or as excused when the store explains it.

        Excused: one of the requests came from a flight whose store lock failed (it went on
        in-process and could not save), or the store was down at some event since ``since`` (a
        save failed, so the store kept a spent token).
        """
        if without_store:
            self.excused.append(what)
            return
        for start, end in self._down:
            if start is not None and start <= self._event and (end is None or end >= since):
                self.excused.append(what)
                return
        self.violations.append(what)


_JSON = {"Content-Type": "application/json"}


def _refused(error: str) -> Answer:
    return Answer(400, _JSON, {"error": error})


def _unauthorized() -> Answer:
    return Answer(401, {**_JSON, "WWW-Authenticate": 'Bearer error="invalid_token"'}, {"error": "invalid_token"})


class ProcessTransport(HttpClient):
    """The ``HttpClient`` of one simulated process: every request reaches ``server`` as ``caller``'s.

    In a forked child (after ``forward_to``), requests go through a pipe to the parent, whose
    ``serve_child`` answers them from the one server.
    """

    def __init__(self, server: TokenServer, caller: Caller, lockless: Callable[[], bool]) -> None:
        self.server = server
        self.caller = caller
        self._lockless = lockless
        self._pipe: Optional[Connection] = None
        self._pipe_lock = threading.Lock()

    def forward_to(self, pipe: Connection, caller: Caller) -> None:
        """In a forked child: send requests to the parent over ``pipe``, as ``caller``."""
        self._pipe = pipe
        self._pipe_lock = threading.Lock()
        self.caller = caller

    def execute(self, request: HttpRequest, *, timeout: Optional[float] = None) -> HttpResponse:
        plain = Request.of(request, self._lockless())
        if self._pipe is not None:
            with self._pipe_lock:
                self._pipe.send(("request", self.caller, plain))
                answer: Answer = self._pipe.recv()
        else:
            answer = self.server.handle(self.caller, plain)
        return HttpResponse(answer.status, None, answer.headers, json.dumps(answer.body), request)

    def report(self, outcome: Any) -> None:
        """In a forked child: send the parent the child's outcome (after its last request)."""
        assert self._pipe is not None
        with self._pipe_lock:
            self._pipe.send(("done", outcome))

    def close(self) -> None:
        return None


def serve_child(server: TokenServer, pipe: Connection, finished: threading.Event, outcome: list[Any]) -> None:
    """In the parent: answer a forked child's requests until it reports its outcome (or ``finished`` is set)."""
    while not finished.is_set():
        if not pipe.poll(0.02):
            continue
        try:
            message = pipe.recv()
        except EOFError:
            return
        if message[0] == "request":
            pipe.send(server.handle(message[1], message[2]))
        else:
            outcome.append(message[1])
            return


@dataclass
class StoreSwitch:
    """What all ``ModelStore`` wrappers of one run share: whether the store is down, and the save checks."""

    down: bool = False
    guard: threading.Lock = field(default_factory=threading.Lock)
    key_users: dict[str, str] = field(default_factory=dict)  # store key -> the user whose tokens it holds
    violations: list[str] = field(default_factory=list)
    saves: int = 0
    local: threading.local = field(default_factory=threading.local)

    def lockless(self) -> bool:
        """True when the current thread's last ``lock`` failed: its flight goes on without the store."""
        return bool(getattr(self.local, "lockless", False))


class ModelStore(TokenStore):
    """A store that delegates to ``inner``, fails while ``switch.down``, and checks every save.

    Args:
        inner: the real store (one per simulated process for SQLite; one shared for memory).
        switch: the run's shared switch and save log.
    """

    def __init__(self, inner: TokenStore, switch: StoreSwitch) -> None:
        self.inner = inner
        self.switch = switch

    def _up(self, action: str) -> None:
        if self.switch.down:
            raise TokenStoreError(f"the model's store is down (cannot {action})")

    def load(self, key: str) -> Optional[OAuthToken]:
        self._up("load")
        return self.inner.load(key)

    def save(self, key: str, token: OAuthToken) -> None:
        self._up("save")
        switch = self.switch
        with switch.guard:  # the check and the save as one step, so the check sees what the save replaces
            current = self.inner.load(key)
            new = str(token.access_token)
            owner = switch.key_users.get(key)
            if owner is not None and user_of(new) != owner:
                switch.violations.append(f"{user_of(new)}'s token saved under {owner}'s key")
            if current is not None and seq_of(new) < seq_of(str(current.access_token)):
                switch.violations.append(f"save of {new} replaced the newer {current.access_token}")
            self.inner.save(key, token)
            switch.saves += 1

    def delete(self, key: str) -> None:
        self._up("delete")
        self.inner.delete(key)

    @contextmanager
    def lock(self, key: str, timeout: float) -> Iterator[Optional[Lease]]:
        self.switch.local.lockless = True  # until the lock is held: a flight starts with it
        self._up("lock")
        with self.inner.lock(key, timeout) as lease:
            self.switch.local.lockless = False
            yield lease

    def load_record(self, key: str, name: str) -> Optional[dict[str, Any]]:
        self._up("read a record")
        return self.inner.load_record(key, name)

    def save_record(self, key: str, name: str, value: Optional[dict[str, Any]], ttl: float) -> None:
        self._up("save a record")
        self.inner.save_record(key, name, value, ttl)
