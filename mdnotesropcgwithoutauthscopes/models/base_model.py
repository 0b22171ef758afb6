"""Shared behaviour of every model: dictionary round trip, equality and a secret-free repr."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable, ClassVar, Optional, TypeVar, overload

from mdnotesropcgwithoutauthscopes._constants import REDACTED

ModelT = TypeVar("ModelT", bound="BaseModel")


class BaseModel:
    """A model is its declared fields plus ``additional_properties`` for unknown JSON keys.

    Subclasses list their fields in ``_FIELDS`` (Python name, JSON name) and the fields whose
    values must never be printed in ``_SECRET_FIELDS``. Falsy values (``0``, ``""``, ``False``) are
    kept; only ``None`` means "absent" and is left out of ``to_dictionary()``.
    """

    _FIELDS: ClassVar[tuple[tuple[str, str], ...]] = ()
    _SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset()

    additional_properties: dict[str, Any]

    @overload
    @classmethod
    def from_dictionary(cls: type[ModelT], dictionary: None) -> None: ...

    @overload
    @classmethod
    def from_dictionary(cls: type[ModelT], dictionary: Mapping[str, Any]) -> ModelT: ...

    @classmethod
    def from_dictionary(cls: type[ModelT], dictionary: Optional[Mapping[str, Any]]) -> Optional[ModelT]:
        """Build the model from a decoded JSON object; None gives None.

        Args:
            dictionary: the JSON object, with the API's field names; unknown keys go to
                ``additional_properties``.

        Returns:
            The model (an instance of the class it is called on), or None for None.

        Raises:
            TypeError: ``dictionary`` is not a mapping, or a field has a type the model refuses.
            ValueError: a field has a value the model refuses (see each model).
        """
        if dictionary is None:
            return None
        if not isinstance(dictionary, Mapping):
            raise TypeError(f"{cls.__name__}.from_dictionary expects a dict, not {type(dictionary).__name__}")
        known = {}
        for py_name, json_name in cls._FIELDS:
            if json_name in dictionary:
                known[py_name] = dictionary[json_name]
        json_names = {json_name for _, json_name in cls._FIELDS}
        extra = {k: v for k, v in dictionary.items() if k not in json_names}
        build: Callable[..., ModelT] = cls  # each model's own constructor, with its own fields
        return build(**cls._fields_from_json(known), additional_properties=extra)

    @classmethod
    def _fields_from_json(cls, fields: dict[str, Any]) -> dict[str, Any]:
        """The constructor arguments for fields as a server sent them (a model may forgive here what its constructor refuses)."""
        return fields

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

    __hash__ = None  # type: ignore[assignment]  # mutable value objects: equal by content, so not hashable

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
