"""Endpoints of the service itself."""

from mdnotesropcgwithoutauthscopes.controllers.base_controller import BaseController, Endpoint
from mdnotesropcgwithoutauthscopes.http.http_method_enum import HttpMethodEnum
from mdnotesropcgwithoutauthscopes.models.service_status import ServiceStatus

_GET_STATUS = Endpoint(HttpMethodEnum.GET, "/status", ServiceStatus, requires_auth=True)


class ServiceController(BaseController):
    """``client.service``: the service's health."""

    def get_status(self) -> ServiceStatus:
        """Get the service status (``GET /status``, Bearer auth).

        Returns:
            ServiceStatus: the service's name, counts and time.

        Raises:
            AuthValidationException: no usable token and none can be obtained (nothing sent).
            OAuthProviderException: the token endpoint refused a needed fetch or refresh.
            InsecureTransportException: plain ``http://`` to a non-loopback host without
                ``allow_insecure_http`` (nothing sent).
            APIConnectionException: the network failed or timed out (after retries).
            ResponseTooLargeException: the body exceeds ``max_response_bytes``.
            APIException: any other non-2xx answer.
        """
        return self._pipeline.call(_GET_STATUS)
