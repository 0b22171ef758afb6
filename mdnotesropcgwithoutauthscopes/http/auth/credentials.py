"""``ResourceOwnerAuthCredentials``: the immutable settings of the ``httpROPCG`` scheme."""

from __future__ import annotations

import math
from typing import Any, Callable, Optional, Union

from mdnotesropcgwithoutauthscopes.api_helper import check_type
from mdnotesropcgwithoutauthscopes.http.auth.client_authentication import ClientAuthentication
from mdnotesropcgwithoutauthscopes.http.auth.guard import HOLD_MAX_DEFAULT
from mdnotesropcgwithoutauthscopes.http.auth.token_store import TokenStore
from mdnotesropcgwithoutauthscopes.immutable_settings import ImmutableSettings
from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken

#: ``f(last_token, auth_manager) -> OAuthToken``: replaces the built-in fetch and refresh. The second
#: argument is the client's ``OAuth2`` manager (``client.http_ropcg``); it is typed ``Any`` here so
#: that the settings never import the manager that reads them.
TokenProvider = Callable[[Optional[OAuthToken], Any], OAuthToken]
#: ``f(token)``: called with each token the SDK obtains by itself.
TokenUpdateCallback = Callable[[OAuthToken], object]


class ResourceOwnerAuthCredentials(ImmutableSettings):
    """Credentials for the ``httpROPCG`` scheme; immutable, changed copies via ``clone_with``.

    An instance with nothing set (``ResourceOwnerAuthCredentials()``) stands for "no credentials".

    Args:
        o_auth_client_id: OAuth 2 client id.
        o_auth_client_secret: OAuth 2 client secret (None for a public client).
        o_auth_username: resource owner's user name.
        o_auth_password: resource owner's password.
        o_auth_token: a stored ``OAuthToken`` (or its dictionary) to start with.
        o_auth_token_provider: ``f(last_token, auth_manager) -> OAuthToken`` used instead of the
            built-in fetch and refresh whenever a new token is needed.
        o_auth_on_token_update: ``f(token)`` called each time the SDK obtains a token from the
            server by itself (not for tokens adopted from a token store); the place to save it.
            An exception it raises is logged and does not fail the call.
        o_auth_clock_skew: seconds taken off the expiry when checking it (capped at half the
            token's lifetime).
        o_auth_client_authentication: a ``ClientAuthentication`` (or its string value). The
            default, ``AUTO``, sends RFC 6749 Basic and falls back to the other methods only when
            the server refuses the client; name one method to use that method alone.
        o_auth_relogin_with_password: when False, the password is used only to get the first
            token; once a refresh is refused (or failed on the network) the SDK raises instead of
            signing in again. A client built with a stored token never sends the password.
        o_auth_token_store: a ``TokenStore`` shared by every client, process and host that should
            use one token (see ``doc/token-stores.md``). Without one, the token lives in the client.
        o_auth_token_store_key: names the token's owner in the store when the credentials name
            no username (a stored token alone, perhaps with a client id): required then, since two
            such clients of different users must never share a key. Any non-empty string; it is
            hashed with the token endpoint and client id, like a derived key.
        o_auth_refresh_window: seconds before the (skewed) expiry at which the token is renewed
            in the background while calls go on with the current one. None (the default) renews
            at half the token's lifetime, which leaves the other half to ride out an outage of
            the token endpoint. ``0`` turns early renewal off. Never more than half the lifetime.
        o_auth_refusal_hold_max: the longest the SDK holds back credentials the token endpoint
            refused (seconds; 300 by default). After a refused password or client, the same
            credentials are not sent again for a few seconds, doubling with each further refusal
            up to this cap, so a changed password cannot lock the account. ``0`` turns it off.

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
        "o_auth_token_store",
        "o_auth_refresh_window",
        "o_auth_token_store_key",
        "o_auth_refusal_hold_max",
    )
    _FIELDS = __slots__
    _SECRET_FIELDS = frozenset({"o_auth_client_secret", "o_auth_password", "o_auth_token"})

    o_auth_client_id: Optional[str]
    o_auth_client_secret: Optional[str]
    o_auth_username: Optional[str]
    o_auth_password: Optional[str]
    o_auth_token: Optional[OAuthToken]
    o_auth_token_provider: Optional[TokenProvider]
    o_auth_on_token_update: Optional[TokenUpdateCallback]
    o_auth_clock_skew: float
    o_auth_client_authentication: ClientAuthentication
    o_auth_relogin_with_password: bool
    o_auth_token_store: Optional[TokenStore]
    o_auth_refresh_window: Optional[float]
    o_auth_token_store_key: Optional[str]
    o_auth_refusal_hold_max: float

    def __init__(
        self,
        o_auth_client_id: Optional[str] = None,
        o_auth_client_secret: Optional[str] = None,
        o_auth_username: Optional[str] = None,
        o_auth_password: Optional[str] = None,
        o_auth_token: Union[OAuthToken, dict[str, Any], None] = None,
        o_auth_token_provider: Optional[TokenProvider] = None,
        o_auth_on_token_update: Optional[TokenUpdateCallback] = None,
        o_auth_clock_skew: float = 0,
        *,
        o_auth_client_authentication: Union[ClientAuthentication, str] = ClientAuthentication.AUTO,
        o_auth_relogin_with_password: bool = True,
        o_auth_token_store: Optional[TokenStore] = None,
        o_auth_refresh_window: Optional[float] = None,
        o_auth_token_store_key: Optional[str] = None,
        o_auth_refusal_hold_max: float = HOLD_MAX_DEFAULT,
    ) -> None:
        for name, value in (
            ("o_auth_client_id", o_auth_client_id),
            ("o_auth_client_secret", o_auth_client_secret),
            ("o_auth_username", o_auth_username),
            ("o_auth_password", o_auth_password),
        ):
            check_type(name, value, str)
        for name, value in (("o_auth_client_id", o_auth_client_id), ("o_auth_username", o_auth_username)):
            if value is not None and not value.strip():
                raise ValueError(f"{name} must not be empty (leave it None when there is none)")
        token = OAuthToken.from_dictionary(o_auth_token) if isinstance(o_auth_token, dict) else o_auth_token
        check_type("o_auth_token", token, OAuthToken)
        if token is not None and not (isinstance(token.access_token, str) and token.access_token):
            raise ValueError("o_auth_token has no access_token; pass a token the server issued, or None")
        for name, function in (
            ("o_auth_token_provider", o_auth_token_provider),
            ("o_auth_on_token_update", o_auth_on_token_update),
        ):
            if function is not None and not callable(function):
                raise TypeError(f"{name} must be callable, not {type(function).__name__}")
        check_type("o_auth_clock_skew", o_auth_clock_skew, (int, float), allow_none=False)
        if not 0 <= o_auth_clock_skew < math.inf:
            raise ValueError(f"o_auth_clock_skew must be a non-negative number of seconds, not {o_auth_clock_skew!r}")
        try:
            method = ClientAuthentication(o_auth_client_authentication)
        except ValueError:
            raise ValueError(
                "o_auth_client_authentication must be one of "
                f"{', '.join(m.value for m in ClientAuthentication)}, not {o_auth_client_authentication!r}"
            ) from None
        check_type("o_auth_relogin_with_password", o_auth_relogin_with_password, bool, allow_none=False)
        check_type("o_auth_token_store", o_auth_token_store, TokenStore)
        if o_auth_refresh_window is not None:
            check_type("o_auth_refresh_window", o_auth_refresh_window, (int, float), allow_none=False)
            if not 0 <= o_auth_refresh_window < math.inf:
                raise ValueError(
                    f"o_auth_refresh_window must be a non-negative number of seconds, not {o_auth_refresh_window!r}"
                )
        check_type("o_auth_token_store_key", o_auth_token_store_key, str)
        if o_auth_token_store_key is not None and not o_auth_token_store_key.strip():
            raise ValueError("o_auth_token_store_key must not be empty (leave it None to derive the key)")
        if o_auth_token_store is not None and o_auth_username is None and o_auth_token_store_key is None:
            raise ValueError(
                "credentials with an o_auth_token_store but no o_auth_username identify no user, so clients of"
                " different users could share one stored token: pass o_auth_token_store_key='...' naming whose"
                " token it is (for example the user's id)"
            )
        check_type("o_auth_refusal_hold_max", o_auth_refusal_hold_max, (int, float), allow_none=False)
        if not 0 <= o_auth_refusal_hold_max < math.inf:
            raise ValueError(
                f"o_auth_refusal_hold_max must be a non-negative number of seconds, not {o_auth_refusal_hold_max!r}"
            )
        self.o_auth_client_id = o_auth_client_id
        self.o_auth_client_secret = o_auth_client_secret
        self.o_auth_username = o_auth_username
        self.o_auth_password = o_auth_password
        self.o_auth_token = token
        self.o_auth_token_provider = o_auth_token_provider
        self.o_auth_on_token_update = o_auth_on_token_update
        self.o_auth_clock_skew = o_auth_clock_skew
        self.o_auth_client_authentication = method
        self.o_auth_relogin_with_password = o_auth_relogin_with_password
        self.o_auth_token_store = o_auth_token_store
        self.o_auth_refresh_window = o_auth_refresh_window
        self.o_auth_token_store_key = o_auth_token_store_key
        self.o_auth_refusal_hold_max = o_auth_refusal_hold_max
        self._freeze()
