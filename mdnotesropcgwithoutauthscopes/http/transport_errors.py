"""Transport failures of the requests backend in words: one table from exception types to what happened.

``transport_error`` turns whatever requests, urllib3, ``http.client``, ``ssl`` or the OS raised
into the SDK's ``APITimeoutException`` or ``APIConnectionException``, saying what happened and
whether the request may have reached the server (only a request that did not is safe to repeat).
"""

from __future__ import annotations

import errno
import http.client
import socket
import ssl
from typing import Any, Callable, Optional, Union

import requests
from urllib3 import exceptions as urllib3_exceptions

from mdnotesropcgwithoutauthscopes.api_helper import APIHelper
from mdnotesropcgwithoutauthscopes.exceptions.api_connection_exception import (
    APIConnectionException,
    APITimeoutException,
)

Chain = list[BaseException]
# Words for a failure, and whether the request may have been sent; None when the entry does not apply.
Describe = Callable[[BaseException, Chain], Optional[tuple[str, bool]]]


def transport_error(exc: BaseException, url: str, timeout: float) -> APIConnectionException:
    """The SDK exception for a transport failure, saying what happened in words.

    Args:
        exc: what the transport raised.
        url: the URL of the request.
        timeout: the call's timeout in seconds (named in timeout messages).

    Returns:
        APIConnectionException: an ``APITimeoutException`` for a timeout, with ``request_sent``
        False when the connection was never made.
    """
    chain = exception_chain(exc)
    connecting = any(isinstance(e, urllib3_exceptions.ConnectTimeoutError) for e in chain)  # NewConnectionError too
    if any(isinstance(e, requests.exceptions.ConnectTimeout) for e in chain) or (
        connecting and any(isinstance(e, TimeoutError) for e in chain)  # an OS-level ETIMEDOUT
    ):
        return timed_out_connecting(url, timeout)
    if any(
        isinstance(e, (requests.exceptions.Timeout, urllib3_exceptions.ReadTimeoutError, TimeoutError)) for e in chain
    ):
        return timed_out(url, timeout)
    words, sent = describe(chain)
    return APIConnectionException(words, url, request_sent=sent)


def timed_out_connecting(url: str, timeout: float) -> APITimeoutException:
    """No connection within ``timeout``: nothing was sent."""
    return APITimeoutException(f"Timed out connecting after {timeout}s", url, request_sent=False)


def timed_out(url: str, timeout: float) -> APITimeoutException:
    """No complete answer (status line, headers and body) within ``timeout``."""
    return APITimeoutException(f"Timed out: no complete answer within {timeout}s", url)


def exception_chain(exc: BaseException) -> Chain:
    """``exc`` and every exception behind it (``reason``, ``args``, ``__cause__``, ``__context__``).

    Only exception objects are followed (``ssl.SSLError.reason`` is a string), each once.
    """
    found: Chain = []
    pending: list[Any] = [exc]
    while pending and len(found) < 32:
        current = pending.pop(0)
        if not isinstance(current, BaseException) or any(current is seen for seen in found):
            continue
        found.append(current)
        pending.append(getattr(current, "reason", None))
        pending.extend(arg for arg in current.args[:3] if isinstance(arg, BaseException))
        pending.append(current.__cause__)
        pending.append(current.__context__)
    return found


def describe(chain: Chain) -> tuple[str, bool]:
    """Words for the first known cause in ``chain`` (in the table's order), and whether the request may have been sent."""
    for types, entry in _WORDS:
        found = next((e for e in chain if isinstance(e, types)), None)
        if found is None:
            continue
        if not callable(entry):
            return entry
        described = entry(found, chain)
        if described is not None:
            return described
    innermost = chain[-1] if chain else None
    return f"Connection failed ({type(innermost).__name__})", True


def _untrusted_certificate(cert: BaseException, chain: Chain) -> tuple[str, bool]:
    detail = APIHelper.clean_text(getattr(cert, "verify_message", None) or "", 120)
    return f"TLS certificate not trusted{f' ({detail})' if detail else ''}", False


def _tls_failure(tls: BaseException, chain: Chain) -> tuple[str, bool]:
    reason = next((e.reason for e in chain if isinstance(e, ssl.SSLError) and isinstance(e.reason, str)), None)
    hint = " (is the server speaking plain HTTP?)" if reason in ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE") else ""
    shown = f": {reason.replace('_', ' ').lower()}" if reason else ""
    return f"TLS handshake failed{shown}{hint}", False


_PROXY_ERRORS = (urllib3_exceptions.ProxyError, requests.exceptions.ProxyError)


def _proxy_failure(proxy: BaseException, chain: Chain) -> tuple[str, bool]:
    inner, sent = describe([e for e in chain if not isinstance(e, _PROXY_ERRORS)])
    return f"Proxy failed: {inner[0].lower()}{inner[1:]}", sent


def _unreachable(os_error: BaseException, chain: Chain) -> Optional[tuple[str, bool]]:
    if getattr(os_error, "errno", None) in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return "Network or host unreachable", False
    return None


# Exception types and what they mean, most specific first: the first type found in the chain wins.
# An entry is the words and whether the request may have been sent, or a function of the
# exception found (and the chain) giving them, or None to let the next entries decide.
_WORDS: tuple[tuple[tuple[type[BaseException], ...], Union[tuple[str, bool], Describe]], ...] = (
    ((ssl.SSLCertVerificationError, ssl.CertificateError), _untrusted_certificate),
    ((ssl.SSLError, urllib3_exceptions.SSLError, requests.exceptions.SSLError), _tls_failure),
    ((urllib3_exceptions.NameResolutionError, socket.gaierror), ("Name not resolved (DNS lookup failed)", False)),
    (_PROXY_ERRORS, _proxy_failure),
    ((ConnectionRefusedError,), ("Connection refused", False)),
    ((OSError,), _unreachable),
    ((urllib3_exceptions.NewConnectionError,), ("Could not connect", False)),
    (
        (urllib3_exceptions.InvalidChunkLength, requests.exceptions.ChunkedEncodingError),
        ("The server sent a broken chunked body", True),
    ),
    (
        (urllib3_exceptions.IncompleteRead, http.client.IncompleteRead),
        ("The body ended early (the server closed the connection or broke the chunked framing)", True),
    ),
    (
        (urllib3_exceptions.DecodeError, requests.exceptions.ContentDecodingError),
        ("The body could not be decompressed (bad Content-Encoding data)", True),
    ),
    (
        (urllib3_exceptions.InvalidHeader, requests.exceptions.InvalidHeader),
        ("The server sent an invalid header (such as two different Content-Length values)", True),
    ),
    ((http.client.LineTooLong,), ("The server sent a header line that is too long", True)),
    (
        (http.client.RemoteDisconnected, ConnectionResetError, ConnectionAbortedError, BrokenPipeError),
        ("The server closed the connection", True),
    ),
    ((http.client.BadStatusLine,), ("The server's answer is not HTTP", True)),
    ((http.client.HTTPException,), ("The server's answer could not be read as HTTP", True)),
    ((urllib3_exceptions.LocationValueError, requests.exceptions.InvalidURL), ("The URL is not valid", False)),
)
