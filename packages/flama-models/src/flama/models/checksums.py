"""SHA-256 of the sections of a `.flm` file, computed beside the work that produces or consumes their bytes."""

import hashlib
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Final

__all__ = ["Digest"]

# hashlib releases the GIL while it hashes a large buffer, and flama.core releases it while it (de)compresses one:
# hashing a chunk on this thread while the caller compresses or writes the next overlaps the two on a second core.
_HASHER: Final = ThreadPoolExecutor(max_workers=1, thread_name_prefix="flama-models-sha256")
_INLINE: Final = 1 << 16  # smaller chunks hash faster than a hand-off to the thread costs


class Digest:
    """A SHA-256 digest fed in order with immutable chunks; large chunks are hashed in the background."""

    __slots__ = ("_hash", "_pending")

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self._pending: Future[None] | None = None

    def _settle(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def update(self, data: bytes, /) -> None:
        """Add ``data`` (which must not change afterwards) after every chunk given before."""
        self._settle()
        if len(data) < _INLINE:
            self._hash.update(data)
        else:
            self._pending = _HASHER.submit(self._hash.update, data)

    def hexdigest(self) -> str:
        """The hex digest of every chunk given so far."""
        self._settle()
        return self._hash.hexdigest()
