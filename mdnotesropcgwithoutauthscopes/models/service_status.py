"""The service status returned by ``GET /status``."""

from typing import Any, Optional

from mdnotesropcgwithoutauthscopes.models.base_model import BaseModel


class ServiceStatus(BaseModel):
    """Health and counts of the MdNotes service.

    Args:
        app: application name. moto: its motto. notes: number of notes (int). users: number of
        users (int). time: server time. os: server operating system. php_version: server runtime
        version. status: overall status text. additional_properties: any other fields.
    """

    _FIELDS = tuple((name, name) for name in ("app", "moto", "notes", "users", "time", "os", "php_version", "status"))

    def __init__(
        self,
        app: Optional[str] = None,
        moto: Optional[str] = None,
        notes: Optional[int] = None,
        users: Optional[int] = None,
        time: Optional[str] = None,
        os: Optional[str] = None,
        php_version: Optional[str] = None,
        status: Optional[str] = None,
        additional_properties: Optional[dict[str, Any]] = None,
    ) -> None:
        self.app = app
        self.moto = moto
        self.notes = notes
        self.users = users
        self.time = time
        self.os = os
        self.php_version = php_version
        self.status = status
        self.additional_properties = dict(additional_properties) if additional_properties else {}
