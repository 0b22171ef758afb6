"""Base for the immutable settings objects: frozen attributes, ``clone_with`` and a safe repr."""

from typing import Any, ClassVar

from mdnotesropcgwithoutauthscopes.api_helper import REDACTED


class ImmutableSettings:
    """Settings frozen after ``__init__``; change them by ``clone_with(**changes)``.

    Subclasses name their constructor parameters in ``_FIELDS`` (stored under the same attribute
    names) and the ones never to print in ``_SECRET_FIELDS``.
    """

    __slots__ = ("_frozen",)
    _FIELDS: ClassVar[tuple[str, ...]] = ()
    _SECRET_FIELDS: ClassVar[frozenset] = frozenset()

    def _freeze(self) -> None:
        object.__setattr__(self, "_frozen", True)

    def __setattr__(self, name: str, value: Any) -> None:
        if getattr(self, "_frozen", False):
            raise AttributeError(f"{type(self).__name__} is immutable; use clone_with({name}=...) for a changed copy")
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def clone_with(self, **changes: Any):
        """A new instance equal to this one except for the settings named.

        Only the names passed change, and their values are taken as given: ``0``, ``False`` and
        ``None`` are real values (``None`` clears an optional setting).

        Raises:
            TypeError: a name is not a setting of this class.
            ValueError: a value is not valid for its setting.
        """
        unknown = sorted(set(changes) - set(self._FIELDS))
        if unknown:
            raise TypeError(f"{type(self).__name__}.clone_with() got unknown setting(s): {', '.join(unknown)}")
        values = {name: getattr(self, name) for name in self._FIELDS}
        values.update(changes)
        return type(self)(**values)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self._FIELDS)

    __hash__ = None  # settings may hold unhashable values (callbacks' closures, tokens)

    def __repr__(self) -> str:
        parts = []
        for name in self._FIELDS:
            value = getattr(self, name)
            if value is not None and name in self._SECRET_FIELDS:
                value = REDACTED
            parts.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    __str__ = __repr__
