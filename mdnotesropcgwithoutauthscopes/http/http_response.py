"""An HTTP response as the SDK received it."""

from collections.abc import Mapping
from typing import Any, Optional

from mdnotesropcgwithoutauthscopes.api_helper import APIHelper


class HttpResponse:
    """An HTTP response: status, reason, headers, body and the request that produced it.

    ``text`` is the body decoded with the charset the server named (UTF-8 otherwise); ``raw_body``
    is the bytes as received. ``repr`` never shows the body, which may hold tokens.
    """

    __slots__ = ("status_code", "reason_phrase", "headers", "raw_body", "request", "_text", "_encoding")

    def __init__(
        self,
        status_code: int,
        reason_phrase: Optional[str],
        headers: Mapping[str, str],
        text: Any,
        request: Any,
        *,
        encoding: Optional[str] = None,
    ) -> None:
        self.status_code = status_code
        self.reason_phrase = reason_phrase
        self.headers = headers
        self.request = request
        self._encoding = encoding
        if isinstance(text, (bytes, bytearray)):
            self.raw_body = bytes(text)
            self._text = None  # decoded on first use: the JSON path reads the bytes directly
        else:
            self._text = "" if text is None else text
            self.raw_body = self._text.encode("utf-8")

    @property
    def text(self) -> str:
        """The body as text."""
        if self._text is None:
            try:
                self._text = self.raw_body.decode(self._encoding or "utf-8", "replace")
            except (LookupError, UnicodeError):
                # A charset Python does not know, or one that is no text encoding for this purpose
                # ("idna", "punycode", "undefined" refuse the "replace" error handler).
                self._text = self.raw_body.decode("utf-8", "replace")
        return self._text

    def json(self) -> Any:
        """The body parsed as JSON (None when empty).

        Raises:
            ValueError: the body is not JSON.
        """
        if self._encoding is not None and self._encoding.lower().replace("-", "") != "utf8":
            return APIHelper.json_deserialize(self.text)
        return APIHelper.json_deserialize(self.raw_body)

    def __repr__(self) -> str:
        url = getattr(self.request, "query_url", None)
        return f"HttpResponse(status_code={self.status_code}, reason_phrase={self.reason_phrase!r}, url={url!r})"
