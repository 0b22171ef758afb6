"""OAuth 2.0 resource owner password credentials (RFC 6749 section 4.3): the token's lifecycle."""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
import threading
import time
from collections.abc import Generator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Callable, Optional, Protocol

from mdnotesropcgwithoutauthscopes.api_helper import APIHelper
from mdnotesropcgwithoutauthscopes.exceptions.api_connection_exception import APIConnectionException
from mdnotesropcgwithoutauthscopes.exceptions.api_exception import APIException
from mdnotesropcgwithoutauthscopes.exceptions.auth_validation_exception import AuthValidationException
from mdnotesropcgwithoutauthscopes.exceptions.client_closed_exception import ClientClosedException
from mdnotesropcgwithoutauthscopes.exceptions.o_auth_provider_exception import OAuthProviderException
from mdnotesropcgwithoutauthscopes.http.auth.client_authentication import (
    ClientAuthentication,
    ClientAuthenticator,
    is_grant_refusal,
)
from mdnotesropcgwithoutauthscopes.http.auth.credentials import ResourceOwnerAuthCredentials
from mdnotesropcgwithoutauthscopes.http.auth.token_store import TokenStore, TokenStoreError
from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken

if TYPE_CHECKING:
    from mdnotesropcgwithoutauthscopes.http.http_request import HttpRequest
    from mdnotesropcgwithoutauthscopes.http.http_response import HttpResponse

__all__ = ["ClientAuthentication", "OAuth2", "ResourceOwnerAuthCredentials", "token_store_key"]

logger = logging.getLogger("mdnotesropcgwithoutauthscopes")

# The automatic early-renewal window: one and a half times what the last token request took (so the
# new token arrives before the old one expires), at least 5% of the lifetime; at most a minute, and
# never more than half the lifetime. Small, because every second of it is taken off each token's use.
_AUTO_WINDOW_REQUEST_FACTOR = 1.5
_AUTO_WINDOW_FRACTION = 0.05
_AUTO_WINDOW_MAX = 60.0
# After a failed early renewal, wait this share of the time the token has left (within bounds)
# before trying again, so a failing server is not hammered while the token is still good.
_EARLY_RETRY_SHARE = 0.25
_EARLY_RETRY_MIN = 0.2
_EARLY_RETRY_MAX = 30.0
# The "error" auth-param of a WWW-Authenticate challenge (RFC 6750 section 3), quoted or not.
_CHALLENGE_ERROR = re.compile(r'(?:^|[\s,])error\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]+))', re.IGNORECASE)


class _EndpointSettings(Protocol):
    """What the auth manager reads of the client's configuration."""

    @property
    def timeout(self) -> float: ...

    @property
    def max_retries(self) -> int: ...

    @property
    def max_retry_wait(self) -> float: ...

    def get_base_uri(self) -> str: ...


class TokenEndpoint(Protocol):
    """The token endpoint as the auth manager uses it (``OAuthAuthorizationController``)."""

    @property
    def config(self) -> _EndpointSettings: ...

    def request_token(
        self,
        authorization: Optional[str],
        username: str,
        password: str,
        scope: Optional[str] = None,
        _optional_form_parameters: Optional[dict[str, Any]] = None,
    ) -> OAuthToken: ...

    def refresh_token(
        self,
        authorization: Optional[str],
        refresh_token: str,
        scope: Optional[str] = None,
        _optional_form_parameters: Optional[dict[str, Any]] = None,
    ) -> OAuthToken: ...


def token_store_key(token_url: str, client_id: Optional[str], username: Optional[str]) -> str:
    """The key under which a token store keeps the token of one user of one client at one server.

    A hash: no URL, client id or username can be read from it.

    Args:
        token_url: the token endpoint's URL.
        client_id: the OAuth 2 client id (None for a token-only client).
        username: the resource owner's user name (None for a token-only client).

    Returns:
        str: ``"token:"`` and 64 hex digits.
    """
    material = "\x00".join((token_url, client_id or "", username or ""))
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


class _TokenState:
    """The installed token with what the hot path needs, computed once when it arrives."""

    __slots__ = ("token", "deadline", "renew_at", "header")

    def __init__(self, token: OAuthToken, deadline: Optional[float], renew_at: Optional[float]) -> None:
        self.token = token
        self.deadline = deadline  # when it counts as expired (skew applied); None: never
        self.renew_at = renew_at  # when a background renewal starts; None: never early
        self.header = "Bearer " + str(token.access_token)


class OAuth2:
    """The auth manager of ``httpROPCG`` (``client.http_ropcg``): owns the token and its lock.

    It fetches, refreshes and applies the token. Calls never wait on a token request while the
    token is valid: near its expiry one renewal runs in the background. When a new token is
    needed, one thread asks the server (under the token store's lock when one is set, so one
    process of a fleet does) and the others use its result, or get its failure.

    Args:
        credentials: the ``ResourceOwnerAuthCredentials`` (None for none).
        auth_controller: the token endpoint's controller.
        clock: the UTC clock in unix seconds (``time.time``); tests may pass their own.
    """

    def __init__(
        self,
        credentials: Optional[ResourceOwnerAuthCredentials],
        auth_controller: TokenEndpoint,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._credentials = credentials if credentials is not None else ResourceOwnerAuthCredentials()
        self._controller = auth_controller
        self._clock = clock
        creds = self._credentials
        self._client_auth = ClientAuthenticator(
            creds.o_auth_client_id or "", creds.o_auth_client_secret, creds.o_auth_client_authentication
        )
        self._store: Optional[TokenStore] = creds.o_auth_token_store
        self._store_key: Optional[str] = None
        self._store_failing = False
        self._last_request_seconds = 0.0  # how long the last token request took (for the window)
        self._reset_process_state()
        self._state: Optional[_TokenState] = None
        token = creds.o_auth_token
        if token is not None and _header_safe(token.access_token):
            self._state = self._state_for(token, stamped_at=None)
        self._has_had_token = token is not None

    def _reset_process_state(self) -> None:
        """Locks and background work belong to one process: a forked child starts them afresh."""
        self._pid = os.getpid()
        self._lock = threading.RLock()
        self._attempts = 0  # token attempts finished, for threads that waited on one
        self._failure: Optional[BaseException] = None  # the last attempt's failure, if it failed
        self._early_guard = threading.Lock()
        self._early_running = False
        self._early_not_before = 0.0

    # ----------------------------------------------------------------- public API

    @property
    def token(self) -> Optional[OAuthToken]:
        """The token in use now (it changes when the SDK renews it), or None.

        With a token store and no token yet, the stored token (read once, no request). This is
        the token to save when you keep tokens yourself.
        """
        state = self._state
        if state is None and self._store is not None:
            state = self._adopt_stored()
        return state.token if state is not None else None

    @property
    def token_store_key(self) -> Optional[str]:
        """The key of this client's token in its ``o_auth_token_store`` (None without a store)."""
        if self._store is None:
            return None
        if self._store_key is None:
            creds = self._credentials
            self._store_key = token_store_key(self._token_url(), creds.o_auth_client_id, creds.o_auth_username)
        return self._store_key

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
            OAuthProviderException: the server refused (``error`` says why).
            APIException: any other failure.
        """
        with self._locked():
            return self._password_grant(additional_params)[0]

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
        with self._locked(), self._store_lock() as use_store:
            current = self._latest_token(use_store)
            if current is None or not current.refresh_token:
                raise AuthValidationException("refresh_token() needs a current OAuth token that has a refresh_token")
            token, stamped_at = self._refresh_grant(current.refresh_token, additional_params)
            self._install(token, stamped_at)
            if use_store:
                self._store_save(token, stamped_at)
            return token

    def is_token_expired(self, o_auth_token: Optional[OAuthToken] = None) -> bool:
        """True when the token (the current one by default) is past its expiry minus the clock skew.

        A token without ``expiry`` never counts as expired; with no token at all this is False
        (see ``is_valid``).
        """
        state = self._state
        if o_auth_token is None or (state is not None and o_auth_token is state.token):
            if state is None:
                return False
            deadline = state.deadline
        else:
            deadline = self._deadline(o_auth_token)
        return deadline is not None and self._clock() >= deadline

    def is_valid(self) -> bool:
        """True when there is a current token and it has not expired."""
        state = self._state
        return state is not None and (state.deadline is None or self._clock() < state.deadline)

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
                state = self._renew_refused(state, response, obtained)
                request.headers["Authorization"] = state.header
                yield request
        finally:
            for token in obtained:
                self._notify(token)

    # ----------------------------------------------------------------- the token's lifecycle

    def _current(self, obtained: list[OAuthToken]) -> _TokenState:
        """The state to send with: the current one while valid (renewing early in the background)."""
        state = self._state
        if state is not None and state.deadline is None:
            return state
        now = self._clock()
        if state is None or (state.deadline is not None and now >= state.deadline):
            state, token = self._renew(state, early=False)
            if token is not None:
                obtained.append(token)
        if state.renew_at is not None and now >= state.renew_at:
            self._start_early_renewal(state, now)  # also for a token adopted from the store in its window
        return state

    def _renew_refused(self, refused: _TokenState, response: HttpResponse, obtained: list[OAuthToken]) -> _TokenState:
        state, token = self._renew(refused, early=False, refused=response)
        if token is not None:
            obtained.append(token)
        return state

    def _renew(
        self, stale: Optional[_TokenState], *, early: bool, refused: Optional[HttpResponse] = None
    ) -> tuple[_TokenState, Optional[OAuthToken]]:
        """Get a state newer than ``stale``: another thread's or process's, or a new token.

        Args:
            stale: the state the caller found unusable (None: there was none).
            early: a background renewal: a state still outside its renewal window will do.
            refused: the server's 401 answer when it refused ``stale``'s token.

        Returns the state and the token this call obtained from the server (None when adopted).
        """
        seen = self._attempts
        if stale is None and self._store is not None:
            adopted = self._adopt_stored()  # a restart: no lock while the stored one is good
            if adopted is not None:
                return adopted, None
        with self._locked():
            current = self._state
            if self._usable(current, stale, early):
                assert current is not None
                return current, None  # another thread got a token while this one waited
            if self._attempts != seen and self._failure is not None:
                raise self._failure  # the attempt this thread waited for failed: share its failure
            try:
                result = self._renew_locked(current, early=early, refused=refused)
            except BaseException as exc:
                self._attempts += 1
                self._failure = exc
                raise
            self._attempts += 1
            self._failure = None
            return result

    def _renew_locked(
        self, current: Optional[_TokenState], *, early: bool, refused: Optional[HttpResponse]
    ) -> tuple[_TokenState, Optional[OAuthToken]]:
        with self._store_lock() as use_store:
            last = current.token if current is not None else None
            if use_store:
                stored = self._store_load()
                if stored is not None:
                    state = self._state_for(stored, stamped_at=None)
                    newer = last is None or stored.access_token != last.access_token
                    if newer and self._usable(state, None, early):
                        self._state = state  # another process renewed it: adopt, no request
                        self._has_had_token = True
                        return state, None
                    last = stored  # the head of the shared refresh-token chain
            token, stamped_at = self._obtain(last, refused)
            state = self._install(token, stamped_at)
            if use_store:
                self._store_save(token, stamped_at)
            return state, token

    def _usable(self, state: Optional[_TokenState], stale: Optional[_TokenState], early: bool) -> bool:
        if state is None or state is stale:
            return False
        now = self._clock()
        if early and state.renew_at is not None:
            return now < state.renew_at
        return state.deadline is None or now < state.deadline

    def _install(self, token: OAuthToken, stamped_at: Optional[float]) -> _TokenState:
        state = self._state_for(token, stamped_at)
        self._state = state
        self._has_had_token = True
        return state

    def _state_for(self, token: OAuthToken, stamped_at: Optional[float]) -> _TokenState:
        lifetime = _lifetime(token)
        # A token this process stamped has its exact expiry; the model's ``expiry`` is that rounded
        # down to a whole second, which would take up to a second off a short token's use.
        expiry = _exact_expiry(token, stamped_at)
        if expiry is None:
            return _TokenState(token, None, None)
        deadline = expiry - self._skew(lifetime)
        window = self._window(lifetime if lifetime is not None else max(0.0, deadline - self._clock()))
        return _TokenState(token, deadline, deadline - window if window > 0 else None)

    def _window(self, lifetime: float) -> float:
        configured = self._credentials.o_auth_refresh_window
        if configured is None:
            configured = min(
                _AUTO_WINDOW_MAX,
                max(lifetime * _AUTO_WINDOW_FRACTION, _AUTO_WINDOW_REQUEST_FACTOR * self._last_request_seconds),
            )
        return min(configured, lifetime / 2)

    def _skew(self, lifetime: Optional[float]) -> float:
        skew = self._credentials.o_auth_clock_skew
        return min(skew, lifetime / 2) if lifetime is not None else skew  # never born expired

    def _deadline(self, token: OAuthToken) -> Optional[float]:
        if token.expiry is None:
            return None
        return token.expiry - self._skew(_lifetime(token))

    # ----------------------------------------------------------------- early renewal

    def _start_early_renewal(self, state: _TokenState, now: float) -> None:
        """Start one background renewal of ``state`` unless one runs or a failed one is pausing."""
        if self._pid != os.getpid():
            self._locked()  # a forked child: the parent's renewal thread was not copied
        if self._early_running or now < self._early_not_before:
            return
        if not self._early_guard.acquire(blocking=False):
            return
        try:
            if self._early_running:
                return
            self._early_running = True
        finally:
            self._early_guard.release()
        # A short-lived thread: it ends with its renewal. It is not a daemon, so an interpreter that
        # exits meanwhile waits for it: killing it mid-request could lose a rotated refresh token
        # that the server already spent, and the next refresh would be refused.
        worker = threading.Thread(target=self._renew_early, args=(state,), name="mdnotes-token-renewal", daemon=False)
        try:
            worker.start()
        except RuntimeError:  # interpreter shutting down: no new threads; the token is still valid
            self._early_running = False

    def _renew_early(self, stale: _TokenState) -> None:
        token = None
        try:
            _, token = self._renew(stale, early=True)
        except ClientClosedException:
            logger.debug("Early token renewal dropped: the client was closed")
        except Exception as exc:  # noqa: BLE001 - a background failure must reach the log, not kill a thread
            left = (stale.deadline or 0.0) - self._clock()
            pause = min(_EARLY_RETRY_MAX, max(_EARLY_RETRY_MIN, left * _EARLY_RETRY_SHARE))
            self._early_not_before = self._clock() + pause
            logger.warning(
                "Early token renewal failed (%s); the current token stays in use for %.1fs more, next try in %.1fs",
                _describe(exc),
                max(0.0, left),
                pause,
            )
        finally:
            self._early_running = False
        if token is not None:
            self._notify(token)

    # ----------------------------------------------------------------- obtaining a token

    def _obtain(
        self, last: Optional[OAuthToken], refused: Optional[HttpResponse] = None
    ) -> tuple[OAuthToken, Optional[float]]:
        creds = self._credentials
        clock_started = time.monotonic()
        try:
            if creds.o_auth_token_provider is not None:
                return self._from_provider(last)
            if last is not None and last.refresh_token and creds.o_auth_client_id is not None:
                try:
                    return self._refresh_grant(last.refresh_token, None)
                except OAuthProviderException as exc:
                    if not is_grant_refusal(exc) or not self._password_allowed():
                        raise
                    logger.info("Refresh token refused (%s); signing in again with the password grant", exc.error)
                except APIConnectionException as exc:
                    # The server may have rotated the refresh token before the connection broke;
                    # sending the old one again could revoke the whole token family: never repeat it.
                    if not self._password_allowed():
                        raise
                    logger.info(
                        "Refresh outcome unknown (%s); signing in again with the password grant", _describe(exc)
                    )
            if self._password_allowed():
                return self._password_grant(None)
            raise AuthValidationException(self._cannot_obtain_reason(last, refused is not None), refused)
        finally:
            self._last_request_seconds = time.monotonic() - clock_started

    def _password_allowed(self) -> bool:
        creds = self._credentials
        has_password = creds.o_auth_username is not None and creds.o_auth_password is not None
        return (
            has_password
            and creds.o_auth_client_id is not None
            and (creds.o_auth_relogin_with_password or not self._has_had_token)
        )

    def _cannot_obtain_reason(self, last: Optional[OAuthToken], refused: bool) -> str:
        if refused:
            state = "was refused by the server (HTTP 401: revoked, or not valid there)"
        else:
            state = "has expired" if last is not None else "is missing"
        missing = [
            name
            for name in ("o_auth_client_id", "o_auth_username", "o_auth_password")
            if getattr(self._credentials, name) is None
        ]
        if not missing:
            how = "o_auth_relogin_with_password is False, so the password is not used again"
        else:
            how = f"the credentials lack {', '.join(missing)}"
        return (
            f"The OAuth token {state} and the SDK cannot obtain a new one: {how}. "
            "Fetch a new token and install it with clone_with(o_auth_token=...), or give the credentials "
            "o_auth_client_id with a username and password or a token that has a refresh token, "
            "or an o_auth_token_provider."
        )

    def _from_provider(self, last: Optional[OAuthToken]) -> tuple[OAuthToken, Optional[float]]:
        provider = self._credentials.o_auth_token_provider
        assert provider is not None
        token: object = provider(last, self)
        if isinstance(token, dict):
            token = OAuthToken.from_dictionary(token)
        if not isinstance(token, OAuthToken):
            raise AuthValidationException(
                f"o_auth_token_provider must return an OAuthToken, not {type(token).__name__}"
            )
        # The user's own token keeps its expiry; only a missing one is stamped from expires_in.
        return self._accept(token, None, trust_expiry=True)

    def _password_grant(self, additional_params: Optional[dict[str, Any]]) -> tuple[OAuthToken, Optional[float]]:
        creds = self._credentials
        missing = [n for n in ("o_auth_client_id", "o_auth_username", "o_auth_password") if getattr(creds, n) is None]
        if missing:
            raise AuthValidationException(
                f"fetch_token() needs {', '.join(missing)} in ResourceOwnerAuthCredentials; nothing was sent"
            )
        username, password = str(creds.o_auth_username), str(creds.o_auth_password)
        started = self._clock()
        token = self._client_auth.send(
            lambda authorization, form: self._controller.request_token(
                authorization, username, password, _optional_form_parameters=form
            ),
            _checked_params(additional_params),
        )
        return self._accept(token, None, trust_expiry=False, stamped_at=started)

    def _refresh_grant(
        self, refresh_token: str, additional_params: Optional[dict[str, Any]]
    ) -> tuple[OAuthToken, Optional[float]]:
        if self._credentials.o_auth_client_id is None:
            raise AuthValidationException("refresh_token() needs o_auth_client_id in ResourceOwnerAuthCredentials")
        started = self._clock()
        token = self._client_auth.send(
            lambda authorization, form: self._controller.refresh_token(
                authorization, refresh_token, _optional_form_parameters=form
            ),
            _checked_params(additional_params),
        )
        return self._accept(token, refresh_token, trust_expiry=False, stamped_at=started)

    def _accept(
        self,
        token: OAuthToken,
        previous_refresh_token: Optional[str],
        *,
        trust_expiry: bool,
        stamped_at: Optional[float] = None,
    ) -> tuple[OAuthToken, Optional[float]]:
        """A checked copy of a new token with its absolute expiry; also when it was stamped (or None).

        A server's token gets ``expiry`` from ``expires_in`` alone (a server-sent ``expiry`` is not
        trusted). The token passed in is never changed.
        """
        if not _header_safe(token.access_token):
            raise APIException(
                "The token response has no usable access_token (missing, empty, not text or holds line breaks)"
            )
        values = token.to_dictionary()
        if trust_expiry and token.expiry is not None:
            stamped_at = None
        else:
            values.pop("expiry", None)
            if token.expires_in is not None:
                # Stamped from when the request was sent and rounded down (an int, as the model
                # documents): the SDK errs early and never sends a token the server thinks expired.
                stamped_at = self._clock() if stamped_at is None else stamped_at
                values["expiry"] = math.floor(stamped_at + token.expires_in)
            else:
                stamped_at = None
        if not token.refresh_token and previous_refresh_token:
            values["refresh_token"] = previous_refresh_token
        return OAuthToken.from_dictionary(values), stamped_at

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
                    message = message.replace(secret, "***")
            logger.warning(
                "o_auth_on_token_update raised %s: %s; the new token is in use but may not have been saved",
                type(exc).__name__,
                APIHelper.clean_text(message, 300),
            )

    # ----------------------------------------------------------------- the token store

    def _token_url(self) -> str:
        return self._controller.config.get_base_uri() + "/token"

    def _lease(self) -> float:
        """How long this client may hold the store's lock: one token request with its retries."""
        config = self._controller.config
        tries = 1 + max(config.max_retries, 2)
        return config.timeout * tries + min(config.max_retry_wait, config.timeout) * (tries - 1) + 1.0

    def _store_lock(self) -> AbstractContextManager[bool]:
        return _StoreLock(self)

    def _latest_token(self, use_store: bool) -> Optional[OAuthToken]:
        if use_store:
            stored = self._store_load()
            if stored is not None:
                return stored
        state = self._state
        return state.token if state is not None else None

    def _adopt_stored(self) -> Optional[_TokenState]:
        """Install the stored token, without the lock or a request, if it is valid now."""
        stored = self._store_load()
        if stored is None:
            return None
        state = self._state_for(stored, stamped_at=None)
        if not self._usable(state, None, early=False):
            return None
        with self._locked():
            if self._state is None or self._state.token.access_token != stored.access_token:
                self._state = state
                self._has_had_token = True
            return self._state

    def _store_load(self) -> Optional[OAuthToken]:
        store, key = self._store, self.token_store_key
        if store is None or key is None:
            return None
        try:
            token = store.load(key)
        except Exception as exc:  # noqa: BLE001 - a failing store must not fail the call
            self._store_failed("read", exc)
            return None
        self._store_answered()
        if token is not None and not _header_safe(token.access_token):
            logger.warning("The token store held an unusable token; it is ignored and will be replaced")
            return None
        return token

    def _store_save(self, token: OAuthToken, stamped_at: Optional[float]) -> None:
        store, key = self._store, self.token_store_key
        if store is None or key is None:
            return
        exact = _exact_expiry(token, stamped_at)
        if exact is not None and exact != token.expiry:
            # Other processes adopt it with its exact expiry, not one rounded down by up to a second.
            token = OAuthToken.from_dictionary({**token.to_dictionary(), "expiry": exact})
        try:
            store.save(key, token)
        except Exception as exc:  # noqa: BLE001 - a failing store must not fail the call
            self._store_failed("write", exc)
            return
        self._store_answered()

    def _store_failed(self, action: str, exc: BaseException) -> None:
        level = logging.DEBUG if self._store_failing else logging.WARNING
        self._store_failing = True
        logger.log(
            level,
            "Token store %s failed (%s); going on with the token held in this process",
            action,
            _describe(exc),
        )

    def _store_answered(self) -> None:
        if self._store_failing:
            self._store_failing = False
            logger.info("The token store answers again; the shared token is used from now on")

    # ----------------------------------------------------------------- plumbing

    def _locked(self) -> threading.RLock:
        if self._pid != os.getpid():
            # A fork copied the locks in whatever state other threads held them, and none of the
            # parent's threads: start afresh.
            self._reset_process_state()
        return self._lock

    def __repr__(self) -> str:
        store = f", token_store={type(self._store).__name__}" if self._store is not None else ""
        return f"OAuth2(credentials={self._credentials!r}, has_token={self._state is not None}{store})"


class _StoreLock:
    """The store's lock for one renewal; yields False (in-process only) when the store fails."""

    __slots__ = ("_manager", "_held")

    def __init__(self, manager: OAuth2) -> None:
        self._manager = manager
        self._held: Optional[AbstractContextManager[None]] = None

    def __enter__(self) -> bool:
        manager = self._manager
        store, key = manager._store, manager.token_store_key
        if store is None or key is None:
            return False
        try:
            held = store.lock(key, manager._lease())
            held.__enter__()
        except Exception as exc:  # noqa: BLE001 - a failing store must not fail the call
            manager._store_failed("lock", exc)
            return False
        self._held = held
        return True

    def __exit__(self, *exc_info: object) -> None:
        held, self._held = self._held, None
        if held is None:
            return
        try:
            held.__exit__(None, None, None)
        except Exception as exc:  # noqa: BLE001 - the lease ends by itself; the call is done
            self._manager._store_failed("unlock", exc)


def _lifetime(token: OAuthToken) -> Optional[float]:
    expires_in = token.expires_in
    return float(expires_in) if expires_in is not None and expires_in > 0 else None


def _exact_expiry(token: OAuthToken, stamped_at: Optional[float]) -> Optional[float]:
    lifetime = _lifetime(token)
    if stamped_at is not None and lifetime is not None:
        return stamped_at + lifetime
    return None if token.expiry is None else float(token.expiry)


def _checked_params(additional_params: Optional[dict[str, Any]]) -> Optional[dict[str, Any]]:
    if additional_params is not None and not isinstance(additional_params, dict):
        raise TypeError(f"additional_params must be a dict, not {type(additional_params).__name__}")
    return additional_params


def _describe(exc: BaseException) -> str:
    """An exception for a log line: its class, and its text when it is the SDK's own (secret-free)."""
    if isinstance(exc, (APIException, TokenStoreError)):
        return f"{type(exc).__name__}: {APIHelper.clean_text(str(exc), 300)}"
    return type(exc).__name__


def _header_safe(value: Any) -> bool:
    """An access token may go in a header only if it is non-empty visible ASCII with no space or CR/LF."""
    return isinstance(value, str) and value != "" and value.isascii() and value.isprintable() and " " not in value
