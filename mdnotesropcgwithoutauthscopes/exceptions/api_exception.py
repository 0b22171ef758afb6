"""The base exception for every error the SDK raises."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:  # only for the annotation: exceptions import nothing of http/ at run time
    from mdnotesropcgwithoutauthscopes.http.http_response import HttpResponse


class APIException(Exception):
    """An API call failed.

    Attributes:
        reason: what went wrong, in words.
        response: the ``HttpResponse`` when the server answered, else None.
        response_code: its HTTP status, or None when no response arrived.
    """

    def __init__(self, reason: str, response: Optional[HttpResponse] = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.response = response
        self.response_code: Optional[int] = response.status_code if response is not None else None

    def _details(self) -> str:
        return ""

    def __str__(self) -> str:
        text = self.reason
        if self.response is not None:
            url = getattr(self.response.request, "query_url", None)
            text += f" (HTTP {self.response_code}" + (f" from {url}" if url else "") + ")"
        return text + self._details()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.reason!r}, response_code={self.response_code!r})"
