"""``StrEnum``: an enum whose members are their string values, the same on every Python from 3.9."""

from enum import Enum
from typing import Optional


class StrEnum(str, Enum):
    """A ``str`` enum: each member equals, hashes, prints and formats as its value.

    ``enum.StrEnum`` exists only from Python 3.11, and a plain ``(str, Enum)`` prints as
    ``Class.MEMBER`` on 3.12+ but as the value in f-strings before 3.12; this base gives the value
    everywhere, so ``f"{HttpMethodEnum.GET}" == str(HttpMethodEnum.GET) == "GET"``.
    """

    def __str__(self) -> str:
        return str.__str__(self)

    # Equality and hash are str's; defining them here also tells type checkers (mypy's strict
    # equality) that comparing a member with a plain string is meant, as it is in the guide.
    def __eq__(self, other: object) -> bool:
        return str.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return str.__ne__(self, other)

    __hash__ = str.__hash__

    def __format__(self, format_spec: str) -> str:
        return str.__format__(str(self), format_spec)

    @classmethod
    def is_valid(cls, value: Optional[str]) -> bool:
        """True when ``value`` is the value of one of the members."""
        return isinstance(value, str) and value in cls._value2member_map_
