"""``Auth``: the one interface between the call pipeline and an auth manager."""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from mdnotesropcgwithoutauthscopes.http.http_request import HttpRequest
    from mdnotesropcgwithoutauthscopes.http.http_response import HttpResponse


class Auth(Protocol):
    """Authorizes requests, in the shape of httpx's ``Auth.auth_flow``.

    The pipeline calls ``auth_flow(request)``, sends each request the generator yields and sends
    the response back into it; the last response is the call's. The auth manager alone decides
    what a response means for its credentials (for example that a 401 asks for a new token and
    one more try); the pipeline only sends.
    """

    def auth_flow(self, request: HttpRequest) -> Generator[HttpRequest, HttpResponse, None]:
        """Yield ``request`` with credentials applied; yield again to repeat it after a response."""
        ...
