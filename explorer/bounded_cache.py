"""A cache shared by every session, bounded by the summed size of its values rather than by their count.

It keeps models with real weights (explorer.ui.cache: building a network and loading its weights is the
slowest step of a page; a bound of eight entries would let eight 2 GB models in, this one bounds the sum
of their weight bytes by the budget's ``model_cache_bytes``), memory predictions (explorer.budget), and
people's decoded datasets and fine-tuned models (explorer.ui.finetune, bounded by ``work_cache_bytes``).
The least recently used go first. One key is computed once even when many sessions ask for it at once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable, Generic, Hashable, TypeVar

Value = TypeVar("Value")


class BoundedCache(Generic[Value]):
    """A thread-safe least-recently-used cache whose entries have a size in bytes and a total bound."""

    def __init__(self, limit_bytes: Callable[[], int]) -> None:
        """``limit_bytes()`` is read at each insertion, so the bound follows the setting."""
        self._limit_bytes = limit_bytes
        self._entries: OrderedDict[Hashable, tuple[Value, int]] = OrderedDict()
        self._building: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, load: Callable[[], Value], size_bytes: int) -> Value:
        """Return the value kept under ``key``, or ``load()`` it (once, however many threads ask) and keep it.

        A value larger than the whole bound is returned but not kept. Errors of ``load`` are not cached.
        """
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key][0]
            building = self._building.setdefault(key, threading.Lock())
        with building:
            with self._lock:
                if key in self._entries:  # another thread built it while this one waited
                    self._entries.move_to_end(key)
                    return self._entries[key][0]
            try:
                value = load()
            finally:
                with self._lock:
                    self._building.pop(key, None)
            self.put(key, value, size_bytes)
            return value

    def find(self, key: Hashable) -> Value | None:
        """Return the value kept under ``key`` (now the most recently used), or None."""
        with self._lock:
            if key not in self._entries:
                return None
            self._entries.move_to_end(key)
            return self._entries[key][0]

    def put(self, key: Hashable, value: Value, size_bytes: int) -> bool:
        """Keep ``value`` under ``key`` (replacing what was there), dropping the least recently used to make room.

        Returns:
            Whether it was kept: a value larger than the whole bound is not.
        """
        with self._lock:
            self._entries.pop(key, None)
            limit = self._limit_bytes()
            if size_bytes > limit:
                return False
            while self._entries and self._total() + size_bytes > limit:
                self._entries.popitem(last=False)
            self._entries[key] = (value, size_bytes)
            return True

    def _total(self) -> int:
        return sum(size for _, size in self._entries.values())

    def total_bytes(self) -> int:
        """Return the summed size of the kept values."""
        with self._lock:
            return self._total()

    def keys(self) -> list[Hashable]:
        """Return the kept keys, least recently used first."""
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        """Forget every kept value."""
        with self._lock:
            self._entries.clear()
