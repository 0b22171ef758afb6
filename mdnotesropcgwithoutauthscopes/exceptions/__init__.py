"""Exceptions raised by the SDK; every one derives from ``APIException``."""
