"""The interface every HTTP backend of the SDK implements."""

from typing import Optional

from mdnotesropcgwithoutauthscopes._constants import DEFAULT_MAX_RESPONSE_BYTES as DEFAULT_MAX_RESPONSE_BYTES
from mdnotesropcgwithoutauthscopes.http.http_request import HttpRequest
from mdnotesropcgwithoutauthscopes.http.http_response import HttpResponse


class HttpClient:
    """Sends one ``HttpRequest`` and returns its ``HttpResponse``; no retries, no auth.

    Implementations raise ``APIConnectionException`` (or ``APITimeoutException``) for transport
    failures, with the cause chained, and never let backend exceptions escape. Set
    ``request_sent=False`` when nothing reached the server: only then are token requests retried.
    When ``request.follow_redirects`` is False (token requests carry credentials), return a 3xx
    answer as it is: never send the request on to its ``Location``.
    """

    def execute(self, request: HttpRequest, *, timeout: Optional[float] = None) -> HttpResponse:
        """Send ``request`` and return the response.

        Raises:
            APIConnectionException: the request could not be completed.
            ResponseTooLargeException: the body exceeds the limit the client enforces.
        """
        raise NotImplementedError

    def close(self) -> None:
        """Release pooled connections."""
