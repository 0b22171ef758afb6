"""Raised when a client is used after ``close()``."""

from mdnotesropcgwithoutauthscopes.exceptions.api_exception import APIException


class ClientClosedException(APIException, RuntimeError):
    """The client was closed; nothing was sent. Build a new client from its ``config``.

    It is also the builtin ``RuntimeError``, as a use of a closed resource is a program error.
    """

    def __init__(self) -> None:
        super().__init__(
            "This client is closed (close() was called, or its with block ended) and sends nothing more; "
            "build a new one, for example MdnotesropcgwithoutauthscopesClient(config=old_client.config)",
            None,
        )
