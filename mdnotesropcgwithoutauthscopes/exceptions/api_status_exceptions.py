"""Errors by HTTP status: one table from an error status to its ``APIException`` subclass."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from mdnotesropcgwithoutauthscopes.exceptions.api_exception import APIException


class APIStatusException(APIException):
    """The server answered with an error status (``response`` and ``response_code`` are set)."""


class BadRequestException(APIStatusException):
    """HTTP 400: the server could not accept the request as sent."""


class AuthenticationException(APIStatusException):
    """HTTP 401: the server did not accept the credentials (after the SDK renewed the token once)."""


class PermissionDeniedException(APIStatusException):
    """HTTP 403: authenticated, but not allowed to do this."""


class NotFoundException(APIStatusException):
    """HTTP 404: nothing at this URL."""


class ConflictException(APIStatusException):
    """HTTP 409: the request conflicts with the current state of the resource."""


class UnprocessableEntityException(APIStatusException):
    """HTTP 422: the request was understood but its content is not valid."""


class RateLimitException(APIStatusException):
    """HTTP 429: too many requests (after the retries the configuration allows)."""


class ServerErrorException(APIStatusException):
    """HTTP 5xx: the server failed (after the retries the configuration allows)."""


#: The one status-to-class table; any other 5xx is ``ServerErrorException``, anything else ``APIException``.
STATUS_EXCEPTIONS: Mapping[int, type[APIStatusException]] = MappingProxyType(
    {
        400: BadRequestException,
        401: AuthenticationException,
        403: PermissionDeniedException,
        404: NotFoundException,
        409: ConflictException,
        422: UnprocessableEntityException,
        429: RateLimitException,
    }
)


def exception_class_for_status(status: int) -> type[APIException]:
    """The exception class for an error ``status`` that no endpoint declares a class of its own for."""
    exception_class = STATUS_EXCEPTIONS.get(status)
    if exception_class is not None:
        return exception_class
    if 500 <= status < 600:
        return ServerErrorException
    return APIStatusException
