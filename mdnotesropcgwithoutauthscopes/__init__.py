"""Python SDK for the MdNotes API, authenticated with the OAuth 2.0 password grant."""

__version__ = "1.0.0"
