"""Client authentication at the token endpoint: the methods, their encodings and AUTO's negotiation."""

from __future__ import annotations

import base64
import logging
from typing import Any, Callable, Optional, TypeVar
from urllib.parse import quote, quote_plus

from mdnotesropcgwithoutauthscopes.exceptions.o_auth_provider_exception import OAuthProviderException
from mdnotesropcgwithoutauthscopes.str_enum import StrEnum

logger = logging.getLogger("mdnotesropcgwithoutauthscopes")

T = TypeVar("T")


class ClientAuthentication(StrEnum):
    """How the client id and secret are sent to the token endpoint (same for fetch and refresh).

    Members compare equal to their strings (``ClientAuthentication.BASIC == "client_secret_basic"``).
    """

    #: The default: RFC Basic first; only when the server says it refused the client
    #: (``invalid_client``, or a 401 with a ``Basic`` challenge) and the id or secret has characters
    #: that the encodings treat differently, try ``BASIC_PERCENT_ENCODED``, ``BASIC_UNENCODED``, then
    #: ``REQUEST_BODY``, skipping any that would send the same bytes again. The first method
    #: accepted is kept for every later request.
    AUTO = "auto"
    #: ``Authorization: Basic`` over the form-urlencoded id and secret, as RFC 6749 section 2.3.1 says.
    BASIC = "client_secret_basic"
    #: ``Authorization: Basic`` over the percent-encoded id and secret (a space as ``%20``, not
    #: ``+``): what servers that decode with plain URL-unquoting (Authlib, many Node servers) accept.
    BASIC_PERCENT_ENCODED = "client_secret_basic_percent_encoded"
    #: ``Authorization: Basic`` over the raw id and secret, for servers that do not form-decode.
    BASIC_UNENCODED = "client_secret_basic_unencoded"
    #: ``client_id`` and ``client_secret`` in the form body (RFC 6749 section 2.3.1, second option).
    REQUEST_BODY = "client_secret_post"


def _percent_encode(value: str) -> str:
    return quote(value, safe="")


# How each Basic method encodes the id and secret before base64 (None: as they are).
_BASIC_ENCODERS: dict[ClientAuthentication, Optional[Callable[[str], str]]] = {
    ClientAuthentication.BASIC: quote_plus,
    ClientAuthentication.BASIC_PERCENT_ENCODED: _percent_encode,
    ClientAuthentication.BASIC_UNENCODED: None,
}


def basic_auth_header(
    client_id: str, client_secret: Optional[str], *, encode: Optional[Callable[[str], str]] = quote_plus
) -> str:
    """Build an ``Authorization: Basic`` value.

    RFC 6749 section 2.3.1 says the id and secret are form-urlencoded (``quote_plus``, the default)
    before they are joined with ``:`` and base64-encoded, so that ``:``, ``+``, ``%`` and non-ASCII
    survive. ``encode=None`` joins them as they are.

    Args:
        client_id: the OAuth 2 client id.
        client_secret: the client secret (None for a public client: sent as empty).
        encode: how each part is encoded before joining; None for no encoding.

    Returns:
        str: ``"Basic <base64>"``.
    """
    secret = client_secret or ""
    pair = f"{client_id}:{secret}" if encode is None else f"{encode(client_id)}:{encode(secret)}"
    return "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")


class ClientAuthenticator:
    """Authenticates one client at the token endpoint, learning what an AUTO server accepts.

    Args:
        client_id: the OAuth 2 client id.
        client_secret: the client secret, or None.
        method: the configured ``ClientAuthentication``.
    """

    __slots__ = ("_client_id", "_client_secret", "_method", "_learned", "_all_refused", "sent")

    def __init__(self, client_id: str, client_secret: Optional[str], method: ClientAuthentication) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._method = method
        self._learned: Optional[ClientAuthentication] = None
        # Every method was refused once: the secret (or the client) is wrong, not its encoding, so
        # later requests send the RFC method alone rather than a whole round of refusals that an
        # identity server counts one by one towards locking the client.
        self._all_refused = False
        #: How many requests the last ``send`` made (a whole AUTO round counts each one).
        self.sent = 0

    def forget_refusals(self) -> None:
        """Try every method again (the hold was cleared: the client may have been fixed on the server)."""
        self._all_refused = False

    def send(
        self,
        send: Callable[[Optional[str], dict[str, Any]], T],
        additional_params: Optional[dict[str, Any]],
    ) -> T:
        """Call ``send(authorization, form)`` with each method to try until the client is accepted.

        Args:
            send: sends one token request with the ``Authorization`` value (or None) and the form
                fields that authenticate the client.
            additional_params: extra form fields from the caller.

        Returns:
            What ``send`` returned for the first method the server accepted.

        Raises:
            OAuthProviderException: the server refused (the RFC method's refusal when all did).
        """
        methods = self._methods()
        first_refusal: Optional[OAuthProviderException] = None
        self.sent = 0
        for index, method in enumerate(methods):
            authorization, form = self._credentials_for(method, additional_params)
            self.sent += 1
            try:
                result = send(authorization, form)
            except OAuthProviderException as exc:
                # A fallback's invalid_request is about its own encoding (a server may refuse a
                # non-ASCII client_id in the body), not news about the request.
                if not exc.refused_client and not (index > 0 and exc.error == "invalid_request"):
                    raise
                first_refusal = first_refusal or exc
                if index == len(methods) - 1:
                    self._all_refused = len(methods) > 1 or self._all_refused
                    raise first_refusal from None  # every method failed: report the RFC method's refusal
                logger.info(
                    "The token endpoint refused client authentication by %s; trying %s", method, methods[index + 1]
                )
                continue
            self._learned = method
            return result
        raise AssertionError("unreachable: the loop returns or raises")

    def _methods(self) -> tuple[ClientAuthentication, ...]:
        if self._method is not ClientAuthentication.AUTO:
            return (self._method,)
        if self._learned is not None:
            return (self._learned,)
        if self._all_refused:
            return (ClientAuthentication.BASIC,)
        methods: list[ClientAuthentication] = []
        headers: set[str] = set()
        for method, encode in _BASIC_ENCODERS.items():
            if encode is None and ":" in self._client_id:
                continue  # unencoded Basic cannot carry a ':' in the user id
            header = basic_auth_header(self._client_id, self._client_secret, encode=encode)
            if header not in headers:  # the encodings agree for plain ids and secrets: send once
                headers.add(header)
                methods.append(method)
        if len(methods) > 1 or ":" in self._client_id:
            methods.append(ClientAuthentication.REQUEST_BODY)
        return tuple(methods)

    def _credentials_for(
        self, method: ClientAuthentication, additional_params: Optional[dict[str, Any]]
    ) -> tuple[Optional[str], dict[str, Any]]:
        """The Basic header or the form fields that authenticate the client, plus caller extras."""
        form = dict(additional_params) if additional_params else {}
        if method is ClientAuthentication.REQUEST_BODY:
            form["client_id"] = self._client_id
            if self._client_secret is not None:
                form["client_secret"] = self._client_secret
            return None, form
        return basic_auth_header(self._client_id, self._client_secret, encode=_BASIC_ENCODERS[method]), form

    def __repr__(self) -> str:
        return f"ClientAuthenticator(method={self._method.value!r}, learned={self._learned!r})"
