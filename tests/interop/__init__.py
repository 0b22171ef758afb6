"""Interoperability tests of the SDK against real OAuth 2 authorization servers."""
