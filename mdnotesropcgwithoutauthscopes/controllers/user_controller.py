"""Endpoints about the signed-in user."""

from mdnotesropcgwithoutauthscopes.controllers.base_controller import BaseController, Endpoint
from mdnotesropcgwithoutauthscopes.http.http_method_enum import HttpMethodEnum
from mdnotesropcgwithoutauthscopes.models.user import User

_GET_USER = Endpoint(HttpMethodEnum.GET, "/user", User, requires_auth=True)


class UserController(BaseController):
    """``client.user``: the user the token belongs to."""

    def get_user(self) -> User:
        """Get the signed-in user (``GET /user``, Bearer auth).

        Returns:
            User: the token's user.

        Raises:
            AuthValidationException: no usable token and none can be obtained (nothing sent).
            OAuthProviderException: the token endpoint refused a needed fetch or refresh.
            InsecureTransportException: plain ``http://`` to a non-loopback host without
                ``allow_insecure_http`` (nothing sent).
            APIConnectionException: the network failed or timed out (after retries).
            ResponseTooLargeException: the body exceeds ``max_response_bytes``.
            APIException: any other non-2xx answer.
        """
        return self._pipeline.call(_GET_USER)
