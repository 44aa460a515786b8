"""Stop sequences found in a text stream, even when they straddle two chunks, and trimmed from the output."""

from collections.abc import Iterable

__all__ = ["StopMatcher"]


class StopMatcher:
    """Watches a stream of text chunks for stop sequences.

    Text that could still be the beginning of a stop sequence is held back until the next chunk decides; once a
    sequence is complete, everything from its first character on is dropped and the match is final.

    Args:
        stops: The stop sequences (non-empty strings). With none, every chunk passes through unchanged.
    """

    __slots__ = ("_held", "_stops", "stopped")

    def __init__(self, stops: Iterable[str]) -> None:
        self._stops = tuple(dict.fromkeys(stops))
        if any(not stop for stop in self._stops):
            raise ValueError("A stop sequence must not be empty")
        self._held = ""
        self.stopped = False
        """Whether a stop sequence has been seen (nothing more comes out after that)."""

    def feed(self, text: str) -> str:
        """Take the next chunk and return the text that is now certainly output.

        Args:
            text: The next chunk of generated text.

        Returns:
            The text safe to emit: before a completed stop sequence, or short of any possible start of one.
        """
        if self.stopped:
            return ""
        if not self._stops:
            return text
        window = self._held + text
        found = min((index for stop in self._stops if (index := window.find(stop)) >= 0), default=-1)
        if found >= 0:
            self.stopped = True
            self._held = ""
            return window[:found]
        keep = self._partial(window)
        self._held = window[len(window) - keep :]
        return window[: len(window) - keep]

    def flush(self) -> str:
        """Return the text held back at the end of the stream (it turned out not to start a stop sequence)."""
        held, self._held = self._held, ""
        return held

    def _partial(self, window: str) -> int:
        """Length of the longest tail of ``window`` that is a proper prefix of some stop sequence."""
        longest = 0
        for stop in self._stops:
            for size in range(min(len(stop) - 1, len(window)), longest, -1):
                if window.endswith(stop[:size]):
                    longest = size
                    break
        return longest
