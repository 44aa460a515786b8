"""A least-recently-used map bounded both by its entries and by the bytes they take together.

Every backend keeps the token ids of its recent prompts in one (`flama.llm.backends.encoding`), and the transformers
backend its KV caches of recent sequences in another (`flama.llm.backends.prefix`; MLX uses mlx-lm's own).
"""

import collections
from collections.abc import Hashable, Iterator
from typing import Generic, TypeVar

__all__ = ["SizedLRU"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SizedLRU(Generic[K, V]):
    """Values by key, each with its size in bytes; past either bound, the least recently used entries go first.

    Not thread-safe: an owner that shares it between threads holds a lock around each use.

    Args:
        max_entries: Most entries kept.
        max_bytes: Most bytes the entries take together; a value larger than this on its own is not kept.
    """

    __slots__ = ("_entries", "max_bytes", "max_entries", "nbytes")

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.nbytes = 0
        """Bytes the entries take now."""
        self._entries: collections.OrderedDict[K, tuple[V, int]] = collections.OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def items(self) -> Iterator[tuple[K, V]]:
        """The entries, least recently used first."""
        return ((key, value) for key, (value, _) in self._entries.items())

    def get(self, key: K) -> V | None:
        """The value kept under ``key`` (``None`` when none is), made the most recently used."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        return entry[0]

    def put(self, key: K, value: V, size: int) -> bool:
        """Keep ``value`` under ``key`` as the most recently used, then drop the least recently used past the bounds.

        Returns:
            Whether it is kept: a value of more than ``max_bytes`` on its own is not (and what ``key`` held is gone).
        """
        self.pop(key)
        if size > self.max_bytes:
            return False
        self._entries[key] = (value, size)
        self.nbytes += size
        while len(self._entries) > self.max_entries or self.nbytes > self.max_bytes:
            _, (_, dropped) = self._entries.popitem(last=False)
            self.nbytes -= dropped
        return True

    def pop(self, key: K) -> V | None:
        """Drop the entry under ``key`` and return its value (``None`` when there is none)."""
        entry = self._entries.pop(key, None)
        if entry is None:
            return None
        self.nbytes -= entry[1]
        return entry[0]
