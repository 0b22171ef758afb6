"""The OAuth 2 token endpoint (RFC 6749 sections 4.3.2 and 6)."""

from typing import Any, Optional

from mdnotesropcgwithoutauthscopes.controllers.base_controller import BaseController, CallPipeline, Endpoint
from mdnotesropcgwithoutauthscopes.exceptions.o_auth_provider_exception import OAuthProviderException
from mdnotesropcgwithoutauthscopes.http.http_method_enum import HttpMethodEnum
from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken

_TOKEN = Endpoint(
    HttpMethodEnum.POST,
    "/token",
    OAuthToken,
    sends_credentials=True,
    errors={
        400: (OAuthProviderException, "OAuth 2 provider returned an error."),
        401: (OAuthProviderException, "OAuth 2 provider says client authentication failed."),
    },
)
# The same endpoint, sent once: for the auth manager, which paces repeats itself (API.md section 9).
_TOKEN_ONCE = _TOKEN.without_retries()
_FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class OAuthAuthorizationController(BaseController):
    """``client.o_auth_authorization``: raw token requests.

    Most code should use ``client.http_ropcg`` (``fetch_token``, ``refresh_token``), which
    builds the client authentication for you and stamps the token's expiry.

    Args:
        pipeline: the client's call pipeline.
        retries: False to send each token request once, without the pipeline's retries (what the
            auth manager uses: it paces repeats itself and must not present a refresh token again
            once it has lost the token store's lease).
    """

    def __init__(self, pipeline: CallPipeline, *, retries: bool = True) -> None:
        super().__init__(pipeline)
        self._endpoint = _TOKEN if retries else _TOKEN_ONCE

    def request_token(
        self,
        authorization: Optional[str],
        username: str,
        password: str,
        scope: Optional[str] = None,
        _optional_form_parameters: Optional[dict[str, Any]] = None,
    ) -> OAuthToken:
        """Password grant: ``POST /token`` with ``grant_type=password``.

        Args:
            authorization: the ``Authorization`` header value (``Basic ...``) authenticating the
                client, or None when the client id and secret are in the form parameters.
            username: the resource owner's user name.
            password: the resource owner's password.
            scope: requested scope; not sent when None (this API uses no scopes).
            _optional_form_parameters: more form fields.

        Returns:
            OAuthToken: the token as the server sent it: ``expiry`` is not set, and it is neither
            installed nor passed to ``o_auth_on_token_update``.

        Raises:
            OAuthProviderException: 400 (``error`` says why) or 401 (client authentication failed).
            APIException: any other failure.
        """
        form = {"grant_type": "password", "username": username, "password": password}
        return self._token_request(authorization, form, scope, _optional_form_parameters)

    def refresh_token(
        self,
        authorization: Optional[str],
        refresh_token: str,
        scope: Optional[str] = None,
        _optional_form_parameters: Optional[dict[str, Any]] = None,
    ) -> OAuthToken:
        """Refresh grant: ``POST /token`` with ``grant_type=refresh_token``.

        Args:
            authorization: as for ``request_token``.
            refresh_token: the refresh token to exchange.
            scope: requested scope; not sent when None.
            _optional_form_parameters: more form fields.

        Returns:
            OAuthToken: the token as the server sent it: ``expiry`` is not set, and it is neither
            installed nor passed to ``o_auth_on_token_update``.

        Raises:
            OAuthProviderException: 400 (``error`` says why) or 401 (client authentication failed).
            APIException: any other failure.
        """
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return self._token_request(authorization, form, scope, _optional_form_parameters)

    def _token_request(
        self,
        authorization: Optional[str],
        form: dict[str, Any],
        scope: Optional[str],
        extra: Optional[dict[str, Any]],
    ) -> OAuthToken:
        if scope is not None:
            form["scope"] = scope
        if extra:
            form.update(extra)
        headers = dict(_FORM)
        if authorization is not None:
            headers["Authorization"] = authorization
        return self._pipeline.call(self._endpoint, headers=headers, form=form)
