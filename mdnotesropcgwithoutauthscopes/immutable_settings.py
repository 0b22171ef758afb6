"""Base for the immutable settings objects: frozen attributes, ``clone_with`` and a safe repr."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any, ClassVar, Optional, TypeVar

from mdnotesropcgwithoutauthscopes._constants import REDACTED

SettingsT = TypeVar("SettingsT", bound="ImmutableSettings")
CheckedT = TypeVar("CheckedT", bound="KeywordChecked")


def unknown_settings_error(owner: str, unknown: Iterable[str], known: Iterable[str]) -> TypeError:
    """A ``TypeError`` naming each unknown setting and, when one is close, the setting probably meant.

    Args:
        owner: what was called, e.g. ``"Configuration.clone_with()"``.
        unknown: the names that are not settings.
        known: the valid setting names.

    Returns:
        TypeError: for the caller to raise, e.g. ``got unknown setting 'tiemout' (did you mean 'timeout'?)``.
    """
    choices = list(known)
    parts = []
    for name in sorted(unknown):
        meant = _meant(name, choices)
        parts.append(f"{name!r}" + (f" (did you mean {meant!r}?)" if meant else ""))
    noun = "setting" if len(parts) == 1 else "settings"
    return TypeError(f"{owner} got unknown {noun} {', '.join(parts)}")


def _meant(name: str, choices: list[str]) -> Optional[str]:
    """The setting ``name`` probably stands for: a close spelling, or a longer name it is part of.

    ``credentials`` and ``auth_credentials`` are too short beside ``resource_owner_auth_credentials``
    for a spelling match, yet plainly mean it: a name that holds, or is held by, a setting's name
    (of 4 letters or more) suggests that setting.
    """
    close = difflib.get_close_matches(name, choices, n=1)
    if close:
        return close[0]
    key = name.lower().strip("_")
    if len(key) < 4:
        return None
    related = [choice for choice in choices if key in choice or (len(choice) >= 4 and choice in key)]
    if not related:
        return None
    return max(related, key=lambda choice: difflib.SequenceMatcher(None, key, choice).ratio())


class KeywordChecked:
    """A base whose constructor names the setting meant when a keyword argument is mistyped.

    Its ``__new__`` sees the arguments before the subclass's ``__init__`` binds them (Python's own
    "unexpected keyword argument" suggests nothing). Being in a base class, it leaves the
    subclass's ``__init__`` as the signature that ``help()``, ``inspect`` and type checkers show.
    """

    __slots__ = ()

    @classmethod
    def _keywords(cls) -> Iterable[str]:
        """The keyword arguments the constructor takes."""
        return ()

    def __new__(cls: type[CheckedT], *args: Any, **kwargs: Any) -> CheckedT:
        if kwargs:
            known = tuple(cls._keywords())
            unknown = set(kwargs).difference(known)
            if unknown:
                raise unknown_settings_error(f"{cls.__name__}()", unknown, known)
        return object.__new__(cls)


class ImmutableSettings(KeywordChecked):
    """Settings frozen after ``__init__``; change them by ``clone_with(**changes)``.

    Subclasses name their constructor parameters in ``_FIELDS`` (stored under the same attribute
    names) and the ones never to print in ``_SECRET_FIELDS``.
    """

    __slots__ = ("_frozen",)
    _FIELDS: ClassVar[tuple[str, ...]] = ()
    _SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def _keywords(cls) -> Iterable[str]:
        return cls._FIELDS

    def _freeze(self) -> None:
        object.__setattr__(self, "_frozen", True)

    def __setattr__(self, name: str, value: Any) -> None:
        if getattr(self, "_frozen", False):
            raise AttributeError(f"{type(self).__name__} is immutable; use clone_with({name}=...) for a changed copy")
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def clone_with(self: SettingsT, **changes: Any) -> SettingsT:
        """A new instance equal to this one except for the settings named.

        Only the names passed change, and their values are taken as given: ``0``, ``False`` and
        ``None`` are real values (``None`` clears an optional setting).

        Args:
            **changes: settings of this class and their new values.

        Returns:
            A new instance of the same class.

        Raises:
            TypeError: a name is not a setting of this class (the message names the closest one).
            ValueError: a value is not valid for its setting.
        """
        unknown = set(changes) - set(self._FIELDS)
        if unknown:
            raise unknown_settings_error(f"{type(self).__name__}.clone_with()", unknown, self._FIELDS)
        values = {name: getattr(self, name) for name in self._FIELDS}
        values.update(changes)
        return type(self)(**values)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self._FIELDS)

    __hash__ = None  # type: ignore[assignment]  # settings may hold unhashable values (callbacks' closures, tokens)

    def __repr__(self) -> str:
        parts = []
        for name in self._FIELDS:
            value = getattr(self, name)
            if value is not None and name in self._SECRET_FIELDS:
                value = REDACTED
            parts.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    __str__ = __repr__
