"""Raised when a secret would travel over plain HTTP to a host that is not this machine."""

from mdnotesropcgwithoutauthscopes.exceptions.api_exception import APIException


class InsecureTransportException(APIException):
    """The SDK refused to send a password, client secret or token over ``http://``.

    Loopback hosts (``localhost``, ``127.0.0.0/8``, ``::1``) are always allowed; for anything
    else use ``https://`` or set ``allow_insecure_http=True`` on the configuration.
    """

    def __init__(self, url: str) -> None:
        super().__init__(
            f"Refusing to send credentials over plain HTTP to a non-loopback host: {url}. "
            "Use https, or set allow_insecure_http=True if you accept that risk.",
            None,
        )
        self.url = url
