"""Fork handling in one place: objects that hold locks, leases, connections or threads start clean in a child."""

from __future__ import annotations

import os
import threading
import weakref
from typing import Callable, Protocol


class ForkAware(Protocol):
    """An object with per-process state: ``_after_fork_in_child`` replaces it in a forked child."""

    def _after_fork_in_child(self) -> None: ...


_registry: weakref.WeakSet[ForkAware] = weakref.WeakSet()
_registry_guard = threading.Lock()


def reset_after_fork(owner: ForkAware) -> None:
    """Have ``owner._after_fork_in_child()`` called in every child this process forks.

    Like CPython's ``logging`` (which resets its module locks the same way), the reset runs in the
    child right after ``fork()``, while the child has one thread: no other thread can hold, or be
    halfway through replacing, what is reset. The registry keeps only weak references.
    """
    with _registry_guard:
        _registry.add(owner)


def _reset_all_in_child() -> None:
    global _registry_guard
    # The guard may have been held by a parent thread that the child did not inherit.
    _registry_guard = threading.Lock()
    for owner in list(_registry):
        owner._after_fork_in_child()


def _register(hook: Callable[[], None]) -> None:
    if hasattr(os, "register_at_fork"):  # POSIX; Windows has no fork
        os.register_at_fork(after_in_child=hook)


_register(_reset_all_in_child)
