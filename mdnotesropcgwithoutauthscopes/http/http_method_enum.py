"""HTTP methods the SDK sends."""

from mdnotesropcgwithoutauthscopes.str_enum import StrEnum


class HttpMethodEnum(StrEnum):
    """HTTP method names: a ``str`` enum, so ``HttpMethodEnum.GET == "GET"`` and ``str()`` gives ``"GET"``."""

    GET = "GET"
    POST = "POST"
    PUT = "PUT"
    PATCH = "PATCH"
    DELETE = "DELETE"
    HEAD = "HEAD"
