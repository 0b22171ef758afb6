"""An outgoing HTTP request as the SDK builds it."""

from typing import Any, Optional

from mdnotesropcgwithoutauthscopes.api_helper import APIHelper


class HttpRequest:
    """An HTTP request: method, URL, headers, query parameters and form parameters.

    Callbacks (``HttpCallBack.on_before_request``) see this object just before it is sent and may
    add headers. ``repr`` shows secret headers and form fields as ``***``.
    """

    __slots__ = ("http_method", "query_url", "headers", "query_parameters", "parameters", "files")

    def __init__(
        self,
        http_method: str,
        query_url: str,
        headers: Optional[dict[str, str]] = None,
        query_parameters: Optional[dict[str, Any]] = None,
        parameters: Optional[dict[str, Any]] = None,
        files: Optional[dict[str, Any]] = None,
    ) -> None:
        self.http_method = str(http_method)  # a plain str, also for an HttpMethodEnum member
        self.query_url = query_url
        self.headers = headers if headers is not None else {}
        self.query_parameters = query_parameters
        self.parameters = parameters
        self.files = files

    def add_header(self, name: str, value: str) -> None:
        """Set a header, replacing any earlier value of the same name."""
        self.headers[name] = value

    def add_parameter(self, name: str, value: Any) -> None:
        """Add a form parameter to the body."""
        if self.parameters is None:
            self.parameters = {}
        self.parameters[name] = value

    def add_query_parameter(self, name: str, value: Any) -> None:
        """Add a query-string parameter."""
        if self.query_parameters is None:
            self.query_parameters = {}
        self.query_parameters[name] = value

    def __repr__(self) -> str:
        return (
            f"HttpRequest(http_method={self.http_method!r}, query_url={self.query_url!r}, "
            f"headers={APIHelper.redact_mapping(self.headers)!r}, "
            f"query_parameters={self.query_parameters!r}, "
            f"parameters={APIHelper.redact_mapping(self.parameters)!r})"
        )
