"""A note of the MdNotes API."""

from typing import Any, Optional

from mdnotesropcgwithoutauthscopes.models.base_model import BaseModel


class Note(BaseModel):
    """A Markdown note.

    Args:
        id: note id (int). title: its title. body: its Markdown text. user_id: owner's id (int).
        created_at, updated_at: timestamps as the server sent them. additional_properties: any
        other fields.
    """

    _FIELDS = tuple((name, name) for name in ("id", "title", "body", "user_id", "created_at", "updated_at"))

    def __init__(
        self,
        id: Optional[int] = None,  # noqa: A002 - the API's field name
        title: Optional[str] = None,
        body: Optional[str] = None,
        user_id: Optional[int] = None,
        created_at: Optional[str] = None,
        updated_at: Optional[str] = None,
        additional_properties: Optional[dict[str, Any]] = None,
    ) -> None:
        self.id = id
        self.title = title
        self.body = body
        self.user_id = user_id
        self.created_at = created_at
        self.updated_at = updated_at
        self.additional_properties = dict(additional_properties) if additional_properties else {}
