"""MdNotes reference OAuth 2.0 (ROPC) and API server for SDK tests and demos; standard library only."""

from .server import MdNotesServer, ServerConfig, start_server

__all__ = ["MdNotesServer", "ServerConfig", "start_server"]
