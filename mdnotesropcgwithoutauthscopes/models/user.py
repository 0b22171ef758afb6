"""The signed-in user returned by ``GET /user``."""

from typing import Any, Optional

from mdnotesropcgwithoutauthscopes.models.base_model import BaseModel


class User(BaseModel):
    """A MdNotes user.

    Args:
        id: user id (int). name: display name. email: e-mail address. created_at, updated_at:
        timestamps as the server sent them. additional_properties: any other fields.
    """

    _FIELDS = tuple((name, name) for name in ("id", "name", "email", "created_at", "updated_at"))

    def __init__(
        self,
        id: Optional[int] = None,  # noqa: A002 - the API's field name
        name: Optional[str] = None,
        email: Optional[str] = None,
        created_at: Optional[str] = None,
        updated_at: Optional[str] = None,
        additional_properties: Optional[dict[str, Any]] = None,
    ) -> None:
        self.id = id
        self.name = name
        self.email = email
        self.created_at = created_at
        self.updated_at = updated_at
        self.additional_properties = dict(additional_properties) if additional_properties else {}
