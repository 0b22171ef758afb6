"""Hooks called around every HTTP request the SDK sends."""

from mdnotesropcgwithoutauthscopes.http.http_request import HttpRequest
from mdnotesropcgwithoutauthscopes.http.http_response import HttpResponse


class HttpCallBack:
    """Subclass and pass as ``http_call_back`` to observe (or amend) each request and response.

    Both hooks run for API calls and token requests alike; the default hooks do nothing.
    """

    def on_before_request(self, request: HttpRequest) -> None:
        """Called with the request just before it is sent; may change its headers."""

    def on_after_response(self, response: HttpResponse) -> None:
        """Called with each response as soon as it arrives, before it is turned into a result."""
