"""The marker-aware incremental scanner: the decoder's hot path.

A :class:`Scanner` looks for a fixed set of marker strings in text that arrives in pieces. It finds the earliest
marker with one compiled regular expression (a C-level search that skips plain text quickly), and when no marker is
found it holds back only the shortest tail that could still grow into one, so a marker split across deltas is never
mistaken for text.
"""

import re
from collections.abc import Iterable

__all__ = ["Scanner"]


class Scanner:
    """Splits text at the first of a set of markers, holding back a tail that may be the start of a marker.

    Args:
        markers: The marker strings to look for; empty strings are ignored. Where one marker is a prefix of another,
            the longer one wins.
    """

    __slots__ = ("_first", "_longest", "_pattern", "_prefixes")

    def __init__(self, markers: Iterable[str]) -> None:
        unique = sorted({marker for marker in markers if marker}, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, unique))) if unique else None
        self._first = re.compile("[" + "".join(sorted({re.escape(m[0]) for m in unique})) + "]") if unique else None
        self._longest = len(unique[0]) if unique else 0
        self._prefixes = frozenset(marker[:size] for marker in unique for size in range(1, len(marker)))

    def split(self, text: str) -> tuple[str, str | None, str]:
        """Split ``text`` at its first marker.

        Args:
            text: The text to scan (held-back tail of the previous call included).

        Returns:
            ``(before, marker, after)`` when a marker occurs; otherwise ``(safe, None, tail)``, where ``tail`` is the
            longest suffix that is a proper prefix of some marker (to be scanned again with the next delta) and
            ``safe`` is everything before it.
        """
        # Most deltas hold no character that can start a marker: one C-level search settles them.
        first = self._first.search(text) if self._first is not None else None
        if first is None or self._pattern is None:
            return text, None, ""
        start = first.start()
        found = self._pattern.search(text, start)
        if found is not None:
            return text[: found.start()], found.group(), text[found.end() :]
        # Only a tail shorter than the longest marker, starting with a marker's first character, can be a partial
        # marker.
        for begin in range(max(start, len(text) - self._longest + 1), len(text)):
            if text[begin:] in self._prefixes:
                return text[:begin], None, text[begin:]
        return text, None, ""
