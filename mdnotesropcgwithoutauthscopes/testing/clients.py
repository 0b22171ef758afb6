"""SDK clients and credentials bound to a reference server or a ``responses`` helper."""

from __future__ import annotations

from typing import Any, Optional, Protocol

from ..http.auth.o_auth_2 import ResourceOwnerAuthCredentials
from ..mdnotesropcgwithoutauthscopes_client import MdnotesropcgwithoutauthscopesClient
from .server.config import ServerUser


class MdNotesEndpoint(Protocol):
    """What ``MdNotesServer`` and ``MdNotesResponses`` both offer: where they are and whom they accept."""

    @property
    def base_uri(self) -> str: ...

    @property
    def client_id(self) -> str: ...

    @property
    def client_secret(self) -> str: ...

    @property
    def users(self) -> tuple[ServerUser, ...]: ...


def credentials_for(
    endpoint: MdNotesEndpoint, *, username: Optional[str] = None, **changes: Any
) -> ResourceOwnerAuthCredentials:
    """Password-grant credentials that ``endpoint`` accepts.

    Args:
        endpoint: a running ``MdNotesServer`` or an ``MdNotesResponses``.
        username: whose credentials (default: its first user).
        **changes: any other ``ResourceOwnerAuthCredentials`` keyword, which wins (for example
            ``o_auth_password="wrong"`` or ``o_auth_token=stored``).

    Raises:
        ValueError: ``endpoint`` has no user with that username.
    """
    users = endpoint.users
    user = users[0] if username is None else next((u for u in users if u.username == username), None)
    if user is None:
        raise ValueError("the server has no user with that username")
    values: dict[str, Any] = {
        "o_auth_client_id": endpoint.client_id,
        "o_auth_client_secret": endpoint.client_secret,
        "o_auth_username": user.username,
        "o_auth_password": user.password,
    }
    values.update(changes)
    return ResourceOwnerAuthCredentials(**values)


def client_for(
    endpoint: MdNotesEndpoint,
    *,
    credentials: Optional[ResourceOwnerAuthCredentials] = None,
    username: Optional[str] = None,
    **settings: Any,
) -> MdnotesropcgwithoutauthscopesClient:
    """An SDK client of ``endpoint``, signed in as its first user unless told otherwise.

    Close it after use (``with client_for(server) as client:``).

    Args:
        endpoint: a running ``MdNotesServer`` or an ``MdNotesResponses``.
        credentials: the credentials to use (default: ``credentials_for(endpoint, username=username)``).
        username: whose credentials, when ``credentials`` is not given.
        **settings: any other client setting (``timeout``, ``max_retries``...).

    Raises:
        TypeError: both ``credentials`` and ``username`` were given, or a setting is unknown.
    """
    if credentials is not None and username is not None:
        raise TypeError("pass credentials or username, not both")
    if credentials is None:
        credentials = credentials_for(endpoint, username=username)
    return MdnotesropcgwithoutauthscopesClient(
        base_uri=endpoint.base_uri, resource_owner_auth_credentials=credentials, **settings
    )
