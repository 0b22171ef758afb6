"""OAuth 2.0 resource owner password credentials (RFC 6749 section 4.3) with refresh tokens."""

import logging
import math
import os
import threading
import time
from typing import Any, Callable, Optional
from urllib.parse import quote, quote_plus

from mdnotesropcgwithoutauthscopes.api_helper import APIHelper, check_type
from mdnotesropcgwithoutauthscopes.exceptions.api_connection_exception import APIConnectionException
from mdnotesropcgwithoutauthscopes.exceptions.api_exception import APIException
from mdnotesropcgwithoutauthscopes.exceptions.auth_validation_exception import AuthValidationException
from mdnotesropcgwithoutauthscopes.exceptions.o_auth_provider_exception import OAuthProviderException
from mdnotesropcgwithoutauthscopes.immutable_settings import ImmutableSettings
from mdnotesropcgwithoutauthscopes.models.o_auth_provider_error_enum import OAuthProviderErrorEnum
from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken

logger = logging.getLogger("mdnotesropcgwithoutauthscopes")

_now = time.time  # UTC unix time; a module attribute so tests can move the clock


class ClientAuthentication:
    """How the client id and secret are sent to the token endpoint (same for fetch and refresh)."""

    #: The default: RFC Basic first; if the server refuses the client (``invalid_client``, or a
    #: bare 401) and the id or secret has characters that the encodings treat differently, try
    #: ``BASIC_PERCENT_ENCODED``, ``BASIC_UNENCODED``, then ``REQUEST_BODY``, skipping any that
    #: would send the same bytes again. The first method accepted is kept for every later request.
    AUTO = "auto"
    #: ``Authorization: Basic`` over the form-urlencoded id and secret, as RFC 6749 section 2.3.1 says.
    BASIC = "client_secret_basic"
    #: ``Authorization: Basic`` over the percent-encoded id and secret (a space as ``%20``, not
    #: ``+``): what servers that decode with plain URL-unquoting (Authlib, many Node servers) accept.
    BASIC_PERCENT_ENCODED = "client_secret_basic_percent_encoded"
    #: ``Authorization: Basic`` over the raw id and secret, for servers that do not form-decode.
    BASIC_UNENCODED = "client_secret_basic_unencoded"
    #: ``client_id`` and ``client_secret`` in the form body (RFC 6749 section 2.3.1, second option).
    REQUEST_BODY = "client_secret_post"

    _ALL = frozenset({AUTO, BASIC, BASIC_PERCENT_ENCODED, BASIC_UNENCODED, REQUEST_BODY})


def _percent_encode(value: str) -> str:
    return quote(value, safe="")


# How each Basic method encodes the id and secret before base64 (None: as they are).
_BASIC_ENCODERS = {
    ClientAuthentication.BASIC: quote_plus,
    ClientAuthentication.BASIC_PERCENT_ENCODED: _percent_encode,
    ClientAuthentication.BASIC_UNENCODED: None,
}


class ResourceOwnerAuthCredentials(ImmutableSettings):
    """Credentials for the ``httpROPCG`` scheme; immutable, changed copies via ``clone_with``.

    Args:
        o_auth_client_id: OAuth 2 client id.
        o_auth_client_secret: OAuth 2 client secret (None for a public client).
        o_auth_username: resource owner's user name.
        o_auth_password: resource owner's password.
        o_auth_token: a stored ``OAuthToken`` (or its dictionary) to start with.
        o_auth_token_provider: ``f(last_token, auth_manager) -> OAuthToken`` used instead of the
            built-in fetch and refresh whenever a new token is needed.
        o_auth_on_token_update: ``f(token)`` called each time the SDK obtains a token by itself;
            the place to save it. An exception it raises is logged and does not fail the call.
        o_auth_clock_skew: seconds taken off the expiry when checking it (capped at half the
            token's lifetime).
        o_auth_client_authentication: a ``ClientAuthentication`` value. The default, ``AUTO``,
            sends RFC 6749 Basic and falls back to the other methods only when the server
            refuses it; name one method to use that method alone.
        o_auth_relogin_with_password: when False, the password is used only to get the first
            token; once a refresh is refused (or failed on the network) the SDK raises instead of
            signing in again. A client built with a stored token never sends the password.

    ``repr`` shows the secret, password and token as ``***``.
    """

    __slots__ = (
        "o_auth_client_id",
        "o_auth_client_secret",
        "o_auth_username",
        "o_auth_password",
        "o_auth_token",
        "o_auth_token_provider",
        "o_auth_on_token_update",
        "o_auth_clock_skew",
        "o_auth_client_authentication",
        "o_auth_relogin_with_password",
    )
    _FIELDS = __slots__
    _SECRET_FIELDS = frozenset({"o_auth_client_secret", "o_auth_password", "o_auth_token"})

    def __init__(
        self,
        o_auth_client_id: Optional[str] = None,
        o_auth_client_secret: Optional[str] = None,
        o_auth_username: Optional[str] = None,
        o_auth_password: Optional[str] = None,
        o_auth_token: Optional[OAuthToken] = None,
        o_auth_token_provider: Optional[Callable[[Optional[OAuthToken], "OAuth2"], OAuthToken]] = None,
        o_auth_on_token_update: Optional[Callable[[OAuthToken], Any]] = None,
        o_auth_clock_skew: float = 0,
        *,
        o_auth_client_authentication: str = ClientAuthentication.AUTO,
        o_auth_relogin_with_password: bool = True,
    ) -> None:
        for name, value in (
            ("o_auth_client_id", o_auth_client_id),
            ("o_auth_client_secret", o_auth_client_secret),
            ("o_auth_username", o_auth_username),
            ("o_auth_password", o_auth_password),
        ):
            check_type(name, value, str)
        if isinstance(o_auth_token, dict):
            o_auth_token = OAuthToken.from_dictionary(o_auth_token)
        check_type("o_auth_token", o_auth_token, OAuthToken)
        for name, value in (
            ("o_auth_token_provider", o_auth_token_provider),
            ("o_auth_on_token_update", o_auth_on_token_update),
        ):
            if value is not None and not callable(value):
                raise TypeError(f"{name} must be callable, not {type(value).__name__}")
        check_type("o_auth_clock_skew", o_auth_clock_skew, (int, float), allow_none=False)
        if not 0 <= o_auth_clock_skew < float("inf"):
            raise ValueError(f"o_auth_clock_skew must be a non-negative number of seconds, not {o_auth_clock_skew!r}")
        if o_auth_client_authentication not in ClientAuthentication._ALL:
            raise ValueError(
                "o_auth_client_authentication must be one of "
                f"{', '.join(sorted(ClientAuthentication._ALL))}, not {o_auth_client_authentication!r}"
            )
        check_type("o_auth_relogin_with_password", o_auth_relogin_with_password, bool, allow_none=False)
        self.o_auth_client_id = o_auth_client_id
        self.o_auth_client_secret = o_auth_client_secret
        self.o_auth_username = o_auth_username
        self.o_auth_password = o_auth_password
        self.o_auth_token = o_auth_token
        self.o_auth_token_provider = o_auth_token_provider
        self.o_auth_on_token_update = o_auth_on_token_update
        self.o_auth_clock_skew = o_auth_clock_skew
        self.o_auth_client_authentication = o_auth_client_authentication
        self.o_auth_relogin_with_password = o_auth_relogin_with_password
        self._freeze()


class _TokenState:
    """The installed token with what the hot path needs, computed once when it arrives."""

    __slots__ = ("token", "deadline", "header")

    def __init__(self, token: OAuthToken, deadline: Optional[float]) -> None:
        self.token = token
        self.deadline = deadline
        self.header = "Bearer " + token.access_token


class OAuth2:
    """The auth manager of ``httpROPCG`` (``client.http_ropcg``): owns the token and its lock.

    It fetches, refreshes and applies the token. API calls never wait on the lock while the token
    is valid; when a new one is needed, one thread asks the server and the others use its result.
    """

    def __init__(self, credentials: Optional[ResourceOwnerAuthCredentials], auth_controller: Any) -> None:
        self._credentials = credentials if credentials is not None else ResourceOwnerAuthCredentials()
        self._controller = auth_controller
        self._lock = threading.RLock()
        self._pid = os.getpid()
        self._state: Optional[_TokenState] = None
        token = self._credentials.o_auth_token
        if token is not None and _header_safe(token.access_token):
            self._state = _TokenState(token, self._deadline(token))
        self._has_had_token = token is not None
        self._client_auth_method: Optional[str] = None  # what AUTO learned the server accepts

    # ----------------------------------------------------------------- public API of the seed

    @property
    def token(self) -> Optional[OAuthToken]:
        """The token currently in use (it changes when the SDK refreshes it), or None."""
        state = self._state
        return state.token if state is not None else None

    def fetch_token(self, additional_params: Optional[dict[str, Any]] = None) -> OAuthToken:
        """Exchange the username and password for a token (password grant).

        The token is returned, not installed: store it and build a client with it, as the
        seed document shows. ``expiry`` is set to now plus ``expires_in``, rounded down to
        whole seconds.

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
        """Get a new token with the current token's refresh token (refresh grant).

        When the response carries no refresh token, the current one is kept in the result.

        Args:
            additional_params: extra form fields for the token request.

        Returns:
            OAuthToken: the new token (not installed; see ``fetch_token``).

        Raises:
            AuthValidationException: there is no token with a refresh token, or no
                ``o_auth_client_id`` (nothing sent).
            OAuthProviderException: the server refused (``error`` says why).
            APIException: any other failure.
        """
        with self._locked():
            token = self.token
            if token is None or not token.refresh_token:
                raise AuthValidationException("refresh_token() needs a current OAuth token that has a refresh_token")
            return self._refresh_grant(token.refresh_token, additional_params)[0]

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
        return deadline is not None and _now() >= deadline

    def is_valid(self) -> bool:
        """True when there is a current token and it has not expired."""
        state = self._state
        return state is not None and (state.deadline is None or _now() < state.deadline)

    # ----------------------------------------------------------------- used by the pipeline

    def apply(self, request: Any) -> _TokenState:
        """Put ``Authorization: Bearer`` on ``request``, getting a token first when needed.

        Returns the token state used, for ``renew_rejected``.
        """
        state = self._state
        if state is None or (state.deadline is not None and _now() >= state.deadline):
            state = self._renew(state)
        request.headers["Authorization"] = state.header
        return state

    def renew_rejected(self, rejected: _TokenState) -> _TokenState:
        """The server said ``invalid_token`` for ``rejected``: get a new token (once for all threads)."""
        return self._renew(rejected)

    # ----------------------------------------------------------------- internals

    def _locked(self) -> threading.RLock:
        if self._pid != os.getpid():
            # A fork copied the lock in whatever state another thread held it: start afresh.
            self._lock = threading.RLock()
            self._pid = os.getpid()
        return self._lock

    def _deadline(self, token: OAuthToken) -> Optional[float]:
        if token.expiry is None:
            return None
        skew = self._credentials.o_auth_clock_skew
        if token.expires_in is not None and token.expires_in > 0:
            # A short-lived token must never be born expired.
            skew = min(skew, token.expires_in / 2)
        return token.expiry - skew

    def _renew(self, stale: Optional[_TokenState]) -> _TokenState:
        with self._locked():
            current = self._state
            if current is not None and current is not stale and (current.deadline is None or _now() < current.deadline):
                return current  # another thread got a token while this one waited
            token, stamped_at = self._obtain(current.token if current is not None else None)
            deadline = self._deadline(token)
            if stamped_at is not None and deadline is not None and token.expires_in > 0:
                # expiry was rounded down to a whole second: never let that (with the skew) leave
                # less than half the lifetime, or a one-second token could be born expired.
                deadline = max(deadline, stamped_at + token.expires_in / 2)
            state = _TokenState(token, deadline)
            self._state = state
            self._has_had_token = True
            self._notify(token)
            return state

    def _obtain(self, last: Optional[OAuthToken]) -> tuple[OAuthToken, Optional[float]]:
        creds = self._credentials
        if creds.o_auth_token_provider is not None:
            return self._from_provider(last)
        if last is not None and last.refresh_token and creds.o_auth_client_id is not None:
            try:
                return self._refresh_grant(last.refresh_token, None)
            except OAuthProviderException as exc:
                if exc.error != OAuthProviderErrorEnum.INVALID_GRANT or not self._password_allowed():
                    raise
                logger.info("Refresh token refused (invalid_grant); signing in again with the password grant")
            except APIConnectionException as exc:
                # The server may have rotated the refresh token before the connection broke; sending
                # the old one again could revoke the whole token family, so never repeat it.
                if not self._password_allowed():
                    raise
                logger.info(
                    "Refresh outcome unknown (%s); signing in again with the password grant", type(exc).__name__
                )
        if self._password_allowed():
            return self._password_grant(None)
        raise AuthValidationException(self._cannot_obtain_reason(last))

    def _password_allowed(self) -> bool:
        creds = self._credentials
        has_password = creds.o_auth_username is not None and creds.o_auth_password is not None
        return (
            has_password
            and creds.o_auth_client_id is not None
            and (creds.o_auth_relogin_with_password or not self._has_had_token)
        )

    def _cannot_obtain_reason(self, last: Optional[OAuthToken]) -> str:
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
        token = self._credentials.o_auth_token_provider(last, self)
        if isinstance(token, dict):
            token = OAuthToken.from_dictionary(token)
        if not isinstance(token, OAuthToken):
            raise AuthValidationException(
                f"o_auth_token_provider must return an OAuthToken, not {type(token).__name__}"
            )
        return self._accept(token, None)

    def _password_grant(self, additional_params: Optional[dict[str, Any]]) -> tuple[OAuthToken, Optional[float]]:
        creds = self._credentials
        missing = [n for n in ("o_auth_client_id", "o_auth_username", "o_auth_password") if getattr(creds, n) is None]
        if missing:
            raise AuthValidationException(
                f"fetch_token() needs {', '.join(missing)} in ResourceOwnerAuthCredentials; nothing was sent"
            )
        token = self._token_request(
            lambda authorization, form: self._controller.request_token(
                authorization, creds.o_auth_username, creds.o_auth_password, _optional_form_parameters=form
            ),
            additional_params,
        )
        return self._accept(token, None)

    def _refresh_grant(
        self, refresh_token: str, additional_params: Optional[dict[str, Any]]
    ) -> tuple[OAuthToken, Optional[float]]:
        if self._credentials.o_auth_client_id is None:
            raise AuthValidationException("refresh_token() needs o_auth_client_id in ResourceOwnerAuthCredentials")
        token = self._token_request(
            lambda authorization, form: self._controller.refresh_token(
                authorization, refresh_token, _optional_form_parameters=form
            ),
            additional_params,
        )
        return self._accept(token, refresh_token)

    def _token_request(
        self, send: Callable[[Optional[str], dict[str, Any]], OAuthToken], additional_params: Any
    ) -> OAuthToken:
        """Send a token request, authenticating the client by the configured or learned method."""
        if additional_params is not None and not isinstance(additional_params, dict):
            raise TypeError(f"additional_params must be a dict, not {type(additional_params).__name__}")
        methods = self._client_auth_methods()
        first_refusal: Optional[OAuthProviderException] = None
        for index, method in enumerate(methods):
            authorization, form = self._client_authentication(method, additional_params)
            try:
                token = send(authorization, form)
            except OAuthProviderException as exc:
                # Some servers (Keycloak) answer a wrong password with 401 invalid_grant: only an
                # invalid_client, or a 401 naming no error, says the client itself was refused. A
                # fallback's invalid_request is about its own encoding (a server may refuse a
                # non-ASCII client_id in the body), not news about the request.
                refused_client = exc.error == OAuthProviderErrorEnum.INVALID_CLIENT or (
                    exc.response_code == 401 and exc.error is None
                )
                if not refused_client and not (index > 0 and exc.error == OAuthProviderErrorEnum.INVALID_REQUEST):
                    raise
                first_refusal = first_refusal or exc
                if index == len(methods) - 1:
                    raise first_refusal from None  # every method failed: report the RFC method's refusal
                logger.info(
                    "The token endpoint refused client authentication by %s; trying %s", method, methods[index + 1]
                )
                continue
            self._client_auth_method = method
            return token
        raise AssertionError("unreachable: the loop returns or raises")

    def _client_auth_methods(self) -> tuple:
        configured = self._credentials.o_auth_client_authentication
        if configured != ClientAuthentication.AUTO:
            return (configured,)
        if self._client_auth_method is not None:
            return (self._client_auth_method,)
        client_id = self._credentials.o_auth_client_id
        methods, headers = [], set()
        for method, encode in _BASIC_ENCODERS.items():
            if encode is None and ":" in client_id:
                continue  # unencoded Basic cannot carry a ':' in the user id
            header = self._basic_header(method)
            if header not in headers:  # the encodings agree for plain ids and secrets: send once
                headers.add(header)
                methods.append(method)
        if len(methods) > 1 or ":" in client_id:
            methods.append(ClientAuthentication.REQUEST_BODY)
        return tuple(methods)

    def _basic_header(self, method: str) -> str:
        creds = self._credentials
        return APIHelper.basic_auth_header(
            creds.o_auth_client_id, creds.o_auth_client_secret, encode=_BASIC_ENCODERS[method]
        )

    def _client_authentication(self, method: str, additional_params: Optional[dict[str, Any]]):
        """The Basic header or the form fields that authenticate the client, plus caller extras."""
        creds = self._credentials
        form = dict(additional_params) if additional_params else {}
        if method == ClientAuthentication.REQUEST_BODY:
            form["client_id"] = creds.o_auth_client_id
            if creds.o_auth_client_secret is not None:
                form["client_secret"] = creds.o_auth_client_secret
            return None, form
        return self._basic_header(method), form

    @staticmethod
    def _accept(token: OAuthToken, previous_refresh_token: Optional[str]) -> tuple[OAuthToken, Optional[float]]:
        """Check a new token and stamp its absolute expiry; also return when it was stamped (or None)."""
        if not _header_safe(token.access_token):
            raise APIException(
                "The token response has no usable access_token (missing, empty, not text or holds line breaks)"
            )
        stamped_at = None
        if token.expiry is None and token.expires_in is not None:
            # An int, as the model documents; rounding down errs on the early side, so the SDK never
            # sends a token that the server already considers expired.
            stamped_at = _now()
            token.expiry = math.floor(stamped_at + token.expires_in)
        if not token.refresh_token and previous_refresh_token:
            token.refresh_token = previous_refresh_token
        return token, stamped_at

    def _notify(self, token: OAuthToken) -> None:
        callback = self._credentials.o_auth_on_token_update
        if callback is None:
            return
        try:
            callback(token)
        except Exception as exc:  # noqa: BLE001 - a failing callback must not fail the API call
            logger.warning(
                "o_auth_on_token_update raised %s; the new token is in use but may not have been saved",
                type(exc).__name__,
            )

    def __repr__(self) -> str:
        return f"OAuth2(credentials={self._credentials!r}, has_token={self._state is not None})"


def _header_safe(value: Any) -> bool:
    """An access token may go in a header only if it is non-empty visible ASCII with no space or CR/LF."""
    return isinstance(value, str) and value != "" and value.isascii() and value.isprintable() and " " not in value
