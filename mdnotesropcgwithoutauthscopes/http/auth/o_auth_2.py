"""``OAuth2``: the auth manager of ``httpROPCG`` (RFC 6749 section 4.3): its public face and the 401 decision.

How the pieces fit (``doc/architecture.md`` has the whole map):
- ``token_state``: the installed token as one immutable value (one expiry; fresh, due, expired);
- ``token_source``: where new tokens come from (provider, refresh grant, password grant);
- ``coordinator``: one token request at a time per key, across threads and, with a store, processes;
- ``guard``: the sign-in hold after a refusal and the backoff after an outage;
- ``renewal``: the background renewal when a token enters its window;
- ``token_store``: where a fleet keeps its one token; ``http.forking``: what a forked child resets.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Generator
from typing import TYPE_CHECKING, Any, Callable, Optional

from mdnotesropcgwithoutauthscopes._constants import REDACTED
from mdnotesropcgwithoutauthscopes.api_helper import APIHelper
from mdnotesropcgwithoutauthscopes.exceptions.client_closed_exception import ClientClosedException
from mdnotesropcgwithoutauthscopes.exceptions.credentials_held_exception import CredentialsHeldException
from mdnotesropcgwithoutauthscopes.http import tracing
from mdnotesropcgwithoutauthscopes.http.auth.client_authentication import ClientAuthentication
from mdnotesropcgwithoutauthscopes.http.auth.coordinator import Deferred, EventSink, TokenCoordinator
from mdnotesropcgwithoutauthscopes.http.auth.credentials import ResourceOwnerAuthCredentials
from mdnotesropcgwithoutauthscopes.http.auth.guard import (
    OUTAGE_MAX,
    OUTAGE_MIN,
    RefusalGuard,
    describe_failure,
    is_transient,
)
from mdnotesropcgwithoutauthscopes.http.auth.renewal import RenewalScheduler
from mdnotesropcgwithoutauthscopes.http.auth.token_source import TokenEndpoint, TokenSource, header_safe
from mdnotesropcgwithoutauthscopes.http.auth.token_state import Timing, TokenState
from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken

if TYPE_CHECKING:
    from mdnotesropcgwithoutauthscopes.http.http_request import HttpRequest
    from mdnotesropcgwithoutauthscopes.http.http_response import HttpResponse

__all__ = ["ClientAuthentication", "OAuth2", "ResourceOwnerAuthCredentials", "TokenEndpoint", "token_store_key"]

logger = logging.getLogger("mdnotesropcgwithoutauthscopes")

# The "error" auth-param of a WWW-Authenticate challenge (RFC 6750 section 3), quoted or not.
_CHALLENGE_ERROR = re.compile(r'(?:^|[\s,])error\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]+))', re.IGNORECASE)
# After a failed early renewal that was no outage, wait this share of the time the token has left.
_EARLY_RETRY_SHARE = 0.25


def token_store_key(
    token_url: str, client_id: Optional[str], username: Optional[str], *, explicit: Optional[str] = None
) -> str:
    """The key under which a token store keeps the token of one user of one client at one server.

    A hash: no URL, client id, username or explicit key can be read from it.

    Args:
        token_url: the token endpoint's URL.
        client_id: the OAuth 2 client id (None for a token-only client).
        username: the resource owner's user name (None for a token-only client).
        explicit: ``o_auth_token_store_key``, which names the user when the credentials do not.

    Returns:
        str: ``"token:"`` and 64 hex digits.
    """
    if explicit is None:
        # Exactly the previous release's key, so the tokens in its stores are found (and shared
        # with its processes during a rolling upgrade) rather than orphaned by a new sign-in.
        material = "\x00".join((token_url, client_id or "", username or ""))
    else:
        material = "\x00".join((token_url, client_id or "", "key", explicit))
    return "token:" + hashlib.sha256(material.encode("utf-8")).hexdigest()


def token_refused(response: HttpResponse) -> bool:
    """True when a 401 from an API endpoint means the server refused the access token.

    A 401 is a refused token unless its ``WWW-Authenticate`` challenge names another error
    (RFC 6750 section 3), such as ``insufficient_scope``. Many servers answer a token they no longer
    accept with a bare ``Bearer`` challenge or none at all: that is still a refused token.
    """
    if response.status_code != 401:
        return False
    challenge = response.headers.get("WWW-Authenticate")
    if not challenge:
        return True
    for match in _CHALLENGE_ERROR.finditer(challenge):
        error = match.group(1) if match.group(1) is not None else match.group(2)
        if error != "invalid_token":
            return False
    return True


class OAuth2:
    """The auth manager of ``httpROPCG`` (``client.http_ropcg``).

    It applies the token to each call and gets a new one when needed. Calls never wait on a
    token request while the token is valid: in its renewal window one renewal runs in the
    background. When a new token is needed, one thread asks the server (under the token store's
    lease when one is set, so one process of a fleet does) and the others use its result, or get
    its failure. Refused credentials are held back (``hold``, ``clear_hold``), and an outage of
    the token endpoint is ridden out with a backoff.

    Args:
        credentials: the ``ResourceOwnerAuthCredentials`` (None for none).
        auth_controller: the token endpoint's controller.
        clock: the UTC clock in unix seconds (``time.time``); tests may pass their own.
        event: reports what happens to the token on the current call (the tracing hook).
    """

    def __init__(
        self,
        credentials: Optional[ResourceOwnerAuthCredentials],
        auth_controller: TokenEndpoint,
        *,
        clock: Callable[[], float] = time.time,
        event: EventSink = tracing.add_event,
    ) -> None:
        creds = credentials if credentials is not None else ResourceOwnerAuthCredentials()
        self._credentials = creds
        self._controller = auth_controller
        self._clock = clock
        store = creds.o_auth_token_store
        self._store_key: Optional[str] = None
        if store is not None:
            self._store_key = token_store_key(
                auth_controller.config.get_base_uri() + "/token",
                creds.o_auth_client_id,
                creds.o_auth_username,
                explicit=creds.o_auth_token_store_key,
            )
        timing = Timing(creds.o_auth_clock_skew, creds.o_auth_refresh_window)
        self._timing = timing
        self._tokens = TokenCoordinator(
            source=TokenSource(creds, auth_controller, clock, self),
            timing=timing,
            guard=RefusalGuard(
                (creds.o_auth_client_id, creds.o_auth_client_secret, creds.o_auth_username, creds.o_auth_password),
                creds.o_auth_refusal_hold_max,
            ),
            store=store,
            key=self._store_key,
            clock=clock,
            timeout=lambda: float(auth_controller.config.timeout),
            event=event,
            relogin=creds.o_auth_relogin_with_password,
        )
        self._renewals = RenewalScheduler(self._renew_in_background, clock)
        token = creds.o_auth_token
        if token is not None:
            self._tokens.mark_had_token()
            if header_safe(token.access_token):
                self._tokens.install(token)

    # ----------------------------------------------------------------- public API

    @property
    def token(self) -> Optional[OAuthToken]:
        """The token in use now (it changes when the SDK renews it), or None.

        With a token store and no token yet, the stored token (read once, no request). This is
        the token to save when you keep tokens yourself.
        """
        state = self._tokens.state
        if state is None and self._store_key is not None:
            state = self._tokens.adopt_stored()
        return state.token if state is not None else None

    @property
    def token_store_key(self) -> Optional[str]:
        """The key of this client's token in its ``o_auth_token_store`` (None without a store)."""
        return self._store_key

    @property
    def hold(self) -> Optional[CredentialsHeldException]:
        """The sign-in hold on these credentials in force now (as the exception calls raise), or None."""
        hold = self._tokens.hold
        return None if hold is None else hold.exception()

    def clear_hold(self) -> None:
        """Send the refused credentials again from the next token request on.

        For an operator who has fixed the account (or the client secret): clears the hold in this
        client and, with a token store, for every process and host using the store.
        """
        self._tokens.clear_hold()

    def fetch_token(self, additional_params: Optional[dict[str, Any]] = None) -> OAuthToken:
        """Exchange the username and password for a token (password grant).

        The token is returned, not installed: store it and build a client with it, as the
        authorization guide shows. ``expiry`` is set from ``expires_in``, rounded down to whole
        seconds. ``o_auth_on_token_update`` is not called.

        Args:
            additional_params: extra form fields for the token request (for example ``scope``).

        Returns:
            OAuthToken: the new token.

        Raises:
            AuthValidationException: the client id, username or password is missing (nothing sent).
            CredentialsHeldException: the server refused these credentials recently (nothing sent).
            OAuthProviderException: the server refused (``error`` says why).
            APIException: any other failure.
        """
        return self._tokens.fetch(additional_params)

    def refresh_token(self, additional_params: Optional[dict[str, Any]] = None) -> OAuthToken:
        """Get a new token with the current token's refresh token (refresh grant), and use it.

        A refresh spends the refresh token on servers that rotate them, so the new token is also
        installed in this client (and saved in its token store) for the calls that follow; the
        returned token stays valid. ``o_auth_on_token_update`` is not called: save the returned
        token yourself if you keep tokens. When the response carries no refresh token, the current
        one is kept in the result.

        Args:
            additional_params: extra form fields for the token request.

        Returns:
            OAuthToken: the new token.

        Raises:
            AuthValidationException: there is no token with a refresh token, or no
                ``o_auth_client_id`` (nothing sent).
            OAuthProviderException: the server refused (``error`` says why).
            APIException: any other failure.
        """
        return self._tokens.refresh(additional_params)

    def is_token_expired(self, o_auth_token: Optional[OAuthToken] = None) -> bool:
        """True when the token (the current one by default) is past its expiry minus the clock skew.

        A token without ``expiry`` never counts as expired; with no token at all this is False
        (see ``is_valid``).
        """
        state = self._tokens.state
        if o_auth_token is None or (state is not None and o_auth_token is state.token):
            deadline = state.deadline if state is not None else None
        else:
            deadline = self._timing.deadline(o_auth_token)
        return deadline is not None and self._clock() >= deadline

    def is_valid(self) -> bool:
        """True when there is a current token and it has not expired."""
        state = self._tokens.state
        return state is not None and (state.deadline is None or self._clock() < state.deadline)

    def close(self) -> None:
        """Start no more background renewals (the client is being closed)."""
        self._renewals.close()

    def auth_flow(self, request: HttpRequest) -> Generator[HttpRequest, HttpResponse, None]:
        """Authorize ``request``; the pipeline sends each request yielded and sends back the response.

        Puts ``Authorization: Bearer`` on the request, getting a token first when there is none
        or it has expired. When the server refuses the token (see ``token_refused``), gets a new
        one once and yields the request once more. ``o_auth_on_token_update`` runs after the
        request that needed the new token was sent, so a slow callback never ages a token before
        its first use.
        """
        obtained: list[OAuthToken] = []
        try:
            state = self._current(obtained)
            request.headers["Authorization"] = state.header
            response = yield request
            if token_refused(response):
                logger.debug("401 from %s: the token was refused; renewing it and repeating once", request.query_url)
                state, got = self._tokens.renew(state, early=False, refused=response)
                if got is not None:
                    obtained.append(got.token)
                request.headers["Authorization"] = state.header
                yield request
        finally:
            for token in obtained:
                self._notify(token)

    # ----------------------------------------------------------------- the hot path

    def _current(self, obtained: list[OAuthToken]) -> TokenState:
        """The state to send with: the current one while valid (renewing early in the background)."""
        state = self._tokens.state
        if state is not None and state.deadline is None:
            return state
        now = self._clock()
        if state is None or now >= state.deadline:  # type: ignore[operator]
            state, got = self._tokens.renew(state, early=False)
            if got is not None:
                obtained.append(got.token)
        if state.renew_at is not None and now >= state.renew_at:
            self._renewals.due(state, now)  # also for a token adopted from the store in its window
        return state

    def _renew_in_background(self, stale: TokenState) -> float:
        """One early renewal; returns when the next may start (0 after a success)."""
        try:
            _, got = self._tokens.renew(stale, early=True)
        except ClientClosedException:
            logger.debug("Early token renewal dropped: the client was closed")
            return 0.0
        except Deferred as wait:
            return wait.not_before  # an outage backoff is in force: its next try is the renewal's
        except Exception as exc:  # noqa: BLE001 - a background failure must reach the log, not kill a thread
            now = self._clock()
            left = (stale.deadline or now) - now
            outage = self._tokens.outage
            if isinstance(exc, CredentialsHeldException):
                not_before = exc.retry_at
            elif is_transient(exc) and outage is not None:
                not_before = outage.next_try
            else:
                not_before = now + min(OUTAGE_MAX, max(OUTAGE_MIN, left * _EARLY_RETRY_SHARE))
            logger.warning(
                "Early token renewal failed (%s); the current token stays in use for %.1fs more, next try in %.1fs",
                describe_failure(exc),
                max(0.0, left),
                max(0.0, not_before - now),
            )
            return not_before
        if got is not None:
            self._notify(got.token)
        return 0.0

    def _notify(self, token: OAuthToken) -> None:
        callback = self._credentials.o_auth_on_token_update
        if callback is None:
            return
        try:
            callback(token)
        except Exception as exc:  # noqa: BLE001 - a failing callback must not fail the API call
            message = str(exc)
            for secret in (token.access_token, token.refresh_token):
                if secret:
                    message = message.replace(secret, REDACTED)
            logger.warning(
                "o_auth_on_token_update raised %s: %s; the new token is in use but may not have been saved",
                type(exc).__name__,
                APIHelper.clean_text(message, 300),
            )

    def __repr__(self) -> str:
        store = f", token_store={type(self._credentials.o_auth_token_store).__name__}" if self._store_key else ""
        return f"OAuth2(credentials={self._credentials!r}, has_token={self._tokens.state is not None}{store})"
