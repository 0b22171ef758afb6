"""``TokenCoordinator``: one token request at a time per key, in this process and, with a store, in all.

The procedure, in the order it runs (``renew``):
1. wait for a turn: use a token another thread got meanwhile, share the failure of the request
   this thread waited for, honour the sign-in hold and the outage backoff (``_await_turn``);
2. take the store's lease, read the store again, and adopt a newer token another process saved;
3. otherwise obtain one from the token source (refresh, password), presenting nothing once the
   lease is lost, and save it fenced by the lease before releasing the lock (``_fly``).
A store that fails is logged and skipped: the procedure goes on in this process alone.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Optional

from mdnotesropcgwithoutauthscopes.exceptions.api_connection_exception import APIConnectionException
from mdnotesropcgwithoutauthscopes.exceptions.api_exception import APIException
from mdnotesropcgwithoutauthscopes.exceptions.auth_validation_exception import AuthValidationException
from mdnotesropcgwithoutauthscopes.http import tracing
from mdnotesropcgwithoutauthscopes.http.auth.guard import (
    Hold,
    Outage,
    RefusalGuard,
    is_transient,
    next_outage,
    refusal_kind,
)
from mdnotesropcgwithoutauthscopes.http.auth.shared_store import SharedStore
from mdnotesropcgwithoutauthscopes.http.auth.token_source import PASSWORD, REFRESH, Obtained, TokenSource
from mdnotesropcgwithoutauthscopes.http.auth.token_state import Timing, TokenState
from mdnotesropcgwithoutauthscopes.http.auth.token_store import Lease, TokenStore
from mdnotesropcgwithoutauthscopes.http.forking import reset_after_fork
from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken

if TYPE_CHECKING:
    from mdnotesropcgwithoutauthscopes.http.http_response import HttpResponse

logger = logging.getLogger("mdnotesropcgwithoutauthscopes")

#: How long a waiter sleeps at most before looking again (a lost wake-up costs no more).
_MAX_WAIT = 1.0
_HOLD = "hold"
_OUTAGE = "outage"

#: ``f(name, attributes)``: reports what happened to the token on the current call (tracing).
EventSink = Callable[[str, dict[str, Any]], None]


class Deferred(Exception):
    """No token request may be sent before ``not_before`` (unix seconds): the outage backoff."""

    def __init__(self, not_before: float) -> None:
        super().__init__(f"token requests wait for the outage backoff until {not_before:.3f}")
        self.not_before = not_before


class _Again(Exception):
    """Internal: start the turn over (the lease was lost, or the store holds another process's backoff)."""


class TokenCoordinator:
    """Owns the installed token and the one flight that may replace it.

    Args:
        source: where new tokens come from.
        timing: turns tokens into states (skew, renewal window).
        guard: the sign-in hold and outage decisions for these credentials.
        store: the token store (None: this process only).
        key: the store key (None without a store).
        clock: the UTC clock in unix seconds.
        timeout: the client's timeout: how long a call may wait for the next try in an outage.
        event: reports adoptions and holds on the current call's trace.
        relogin: whether the password may be sent again once a token was had
            (``o_auth_relogin_with_password``).
    """

    def __init__(
        self,
        *,
        source: TokenSource,
        timing: Timing,
        guard: RefusalGuard,
        store: Optional[TokenStore],
        key: Optional[str],
        clock: Callable[[], float],
        timeout: Callable[[], float],
        event: EventSink,
        relogin: bool = True,
    ) -> None:
        self._source = source
        self._timing = timing
        self._guard = guard
        self._store = SharedStore(store, key)
        self._clock = clock
        self._timeout = timeout
        self._event = event
        self._relogin = relogin
        self._state: Optional[TokenState] = None
        self._has_had_token = False
        self._hold: Optional[Hold] = None
        self._outage: Optional[Outage] = None
        # Refresh tokens this process presented and that may have been used up (exchanged, refused,
        # or sent without an answer): never presented again, and a stored token holding one is older
        # than this process's own (the store missed a save while it failed). The newest few are kept.
        self._spent: dict[str, None] = {}
        self._reset_flight()
        reset_after_fork(self)

    def _reset_flight(self) -> None:
        self._cond = threading.Condition()
        self._flying = False
        self._flights = 0  # flights finished, so a waiter knows whether the one it waited for ended
        self._failure: Optional[Exception] = None  # the last finished flight's failure

    def _after_fork_in_child(self) -> None:
        # The parent's threads, and the flight one of them may have been running, are not in the child.
        self._reset_flight()

    # --------------------------------------------------------------- reading

    @property
    def state(self) -> Optional[TokenState]:
        """The installed token's state (read without a lock: it is replaced whole, never changed)."""
        return self._state

    @property
    def hold(self) -> Optional[Hold]:
        """The sign-in hold on these credentials in force now, or None."""
        self._sync_records()
        hold = self._hold
        return hold if self._guard.applies(hold, self._clock()) else None

    @property
    def outage(self) -> Optional[Outage]:
        """The outage backoff as last seen, or None."""
        return self._outage

    def install(self, token: OAuthToken) -> TokenState:
        """Make ``token`` the current one."""
        state = self._timing.state(token, self._clock())
        with self._cond:
            self._state = state
            self._has_had_token = True
        return state

    def mark_had_token(self) -> None:
        """The client started with a token: the password is not needed to get the first one."""
        self._has_had_token = True

    def adopt_stored(self) -> Optional[TokenState]:
        """Install the stored token, without the lock or a request, if it is valid now."""
        stored = self._store.load()
        if stored is None:
            return None
        now = self._clock()
        state = self._timing.state(stored, now)
        if not state.serves(now, early=False):
            return None
        with self._cond:
            current = self._state
            if current is None or current.token.access_token != stored.access_token:
                self._state = state
                self._has_had_token = True
                self._event(tracing.EVENT_TOKEN_ADOPTED, {"oauth2.token_source": "store"})
            return self._state

    # --------------------------------------------------------------- the procedure

    def renew(
        self, stale: Optional[TokenState], *, early: bool, refused: Optional[HttpResponse] = None
    ) -> tuple[TokenState, Optional[Obtained]]:
        """A state newer than ``stale``: another thread's or process's, or a new token's.

        Args:
            stale: the state the caller found unusable (None: there was none).
            early: a background renewal: a state out of its renewal window will do, and an outage
                backoff raises ``Deferred`` instead of waiting.
            refused: the API's 401 when the server refused ``stale``'s token.

        Returns:
            The state, and what this call obtained from the token endpoint (None when adopted).
        """
        if stale is None and self._store.enabled:
            adopted = self.adopt_stored()  # a restart: no lock while the stored one is good
            if adopted is not None:
                return adopted, None
        give_up_at = time.monotonic() + self._timeout()  # the call's budget, by the real clock
        while True:
            with self._cond:
                ready = self._await_turn(stale, early, give_up_at)
                if ready is not None:
                    return ready, None
                self._flying = True
            try:
                result = self._fly(stale, early, refused)
            except BaseException as exc:
                self._land(exc)
                if isinstance(exc, _Again) or (is_transient(exc) and not early):
                    continue  # the turn decides: wait for the next try, or raise the failure
                raise
            self._land(None)
            return result

    def _await_turn(
        self, stale: Optional[TokenState], early: bool, give_up_at: float, *, reuse: bool = True
    ) -> Optional[TokenState]:
        """With the condition held: a usable state, or None once this thread may fly. Raises instead.

        ``reuse=False`` (``fetch_token()``) asks for a new token whatever is installed.
        """
        served: Optional[Outage] = None  # a backoff this thread has waited out in full (by the real clock)
        while True:
            now = self._clock()
            state = self._state
            if reuse and state is not None and state is not stale and state.serves(now, early=early):
                return state
            if self._flying:
                seen = self._flights
                self._cond.wait(_MAX_WAIT)
                failure = self._failure
                if self._flights != seen and failure is not None and not is_transient(failure):
                    raise failure  # the request this thread waited for failed: share its failure
                continue
            self._raise_if_held(state if reuse else None, now)
            outage = self._outage
            if outage is not None and now < outage.next_try and outage is not served:
                if early:
                    raise Deferred(outage.next_try)
                wait = outage.next_try - now
                if wait > give_up_at - time.monotonic():
                    raise outage.failure or APIException(
                        f"The token endpoint is failing ({outage.description}); the next token request is due in"
                        f" {outage.next_try - now:.1f} s, after this call's timeout"
                    )
                started = time.monotonic()
                self._cond.wait(min(_MAX_WAIT, wait))
                if wait <= _MAX_WAIT and time.monotonic() - started >= wait:
                    served = outage
                continue
            return None

    def _land(self, failure: Optional[BaseException]) -> None:
        with self._cond:
            self._flying = False
            self._flights += 1
            # Only errors are shared: Ctrl-C or SystemExit stays in its thread, and waiters try again.
            shared = isinstance(failure, Exception) and not isinstance(failure, _Again)
            self._failure = failure if shared else None  # type: ignore[assignment]
            self._cond.notify_all()

    def _fly(
        self, stale: Optional[TokenState], early: bool, refused: Optional[HttpResponse]
    ) -> tuple[TokenState, Optional[Obtained]]:
        """The one flight: lease, read the store again, adopt or obtain, save fenced, release."""
        with self._store.lease() as shared:
            current = self._state
            last = current.token if current is not None else None
            if shared.store:
                self._sync_records()
                stored = self._store.load()
                if stored is not None and stored.refresh_token in self._spent:
                    logger.info("The token store holds a token this process has already renewed; saving a newer one")
                    stored = None
                now = self._clock()
                if stored is not None:
                    state = self._timing.state(stored, now)
                    newer = last is None or stored.access_token != last.access_token
                    if newer and state.serves(now, early=early):
                        with self._cond:
                            self._state = state
                            self._has_had_token = True
                        self._event(tracing.EVENT_TOKEN_ADOPTED, {"oauth2.token_source": "store"})
                        return state, None  # another process renewed it: no request
                    last = stored  # the head of the shared refresh-token chain
                outage = self._outage
                if outage is not None and now < outage.next_try:
                    raise _Again()  # another process's backoff: wait for its next try
            obtained = self._obtain(last, refused, shared.lease)
            if obtained.grant == REFRESH and last is not None:
                self._spend(last, obtained.token)
            state = self.install(obtained.token)
            if shared.store:
                self._store.save(obtained.token)
            self._succeeded(obtained)
            return state, obtained

    def _obtain(self, last: Optional[OAuthToken], refused: Optional[HttpResponse], lease: Optional[Lease]) -> Obtained:
        sent: list[str] = []

        def gate(grant: str) -> None:
            if lease is not None and not lease.held:
                logger.warning("The token store lease was lost before a token request; sending nothing")
                raise _Again()
            if grant == PASSWORD and REFRESH in sent and last is not None:
                self._spend(last)  # refused, or its answer lost: never presented again
            if grant == PASSWORD or (grant == REFRESH and self._hold is not None and self._hold.kind == "client"):
                self._raise_if_held(None, self._clock())
            sent.append(grant)

        if last is not None and last.refresh_token and last.refresh_token in self._spent:
            # Its last refresh may have reached the server (the answer was lost): presenting it
            # again could revoke the whole token family, so it is never sent twice.
            last = OAuthToken.from_dictionary({**last.to_dictionary(), "refresh_token": None})
        try:
            return self._source.obtain(last, gate=gate, password_allowed=self._password_allowed(), refused=refused)
        except Exception as exc:
            if sent:
                if sent[-1] == REFRESH and last is not None and _maybe_received(exc):
                    self._spend(last)
                self._failed(exc, grant=sent[-1])
            raise

    def _spend(self, presented: OAuthToken, successor: Optional[OAuthToken] = None) -> None:
        """Never present ``presented``'s refresh token again (unless ``successor`` carries it on: no rotation)."""
        spent = presented.refresh_token
        if not spent or (successor is not None and successor.refresh_token == spent):
            return
        self._spent[spent] = None
        while len(self._spent) > _SPENT_KEPT:
            del self._spent[next(iter(self._spent))]

    # --------------------------------------------------------------- the user's own requests

    def fetch(self, additional_params: Optional[dict[str, Any]]) -> OAuthToken:
        """``fetch_token()``: a password grant, paced and held like any; the token is not installed."""
        give_up_at = time.monotonic() + self._timeout()  # the call's budget, by the real clock
        while True:
            with self._cond:
                self._await_turn(None, False, give_up_at, reuse=False)
                self._flying = True
            try:
                self._sync_records()
                self._raise_if_held(None, self._clock())
                try:
                    token = self._source.password_grant(additional_params)
                except Exception as exc:
                    self._failed(exc, grant=PASSWORD)
                    raise
            except BaseException as exc:
                self._land(exc)
                if is_transient(exc):
                    continue  # the turn decides: wait for the next try, or raise the failure
                raise
            self._succeeded(Obtained(token, PASSWORD))
            self._land(None)
            return token

    def refresh(self, additional_params: Optional[dict[str, Any]]) -> OAuthToken:
        """``refresh_token()``: a refresh grant with the newest refresh token, installed and saved."""
        with self._exclusive(), self._store.lease() as shared:
            current = self._store.load() if shared.store else None
            if current is None and self._state is not None:
                current = self._state.token
            if current is None or not current.refresh_token:
                raise AuthValidationException("refresh_token() needs a current OAuth token that has a refresh token")
            if shared.lease is not None and not shared.lease.held:
                raise APIException("The token store lease was lost before the refresh; nothing was sent")
            token = self._source.refresh_grant(current.refresh_token, additional_params)
            self._spend(current, token)
            self.install(token)
            if shared.store:
                self._store.save(token)
            return token

    def clear_hold(self) -> None:
        """Forget the sign-in hold (in this process and in the store)."""
        self._hold = None
        self._source.forget_client_refusals()
        self._store.save_record(_HOLD, None, 1.0)

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        with self._cond:
            while self._flying:
                self._cond.wait(_MAX_WAIT)
            self._flying = True
        try:
            yield
        finally:
            with self._cond:
                self._flying = False
                self._cond.notify_all()

    # --------------------------------------------------------------- holds and outages

    def _password_allowed(self) -> bool:
        return self._source.can_use_password() and (self._relogin or not self._has_had_token)

    def _raise_if_held(self, state: Optional[TokenState], now: float) -> None:
        """Raise ``CredentialsHeldException`` when a hold on these credentials is in force.

        With a ``state`` whose token can still be refreshed, a hold on the password alone does not
        stop the turn: the refresh grant sends no password.
        """
        hold = self._hold
        if hold is None or not self._guard.applies(hold, now):
            return
        if state is not None and state.token.refresh_token and hold.kind == "grant":
            return
        self._event(
            tracing.EVENT_SIGN_IN_HELD, {"oauth2.hold.retry_at": hold.until, "oauth2.hold.refusals": hold.refusals}
        )
        raise hold.exception()

    def _failed(self, exc: BaseException, *, grant: str) -> None:
        """Start a hold after a refusal, or the backoff after a transient failure."""
        now = self._clock()
        kind = refusal_kind(exc, password_grant=grant == PASSWORD)
        if kind is not None and self._guard.enabled:
            hold = self._guard.refused(exc, kind, self._hold, now, requests=self._source.requests_sent)
            self._hold = hold
            # INFO, like an outage: the caller gets the refusal (then CredentialsHeldException), and a
            # warning as well would print twice, as a second line of the command line's one-line error.
            logger.info(
                "The token endpoint refused the %s (%s); not sending them again for %.0f s (refusal %d in a row)",
                "client credentials" if kind == "client" else "password grant",
                getattr(exc, "error", None) or "refused",
                hold.until - now,
                hold.refusals,
            )
            ttl = self._guard.ttl(hold, now)
            self._store.save_record(_HOLD, hold.to_record(), ttl)
        elif is_transient(exc):
            current = self._state
            valid_until = current.deadline if current is not None else None
            outage = next_outage(exc, self._outage, now, valid_until)
            self._outage = outage
            logger.info(
                "Token request failed (%s); the next one waits %.1f s (failure %d in a row)",
                outage.description,
                outage.next_try - now,
                outage.failures,
            )
            ttl = outage.next_try - now + 60.0
            self._store.save_record(_OUTAGE, outage.to_record(), ttl)

    def _succeeded(self, obtained: Obtained) -> None:
        if self._outage is not None:
            self._outage = None
            self._store.save_record(_OUTAGE, None, 1.0)
        if obtained.grant == PASSWORD and self._hold is not None:
            self._hold = None  # the account signs in again: whoever was refused may try
            self._store.save_record(_HOLD, None, 1.0)

    def _sync_records(self) -> None:
        """Read the hold and the outage backoff that other processes may have recorded."""
        if not self._store.enabled:
            return
        hold = self._store.load_record(_HOLD)
        outage = self._store.load_record(_OUTAGE)
        if self._store.failing:
            return
        self._hold = Hold.from_record(hold)
        shared = Outage.from_record(outage)
        local = self._outage
        if shared is None or (local is not None and local.next_try >= shared.next_try):
            self._outage = local if shared is not None else None
        else:
            self._outage = shared._replace(failure=local.failure if local is not None else None)


#: How many spent refresh tokens a process remembers: far more than can be stale in a store at once.
_SPENT_KEPT = 64


def _maybe_received(exc: BaseException) -> bool:
    """True when a failed request may have reached the server (its answer was lost)."""
    return isinstance(exc, APIConnectionException) and exc.request_sent
