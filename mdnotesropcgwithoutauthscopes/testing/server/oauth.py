"""RFC 6749 token-endpoint helpers: errors, form parsing and client authentication."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Iterator, Mapping, Sequence
from typing import Optional
from urllib.parse import parse_qsl, unquote_plus

REALM = "mdnotes"
# More would only be an attack on the parser; a token request has at most six fields.
_MAX_FORM_FIELDS = 50


class OAuthError(Exception):
    """An RFC 6749 §5.2 error response."""

    def __init__(
        self, error: str, description: str, *, status: int = 400, headers: Sequence[tuple[str, str]] = ()
    ) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.headers = tuple(headers)

    def body(self) -> dict[str, str]:
        """The JSON error body."""
        return {"error": self.error, "error_description": self.description}


def invalid_request(description: str) -> OAuthError:
    """An ``invalid_request`` error (400)."""
    return OAuthError("invalid_request", description)


class InvalidClient(OAuthError):
    """An ``invalid_client`` error: 401 with the challenge RFC 6749 §5.2 asks for.

    ``client_id`` is the server's client when the request named it with a wrong secret (a
    failure that counts towards locking it), else ``None``.
    """

    def __init__(self, description: str, *, client_id: Optional[str] = None) -> None:
        super().__init__(
            "invalid_client", description, status=401, headers=[("WWW-Authenticate", f'Basic realm="{REALM}"')]
        )
        self.client_id = client_id


def invalid_client(description: str, *, client_id: Optional[str] = None) -> InvalidClient:
    """An ``invalid_client`` error: 401 with the challenge RFC 6749 §5.2 asks for."""
    return InvalidClient(description, client_id=client_id)


def parse_form(body: bytes) -> dict[str, str]:
    """Parse an ``application/x-www-form-urlencoded`` body the way RFC 6749 §3.1 and §3.2 ask.

    Raises:
        OAuthError: the body is not UTF-8 or repeats a parameter.
    """
    try:
        pairs = parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, errors="strict", max_num_fields=_MAX_FORM_FIELDS
        )
    except ValueError as exc:  # UnicodeDecodeError is a ValueError too
        raise invalid_request(f"The form body could not be parsed: {exc}") from exc
    form: dict[str, str] = {}
    seen = set()
    for name, value in pairs:
        if name in seen:
            raise invalid_request(f"The parameter {name!r} was sent more than once")
        seen.add(name)
        if value:  # "Parameters sent without a value MUST be treated as if they were omitted"
            form[name] = value
    return form


def authenticate_client(
    authorization: Optional[str], form: Mapping[str, str], client_id: str, client_secret: str
) -> str:
    """Check the client's credentials (HTTP Basic or the form body) and return its id.

    Raises:
        OAuthError: both methods were used (400).
        InvalidClient: authentication is missing or wrong (401); its ``client_id`` is set when
            the request named this client.
    """
    scheme, _, credentials = (authorization or "").strip().partition(" ")
    in_body = "client_id" in form or "client_secret" in form
    if scheme.lower() == "basic":
        if in_body:
            raise invalid_request("Use HTTP Basic or client_id/client_secret in the body, not both")
        candidates: Sequence[tuple[str, str]] = list(_basic_candidates(credentials.strip()))
    elif in_body:
        candidates = [(form.get("client_id", ""), form.get("client_secret", ""))]
    else:
        raise invalid_client("Client authentication is required")
    if any(equal_secret(cid, client_id) & equal_secret(secret, client_secret) for cid, secret in candidates):
        return client_id
    named = any(equal_secret(cid, client_id) for cid, _ in candidates)
    raise invalid_client("Client authentication failed", client_id=client_id if named else None)


def _basic_candidates(credentials: str) -> Iterator[tuple[str, str]]:
    try:
        decoded = base64.b64decode(credentials, validate=True)
    except (binascii.Error, ValueError):
        return
    # RFC 6749 §2.3.1 form-encodes id and secret before Basic; many clients do not, and those send
    # raw non-ASCII as UTF-8 or (like requests' HTTPBasicAuth) Latin-1, so all of these are tried.
    for charset in ("utf-8", "latin-1"):
        try:
            text = decoded.decode(charset)
        except UnicodeDecodeError:
            continue
        user, colon, password = text.partition(":")
        if colon:
            yield unquote_plus(user), unquote_plus(password)
            yield user, password


def equal_secret(given: str, expected: str) -> bool:
    """Compare secrets in constant time."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
