"""Transport failures: the request could not be sent or no complete answer came back."""

from typing import Optional

from mdnotesropcgwithoutauthscopes.exceptions.api_exception import APIException


class APIConnectionException(APIException, ConnectionError):
    """The HTTP exchange failed before a complete response arrived (DNS, refused, reset, TLS...).

    Attributes:
        url: the URL that was being called.
        request_sent: False when the failure happened before any byte of the request left, so
            repeating it cannot have a side effect on the server.
    The underlying exception is kept as ``__cause__``. It is also the builtin ``ConnectionError``
    (and ``APITimeoutException`` the builtin ``TimeoutError``), so generic handlers catch it.
    """

    def __init__(self, reason: str, url: Optional[str] = None, *, request_sent: bool = True) -> None:
        super().__init__(reason, None)
        self.url = url
        self.request_sent = request_sent

    def _details(self) -> str:
        return f" [{self.url}]" if self.url else ""


class APITimeoutException(APIConnectionException, TimeoutError):
    """The server did not answer within the configured ``timeout``."""
