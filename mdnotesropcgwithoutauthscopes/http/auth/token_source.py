"""Where new tokens come from: the user's provider, the refresh grant, the password grant. No locks."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Optional, Protocol

from mdnotesropcgwithoutauthscopes.exceptions.api_connection_exception import APIConnectionException
from mdnotesropcgwithoutauthscopes.exceptions.api_exception import APIException
from mdnotesropcgwithoutauthscopes.exceptions.auth_validation_exception import AuthValidationException
from mdnotesropcgwithoutauthscopes.exceptions.o_auth_provider_exception import OAuthProviderException
from mdnotesropcgwithoutauthscopes.http.auth.client_authentication import ClientAuthenticator
from mdnotesropcgwithoutauthscopes.http.auth.credentials import ResourceOwnerAuthCredentials
from mdnotesropcgwithoutauthscopes.http.auth.token_state import stamped
from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken

if TYPE_CHECKING:
    from mdnotesropcgwithoutauthscopes.http.http_response import HttpResponse

logger = logging.getLogger("mdnotesropcgwithoutauthscopes")

PASSWORD = "password"
REFRESH = "refresh_token"
PROVIDER = "provider"


class EndpointSettings(Protocol):
    """What the auth manager reads of the client's configuration."""

    @property
    def timeout(self) -> float: ...

    def get_base_uri(self) -> str: ...


class TokenEndpoint(Protocol):
    """The token endpoint as the auth manager uses it (``OAuthAuthorizationController``)."""

    @property
    def config(self) -> EndpointSettings: ...

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


class Obtained(NamedTuple):
    """A token the source got, and how (``"password"``, ``"refresh_token"`` or ``"provider"``)."""

    token: OAuthToken
    grant: str


#: Called before each token request with the grant about to be sent; raises to send nothing.
Gate = Callable[[str], None]


class TokenSource:
    """Gets new tokens for one client's credentials; every token it returns carries its ``expiry``.

    Args:
        credentials: the client's credentials.
        endpoint: the token endpoint.
        clock: the UTC clock (unix seconds).
        manager: what ``o_auth_token_provider`` receives as its second argument.
    """

    __slots__ = ("_credentials", "_endpoint", "_clock", "_manager", "_client_auth")

    def __init__(
        self,
        credentials: ResourceOwnerAuthCredentials,
        endpoint: TokenEndpoint,
        clock: Callable[[], float],
        manager: object,
    ) -> None:
        self._credentials = credentials
        self._endpoint = endpoint
        self._clock = clock
        self._manager = manager
        self._client_auth = ClientAuthenticator(
            credentials.o_auth_client_id or "",
            credentials.o_auth_client_secret,
            credentials.o_auth_client_authentication,
        )

    def obtain(
        self,
        last: Optional[OAuthToken],
        *,
        gate: Gate,
        password_allowed: bool,
        refused: Optional[HttpResponse] = None,
    ) -> Obtained:
        """A new token: from the provider; else by the refresh grant, falling back to the password grant.

        Args:
            last: the newest token known (its refresh token is used).
            gate: called before each request with its grant; may raise to stop it.
            password_allowed: whether the password may be sent (see ``o_auth_relogin_with_password``).
            refused: the API's 401 when the server refused ``last``'s access token.

        Raises:
            AuthValidationException: the credentials cannot get a token (nothing sent).
            OAuthProviderException, APIException: the token endpoint's failure.
        """
        creds = self._credentials
        if creds.o_auth_token_provider is not None:
            gate(PROVIDER)
            return Obtained(self._from_provider(last), PROVIDER)
        if last is not None and last.refresh_token and creds.o_auth_client_id is not None:
            try:
                gate(REFRESH)
                return Obtained(self.refresh_grant(last.refresh_token, None), REFRESH)
            except OAuthProviderException as exc:
                if not exc.refused_grant or not password_allowed:
                    raise
                logger.info("Refresh token refused (%s); signing in again with the password grant", exc.error)
            except APIConnectionException as exc:
                # The server may have rotated the refresh token before the connection broke;
                # sending the old one again could revoke the whole token family: never repeat it.
                if not password_allowed:
                    raise
                logger.info(
                    "Refresh outcome unknown (%s); signing in again with the password grant", type(exc).__name__
                )
        if password_allowed:
            gate(PASSWORD)
            return Obtained(self.password_grant(None), PASSWORD)
        raise AuthValidationException(self._cannot_obtain_reason(last, refused is not None), refused)

    @property
    def requests_sent(self) -> int:
        """How many requests the last grant made (AUTO may try several client authentications)."""
        return self._client_auth.sent

    def forget_client_refusals(self) -> None:
        """Let AUTO try every client authentication method again (the hold was cleared)."""
        self._client_auth.forget_refusals()

    def can_use_password(self) -> bool:
        """True when the credentials hold a client id, username and password."""
        creds = self._credentials
        return (
            creds.o_auth_client_id is not None
            and creds.o_auth_username is not None
            and creds.o_auth_password is not None
        )

    def password_grant(self, additional_params: Optional[dict[str, Any]]) -> OAuthToken:
        """Exchange the username and password for a token (its ``expiry`` stamped).

        Raises:
            AuthValidationException: the client id, username or password is missing (nothing sent).
        """
        creds = self._credentials
        missing = [n for n in ("o_auth_client_id", "o_auth_username", "o_auth_password") if getattr(creds, n) is None]
        if missing:
            raise AuthValidationException(
                f"fetch_token() needs {', '.join(missing)} in ResourceOwnerAuthCredentials; nothing was sent"
            )
        username, password = str(creds.o_auth_username), str(creds.o_auth_password)
        sent_at = self._clock()
        token = self._client_auth.send(
            lambda authorization, form: self._endpoint.request_token(
                authorization, username, password, _optional_form_parameters=form
            ),
            checked_params(additional_params),
        )
        return self._accept(token, None, sent_at=sent_at)

    def refresh_grant(self, refresh_token: str, additional_params: Optional[dict[str, Any]]) -> OAuthToken:
        """Exchange ``refresh_token`` for a new token (its ``expiry`` stamped; the refresh token kept if none came).

        Raises:
            AuthValidationException: there is no ``o_auth_client_id`` (nothing sent).
        """
        if self._credentials.o_auth_client_id is None:
            raise AuthValidationException("refresh_token() needs o_auth_client_id in ResourceOwnerAuthCredentials")
        sent_at = self._clock()
        token = self._client_auth.send(
            lambda authorization, form: self._endpoint.refresh_token(
                authorization, refresh_token, _optional_form_parameters=form
            ),
            checked_params(additional_params),
        )
        return self._accept(token, refresh_token, sent_at=sent_at)

    def _from_provider(self, last: Optional[OAuthToken]) -> OAuthToken:
        provider = self._credentials.o_auth_token_provider
        assert provider is not None
        token: object = provider(last, self._manager)
        if isinstance(token, dict):
            token = OAuthToken.from_dictionary(token)
        if not isinstance(token, OAuthToken):
            raise AuthValidationException(
                f"o_auth_token_provider must return an OAuthToken, not {type(token).__name__}"
            )
        # The user's own token keeps its expiry; only a missing one is stamped from expires_in.
        return self._accept(token, None, sent_at=self._clock(), trust_expiry=True)

    def _accept(
        self, token: OAuthToken, previous_refresh_token: Optional[str], *, sent_at: float, trust_expiry: bool = False
    ) -> OAuthToken:
        """A checked copy of a new token with its expiry; the token passed in is never changed.

        A server's token gets ``expiry`` from ``expires_in`` alone (a server-sent ``expiry`` is not
        trusted), stamped from when the request was sent.
        """
        if not header_safe(token.access_token):
            raise APIException(
                "The token response has no usable access_token (missing, empty, not text or holds line breaks)"
            )
        values = token.to_dictionary()
        if not (trust_expiry and token.expiry is not None):
            values.pop("expiry", None)
            expiry = stamped(token, sent_at)
            if expiry is not None:
                values["expiry"] = expiry
        if not token.refresh_token and previous_refresh_token:
            values["refresh_token"] = previous_refresh_token
        return OAuthToken.from_dictionary(values)

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


def checked_params(additional_params: Optional[dict[str, Any]]) -> Optional[dict[str, Any]]:
    """``additional_params`` when it is a dict (or None)."""
    if additional_params is not None and not isinstance(additional_params, dict):
        raise TypeError(f"additional_params must be a dict, not {type(additional_params).__name__}")
    return additional_params


def header_safe(value: Any) -> bool:
    """An access token may go in a header only if it is non-empty visible ASCII with no space or CR/LF."""
    return isinstance(value, str) and value != "" and value.isascii() and value.isprintable() and " " not in value
