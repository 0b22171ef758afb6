"""Shared behaviour of every model: dictionary round trip, equality and a secret-free repr."""

from typing import Any, ClassVar, Optional

from mdnotesropcgwithoutauthscopes.api_helper import REDACTED


class BaseModel:
    """A model is its declared fields plus ``additional_properties`` for unknown JSON keys.

    Subclasses list their fields in ``_FIELDS`` (Python name, JSON name) and the fields whose
    values must never be printed in ``_SECRET_FIELDS``. Falsy values (``0``, ``""``, ``False``) are
    kept; only ``None`` means "absent" and is left out of ``to_dictionary()``.
    """

    _FIELDS: ClassVar[tuple[tuple[str, str], ...]] = ()
    _SECRET_FIELDS: ClassVar[frozenset] = frozenset()

    additional_properties: dict[str, Any]

    @classmethod
    def from_dictionary(cls, dictionary: Optional[dict[str, Any]]):
        """Build the model from a decoded JSON object; None gives None.

        Raises:
            TypeError: ``dictionary`` is not a mapping.
        """
        if dictionary is None:
            return None
        if not isinstance(dictionary, dict):
            raise TypeError(f"{cls.__name__}.from_dictionary expects a dict, not {type(dictionary).__name__}")
        known = {}
        for py_name, json_name in cls._FIELDS:
            if json_name in dictionary:
                known[py_name] = dictionary[json_name]
        json_names = {json_name for _, json_name in cls._FIELDS}
        extra = {k: v for k, v in dictionary.items() if k not in json_names}
        return cls(**known, additional_properties=extra)

    def to_dictionary(self) -> dict[str, Any]:
        """The model as a JSON-ready dictionary, unknown fields included."""
        result = {}
        for py_name, json_name in self._FIELDS:
            value = getattr(self, py_name)
            if value is not None:
                result[json_name] = value
        result.update(self.additional_properties)
        return result

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.to_dictionary() == other.to_dictionary()

    __hash__ = None  # mutable value objects: equal by content, so not hashable

    def __repr__(self) -> str:
        parts = []
        for py_name, _ in self._FIELDS:
            value = getattr(self, py_name)
            if value is not None and py_name in self._SECRET_FIELDS:
                value = REDACTED
            parts.append(f"{py_name}={value!r}")
        if self.additional_properties:
            parts.append(f"additional_properties={self.additional_properties!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    __str__ = __repr__
