"""Test tools for code that uses the SDK: the reference server, a ``responses`` helper, pytest fixtures.

Names load on first use, so importing this package (as the pytest plugin does) costs almost
nothing: the server, the SDK client and ``responses`` are imported only when a name needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .clients import client_for, credentials_for
    from .mock_api import MdNotesResponses
    from .server import (
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        DEFAULT_PASSWORD,
        DEFAULT_USERNAME,
        EndpointStats,
        FaultSettings,
        MdNotesServer,
        ServerConfig,
        ServerStats,
        ServerUser,
        start_server,
    )

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_PASSWORD",
    "DEFAULT_USERNAME",
    "EndpointStats",
    "FaultSettings",
    "MdNotesResponses",
    "MdNotesServer",
    "ServerConfig",
    "ServerStats",
    "ServerUser",
    "client_for",
    "credentials_for",
    "start_server",
]


# Where the names that do not come from the server subpackage live.
_HOMES = {"client_for": "clients", "credentials_for": "clients", "MdNotesResponses": "mock_api"}


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    home = _HOMES.get(name, "server")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
