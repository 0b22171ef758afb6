"""The MdNotes reference OAuth 2.0 (password grant) and API server; standard library only."""

from .config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_PASSWORD,
    DEFAULT_USERNAME,
    ServerConfig,
    ServerUser,
)
from .faults import FaultSettings
from .server import MdNotesServer, start_server
from .stats import EndpointStats, ServerStats

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_PASSWORD",
    "DEFAULT_USERNAME",
    "EndpointStats",
    "FaultSettings",
    "MdNotesServer",
    "ServerConfig",
    "ServerStats",
    "ServerUser",
    "start_server",
]
