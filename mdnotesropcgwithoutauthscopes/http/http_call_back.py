"""Hooks called around every HTTP request the SDK sends."""

from mdnotesropcgwithoutauthscopes.http.http_request import HttpRequest
from mdnotesropcgwithoutauthscopes.http.http_response import HttpResponse


class HttpCallBack:
    """Subclass and pass as ``http_call_back`` to observe (or amend) each request and response.

    Both hooks run for API calls and token requests alike, on every attempt (retries and the
    repeat after a 401 ``invalid_token`` included), in the calling thread; the default hooks do
    nothing. ``on_after_response`` is not called when no response arrived. An exception from a
    hook is not caught. The request carries real secrets: redact before logging it yourself
    (``repr(request)`` already does).
    """

    def on_before_request(self, request: HttpRequest) -> None:
        """Called with the request just before it is sent; may change its headers."""

    def on_after_response(self, response: HttpResponse) -> None:
        """Called with each response as soon as it arrives, before it is turned into a result."""
