"""Proxy settings for the SDK's HTTP client."""

from typing import Optional
from urllib.parse import quote, urlsplit

from mdnotesropcgwithoutauthscopes.api_helper import check_type
from mdnotesropcgwithoutauthscopes.immutable_settings import ImmutableSettings


class ProxySettings(ImmutableSettings):
    """An HTTP(S) proxy that every request goes through.

    Args:
        address: proxy URL or host, e.g. ``"http://proxy.example.com"`` (``http://`` is assumed
            when no scheme is given).
        port: proxy port, when not in ``address``.
        username: proxy user name, if the proxy needs one.
        password: proxy password; shown as ``***`` in ``repr`` and logs.
    """

    __slots__ = ("address", "port", "username", "password")
    _FIELDS = ("address", "port", "username", "password")
    _SECRET_FIELDS = frozenset({"password"})

    def __init__(
        self, address: str, port: Optional[int] = None, username: Optional[str] = None, password: Optional[str] = None
    ) -> None:
        check_type("address", address, str, allow_none=False)
        if not address.strip():
            raise ValueError("address must not be empty")
        check_type("port", port, int)
        if port is not None and not 0 < port < 65536:
            raise ValueError(f"port must be between 1 and 65535, not {port}")
        check_type("username", username, str)
        check_type("password", password, str)
        self.address = address.strip()
        self.port = port
        self.username = username
        self.password = password
        self._freeze()

    def to_proxies(self) -> dict[str, str]:
        """The ``requests`` ``proxies`` mapping, credentials percent-encoded into the URL."""
        address = self.address if "://" in self.address else "http://" + self.address
        parts = urlsplit(address)
        netloc = parts.hostname or ""
        if ":" in netloc:
            netloc = f"[{netloc}]"
        port = self.port if self.port is not None else parts.port
        if port is not None:
            netloc += f":{port}"
        if self.username is not None:
            userinfo = quote(self.username, safe="")
            if self.password is not None:
                userinfo += ":" + quote(self.password, safe="")
            netloc = f"{userinfo}@{netloc}"
        url = f"{parts.scheme}://{netloc}{parts.path}"
        return {"http": url, "https": url}
