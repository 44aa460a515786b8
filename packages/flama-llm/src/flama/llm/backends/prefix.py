"""A bounded LRU of the KV caches of recent sequences, to start a new prompt from its longest cached prefix.

The transformers backend keeps one per model (mlx-lm ships its own, ``LRUPromptCache``, which the MLX backend uses).
An entry is the token ids a cache holds and, per layer, its keys and values (torch tensors of one sequence,
``[1, heads, tokens, dim]``); a prefix of an entry is a slice of it, so entries are never copied.
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from flama.llm.backends.lru import SizedLRU

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

    __slots__ = ("_entries",)

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries}")
        # Each entry: its layers, and its tokens as an array (prefixes are compared in numpy).
        self._entries: SizedLRU[tuple[int, ...], tuple[Layers, Any]] = SizedLRU(max_entries, max_bytes)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def nbytes(self) -> int:
        """Bytes held now."""
        return self._entries.nbytes

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
        for tokens, (_, array) in self._entries.items():
            common = _common(array, prompt)
            if common > best:
                best, found = common, tokens
        size = min(best, len(ids) - 1)
        entry = None if found is None or size < max(least, 1) else self._entries.get(found)
        if entry is None:
            return 0, None
        return size, [(keys[:, :, :size], values[:, :, :size]) for keys, values in entry[0]]

    def put(self, tokens: list[int], layers: Layers) -> None:
        """Keep the cache of ``tokens``, dropping entries it extends, then the least recently used over the bounds."""
        import numpy as np

        key = tuple(tokens)
        if not key:
            return
        for other in [other for other, _ in self._entries.items() if key[: len(other)] == other]:
            self._entries.pop(other)
        size = sum(keys.nbytes + values.nbytes for keys, values in layers)
        self._entries.put(key, (layers, np.asarray(key)), size)


def _common(first: Any, second: Any) -> int:
    """How many tokens two sequences (1-d arrays) share from the start."""
    import numpy as np

    size = min(len(first), len(second))
    differ = np.flatnonzero(first[:size] != second[:size])
    return int(differ[0]) if differ.size else size
