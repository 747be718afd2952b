"""Parts of a page built once and sent to every session that shows them.

Ten browser tabs on the Signals page all ask for the same Sankey after each cycle; building it ten
times was most of what the dashboard's CPU did under load. A part is built on the first request
for its key (what it shows, e.g. the cycle and the portfolio) and the others reuse it while they
ask for that key. A callback's register function makes one ``SharedParts`` per app, so two apps
in one process (tests) never share parts.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

# Enough for every part of every portfolio of a few pages at once; older keys are dropped first.
DEFAULT_CAPACITY = 128


class _Entry(Generic[T]):
    __slots__ = ("built", "lock", "value")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.built = False
        self.value: T | None = None


class SharedParts:
    """A bounded, thread-safe memo of built parts by ``(name, key)``.

    Requests arriving together for a key not built yet wait for the one building it rather than
    building it too. A build that raises leaves nothing behind: the next request tries again.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError(f"capacity: must be at least 1, got {capacity}")
        self._capacity = capacity
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Entry[object]] = OrderedDict()
        self.builds = 0

    def get(self, name: str, key: object, build: Callable[[], T]) -> T:
        """The part ``name`` for ``key`` (any JSON value), built with ``build`` if it is new."""
        slot = json.dumps([name, key], sort_keys=True, default=str)
        with self._lock:
            entry = self._entries.get(slot)
            if entry is None:
                entry = _Entry()
                self._entries[slot] = entry
                while len(self._entries) > self._capacity:
                    self._entries.popitem(last=False)
            else:
                self._entries.move_to_end(slot)
        with entry.lock:
            if not entry.built:
                entry.value = build()
                entry.built = True
                with self._lock:
                    self.builds += 1
            return entry.value  # type: ignore[return-value]
