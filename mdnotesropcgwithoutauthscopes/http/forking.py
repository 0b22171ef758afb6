"""Fork handling in one place: objects that hold locks, leases, connections or threads start clean in a child."""

from __future__ import annotations

import os
import threading
import weakref
from typing import Callable, Protocol


class ForkAware(Protocol):
    """An object with per-process state: ``_after_fork_in_child`` replaces it in a forked child."""

    def _after_fork_in_child(self) -> None: ...


class ForkQuiesced(Protocol):
    """An object that must not be forked halfway through an operation (a database transaction).

    ``_before_fork`` waits for the operation in flight, if any, and keeps the next one from
    starting; ``_after_fork_in_parent`` lets operations go on again in the parent. In the child,
    ``_after_fork_in_child`` starts afresh.
    """

    def _before_fork(self) -> None: ...

    def _after_fork_in_parent(self) -> None: ...

    def _after_fork_in_child(self) -> None: ...


_registry: weakref.WeakSet[ForkAware] = weakref.WeakSet()
_quiesced: weakref.WeakSet[ForkQuiesced] = weakref.WeakSet()
_registry_guard = threading.Lock()
_held: list[ForkQuiesced] = []  # in the parent, between fork()'s before and after hooks


def reset_after_fork(owner: ForkAware) -> None:
    """Have ``owner._after_fork_in_child()`` called in every child this process forks.

    Like CPython's ``logging`` (which resets its module locks the same way), the reset runs in the
    child right after ``fork()``, while the child has one thread: no other thread can hold, or be
    halfway through replacing, what is reset. The registry keeps only weak references.
    """
    with _registry_guard:
        _registry.add(owner)


def quiesce_for_fork(owner: ForkQuiesced) -> None:
    """Have ``fork()`` wait until ``owner`` is between operations, and reset it in the child.

    For state outside Python's reach that a child inherits as it was: SQLite keeps the locks of
    this process's connections in memory, so a child forked while another thread is inside a write
    transaction inherits that lock as held, by a connection it must never use, and can never write
    to the file. ``owner._before_fork()`` runs in the parent right before ``fork()``,
    ``owner._after_fork_in_parent()`` right after it, and
    ``owner._after_fork_in_child()`` in the child, as ``reset_after_fork`` does.
    """
    with _registry_guard:
        _quiesced.add(owner)
        _registry.add(owner)


def _before_fork() -> None:
    with _registry_guard:
        owners = list(_quiesced)
    for owner in owners:
        owner._before_fork()
        _held.append(owner)


def _after_fork_in_parent() -> None:
    while _held:
        _held.pop()._after_fork_in_parent()


def _reset_all_in_child() -> None:
    global _registry_guard
    # The guard may have been held by a parent thread that the child did not inherit.
    _registry_guard = threading.Lock()
    _held.clear()
    for owner in list(_registry):
        owner._after_fork_in_child()


def _register(
    before: Callable[[], None], after_in_parent: Callable[[], None], after_in_child: Callable[[], None]
) -> None:
    if hasattr(os, "register_at_fork"):  # POSIX; Windows has no fork
        os.register_at_fork(before=before, after_in_parent=after_in_parent, after_in_child=after_in_child)


_register(_before_fork, _after_fork_in_parent, _reset_all_in_child)
