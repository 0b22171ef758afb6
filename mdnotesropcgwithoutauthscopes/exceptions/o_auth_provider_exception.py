"""The error an OAuth 2 token endpoint returns (RFC 6749 section 5.2)."""

from typing import Optional

from mdnotesropcgwithoutauthscopes.api_helper import APIHelper
from mdnotesropcgwithoutauthscopes.exceptions.api_exception import APIException
from mdnotesropcgwithoutauthscopes.http.http_response import HttpResponse


class OAuthProviderException(APIException):
    """The token endpoint refused a request.

    Attributes:
        error: an ``OAuthProviderErrorEnum`` value (a plain string such as ``"invalid_grant"``,
            so it compares equal to ``OAuthProviderErrorEnum.INVALID_GRANT``), or the server's own
            string when it is not one of RFC 6749's; None when the body had none.
        error_description: the server's explanation, cleaned of control characters and capped.
        error_uri: the server's link to more information, cleaned the same way.
    """

    def __init__(self, reason: str, response: Optional[HttpResponse] = None) -> None:
        super().__init__(reason, response)
        self.error: Optional[str] = None
        self.error_description: Optional[str] = None
        self.error_uri: Optional[str] = None
        self.additional_properties: dict = {}
        body = None
        if response is not None:
            try:
                body = response.json()
            except ValueError:
                body = None
        if isinstance(body, dict):
            error = body.get("error")
            if isinstance(error, str):
                self.error = APIHelper.clean_text(error, 128)
            self.error_description = APIHelper.clean_text(body.get("error_description"))
            self.error_uri = APIHelper.clean_text(body.get("error_uri"), 256)
            self.additional_properties = {
                k: v for k, v in body.items() if k not in ("error", "error_description", "error_uri")
            }

    def _details(self) -> str:
        if self.error is None:
            return ""
        text = f": {self.error}"
        if self.error_description:
            text += f" ({self.error_description})"
        return text
