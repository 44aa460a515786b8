"""A bounded LRU of the KV caches of recent sequences, to start a new prompt from its longest cached prefix.

The transformers backend keeps one per model (mlx-lm ships its own, ``LRUPromptCache``, which the MLX backend uses).
An entry is the token ids a cache holds and, per layer, its keys and values (torch tensors of one sequence,
``[1, heads, tokens, dim]``); a prefix of an entry is a slice of it, so entries are never copied.
"""

import collections
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["PrefixCache"]

Layers = list[tuple[Any, Any]]


class PrefixCache:
    """The KV caches of recent sequences, least recently used dropped first.

    Args:
        max_entries: Sequences kept (at least 1).
        max_bytes: Most bytes their keys and values take together.
    """

    __slots__ = ("_entries", "max_bytes", "max_entries", "nbytes")

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries}")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.nbytes = 0
        """Bytes held now."""
        # Each entry: its layers, their bytes, and its tokens as an array (prefixes are compared in numpy).
        self._entries: collections.OrderedDict[tuple[int, ...], tuple[Layers, int, Any]] = collections.OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def take(self, ids: "Sequence[int] | NDArray[Any]", least: int = 1) -> tuple[int, Layers | None]:
        """The longest cached prefix of ``ids`` (never all of it: the last token must run to give logits).

        Args:
            ids: The prompt (a list, or a 1-d numpy array, which is not copied).
            least: The shortest prefix worth taking.

        Returns:
            How many tokens the prefix holds, and its keys and values per layer (``0, None`` when none is that long).
        """
        import numpy as np  # with torch, which the backends that use this cache need

        best, found = 0, None
        prompt = np.asarray(ids)
        for tokens, (*_, array) in self._entries.items():
            common = _common(array, prompt)
            if common > best:
                best, found = common, tokens
        size = min(best, len(ids) - 1)
        if found is None or size < max(least, 1):
            return 0, None
        self._entries.move_to_end(found)
        layers, *_ = self._entries[found]
        return size, [(keys[:, :, :size], values[:, :, :size]) for keys, values in layers]

    def put(self, tokens: list[int], layers: Layers) -> None:
        """Keep the cache of ``tokens``, dropping entries it extends, then the least recently used over the bounds."""
        import numpy as np

        key = tuple(tokens)
        if not key:
            return
        for other in [other for other in self._entries if key[: len(other)] == other]:
            self._drop(other)
        size = sum(keys.nbytes + values.nbytes for keys, values in layers)
        if size > self.max_bytes:
            return
        self._entries[key] = (layers, size, np.asarray(key))
        self.nbytes += size
        while len(self._entries) > self.max_entries or self.nbytes > self.max_bytes:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: tuple[int, ...]) -> None:
        _, size, _ = self._entries.pop(key)
        self.nbytes -= size


def _common(first: Any, second: Any) -> int:
    """How many tokens two sequences (1-d arrays) share from the start."""
    import numpy as np

    size = min(len(first), len(second))
    differ = np.flatnonzero(first[:size] != second[:size])
    return int(differ[0]) if differ.size else size
