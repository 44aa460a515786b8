"""Prompt token ids that reuse a recent prompt's: a conversation's next turn tokenizes only what it adds.

A chat template renders every turn of a conversation again, so each request's prompt starts with the text of the one
before it. A fast (Rust) tokenizer splits its input at its added tokens before anything else and runs its normalizer,
pre-tokenizer and model on each piece between them alone, so the ids of a text up to the end of such a token do not
depend on what follows it. `RecentPrompts` keeps the ids of recent prompts, and encodes a new one as the ids of the
longest cached beginning that ends with a boundary token (a special token of the chat template) plus the encoding of
the rest, which starts with that token again: so that the rest is never encoded as the start of a text (a
pre-tokenizer may treat the first piece of a text differently), and a token matched there other than the boundary
token sends the prompt through a full encode instead.

A boundary token is one the tokenizer always matches where its text appears: matched on the raw text, with no
whitespace stripping or word check, and overlapping no other added token's text (which could be matched in its
place). For each cached prompt the count of the token's text must equal the count of its id, or that prompt is not
reused.
"""

import array
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from flama.llm.backends.lru import SizedLRU

__all__ = ["DEFAULT_RECENT_BYTES", "DEFAULT_RECENT_PROMPTS", "RecentPrompts", "boundary_tokens"]

DEFAULT_RECENT_PROMPTS = 8
DEFAULT_RECENT_BYTES = 32 << 20

Encode = Callable[[str, bool], list[int]]
"""Token ids of a text, with the tokenizer's own special tokens (post-processor) or without."""


def boundary_tokens(added: Iterable[Any], template: str | None) -> dict[str, int]:
    """The added tokens a prompt may be cut after, by text: those of the chat template that are always matched.

    Args:
        added: The tokenizer's added tokens as ``(id, token)`` pairs, each token with ``content``, ``normalized``,
            ``lstrip``, ``rstrip`` and ``single_word`` (the tokenizers library's ``AddedToken``).
        template: The chat template; without one there are no boundaries.
    """
    if not template:
        return {}
    tokens = [(int(ident), token) for ident, token in added]
    raw = [token.content for _, token in tokens if not token.normalized and token.content]
    boundaries = {}
    for ident, token in tokens:
        text = token.content
        if not text or text not in template or token.normalized or token.lstrip or token.rstrip or token.single_word:
            continue
        if any(_overlap(text, other) for other in raw):
            continue  # another match (of another token, or of itself) could take its place
        boundaries[text] = ident
    return boundaries


def _overlap(text: str, other: str) -> bool:
    """Whether a match of ``other`` could cover part of a match of ``text``.

    It could where ``other`` contains ``text`` (and is not the same) or a beginning of either is an end of the other.
    """
    if text in other and text != other:
        return True
    shortest = min(len(text), len(other))
    return any(other.endswith(text[:n]) or text.endswith(other[:n]) for n in range(1, shortest))


class RecentPrompts:
    """Recent prompts and their ids, least recently used dropped first; encodes new prompts reusing them.

    Thread-safe: the event loop and a model's worker thread (long prompts) encode through the same one; the lock is
    held only to read or change the entries, never while texts are compared or encoded.

    Args:
        encode: The tokenizer's encode (``(text, add_special_tokens)``).
        boundaries: Boundary token texts and ids (`boundary_tokens`).
        max_entries: Prompts kept (0 keeps none: every prompt is encoded whole).
        max_bytes: Most memory their texts and ids take together; a larger prompt is not kept.
    """

    def __init__(self, encode: Encode, boundaries: dict[str, int], max_entries: int, max_bytes: int) -> None:
        self._encode = encode
        self._boundaries = boundaries
        self._lead: dict[bool, int] = {}
        self._lock = threading.Lock()
        self._entries: SizedLRU[tuple[str, bool], array.array[int]] = SizedLRU(max_entries, max_bytes)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def nbytes(self) -> int:
        """Memory the kept prompts take now."""
        return self._entries.nbytes

    def encode(self, text: str, special: bool) -> list[int]:
        """The ids of ``text`` (with the tokenizer's special tokens when ``special``), the same as a full encode's."""
        if not self._entries.max_entries or not self._boundaries:
            return self._encode(text, special)
        with self._lock:
            entries = [(kept, ids) for (kept, flag), ids in self._entries.items() if flag == special]
        shared, kept, ids = max(((_shared(kept, text), kept, ids) for kept, ids in entries), default=(0, "", None))
        joined = self._join(text, special, kept, ids, shared) if ids is not None else None
        result = self._encode(text, special) if joined is None else joined
        self._keep(text, special, result)
        return result

    def _join(self, text: str, special: bool, kept: str, ids: "array.array[int]", shared: int) -> list[int] | None:
        """The kept ids up to the last boundary token within the shared beginning, then the rest encoded."""
        if kept == text:
            return ids.tolist()
        cut, boundary = max(((kept.rfind(token, 0, shared), token) for token in self._boundaries), default=(-1, ""))
        lead = self._leading(special)
        if cut < 0 or lead < 0:
            return None
        ident = self._boundaries[boundary]
        if kept.count(boundary) != ids.count(ident) - ids[:lead].count(ident):
            return None  # the token's text and its id do not pair up in this prompt
        index = lead - 1
        for _ in range(kept.count(boundary, 0, cut) + 1):
            index = ids.index(ident, index + 1)
        rest = self._encode(text[cut:], False)
        if not rest or rest[0] != ident:
            return None
        return ids[:index].tolist() + rest

    def _leading(self, special: bool) -> int:
        """How many ids the post-processor puts before a text's own (-1: it puts some after them), checked once."""
        lead = self._lead.get(special)
        if lead is None:
            whole, bare = self._encode("a b", special), self._encode("a b", False)
            lead = len(whole) - len(bare) if whole[len(whole) - len(bare) :] == bare else -1
            self._lead[special] = lead
        return lead

    def _keep(self, text: str, special: bool, ids: list[int]) -> None:
        with self._lock:
            if self._entries.get((text, special)) is not None:  # the same prompt again (another choice, a retry)
                return
        stored = array.array("i", ids)
        with self._lock:  # kept meanwhile by another thread: replaced
            self._entries.put((text, special), stored, sys.getsizeof(text) + stored.itemsize * len(stored))


def _shared(a: str, b: str) -> int:
    """The length of the longest common beginning of two strings.

    Compared in C, in slices that double while they match and are then halved: the work is in proportion to the
    common beginning, not to the strings' length.
    """
    limit = min(len(a), len(b))
    low, step = 0, 64
    while low < limit and b.startswith(a[low : low + step], low):
        low, step = min(low + step, limit), step * 2
    high = min(low + step, limit)  # the first difference is in [low, high)
    while low < high:
        middle = (low + high + 1) // 2
        if b.startswith(a[low:middle], low):
            low = middle
        else:
            high = middle - 1
    return low
