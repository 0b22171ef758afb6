"""HTTP methods the SDK sends."""


class HttpMethodEnum:
    """HTTP method names, as plain strings so they compare equal to ``"GET"`` and friends."""

    GET = "GET"
    POST = "POST"
    PUT = "PUT"
    PATCH = "PATCH"
    DELETE = "DELETE"
    HEAD = "HEAD"
