"""Raised when a response body is larger than the configured cap."""

from mdnotesropcgwithoutauthscopes.exceptions.api_exception import APIException


class ResponseTooLargeException(APIException):
    """A response body exceeded ``max_response_bytes`` (after decompression) and was not read whole."""

    def __init__(self, url: str, limit: int) -> None:
        super().__init__(f"Response body from {url} exceeds the {limit}-byte limit", None)
        self.url = url
        self.limit = limit
