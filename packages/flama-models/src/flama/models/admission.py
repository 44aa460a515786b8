"""Bounded admission, first come first served: so many requests run, so many wait in line, the rest are turned away.

One :class:`Admission` guards one model, predictive (flama-models' `Runner`) or language (flama-llm's generations,
where ``max_running`` is the size of the batch the backend runs). A request beyond the line gets :class:`QueueFull`
at once, an `Overloaded` error every application answers 429 with ``Retry-After``.
"""

import asyncio
import collections
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from time import monotonic

from flama.http.exceptions import Overloaded

__all__ = ["DEFAULT_MAX_QUEUED", "Admission", "QueueFull"]

DEFAULT_MAX_QUEUED = 64
"""Requests allowed to wait per model unless configured otherwise."""


class QueueFull(Overloaded):
    """A model already runs and queues as many requests as it is allowed to (answered 429 with ``Retry-After``).

    Args:
        retry_after: Seconds after which a retry has a fair chance.
    """

    def __init__(self, retry_after: float) -> None:
        seconds = math.ceil(retry_after)
        super().__init__(f"Too many requests are waiting for this model; retry after {seconds} s", retry_after)


class Admission:
    """Admits requests first come, first served.

    At most ``max_running`` hold a slot at once and at most ``max_queued`` wait for one, in the order they came; a
    request beyond that gets `QueueFull` at once, with a Retry-After estimate from how long slots were held lately.

    Args:
        max_running: Slots (at least 1).
        max_queued: Waiting places (0 turns away whoever finds every slot taken; ``None``: no bound).

    Raises:
        ValueError: ``max_running`` below 1 or ``max_queued`` below 0.
    """

    __slots__ = ("_held", "_waiters", "max_queued", "max_running", "running")

    # Weight of the newest hold time in the running average behind Retry-After.
    SMOOTHING = 0.2
    # Retry-After before any slot has been released.
    FIRST_GUESS = 1.0

    def __init__(self, max_running: int, max_queued: int | None = DEFAULT_MAX_QUEUED) -> None:
        if max_running < 1:
            raise ValueError(f"max_running must be at least 1, got {max_running}")
        if max_queued is not None and max_queued < 0:
            raise ValueError(f"max_queued must be at least 0, got {max_queued}")
        self.max_running = max_running
        self.max_queued = max_queued
        self.running = 0
        """Slots held now."""
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._held: float | None = None

    @property
    def queued(self) -> int:
        """Requests waiting for a slot now."""
        return len(self._waiters)

    @property
    def retry_after(self) -> float:
        """Seconds until a place is likely to free up: the average hold time per slot, times the line ahead."""
        held = self.FIRST_GUESS if self._held is None else self._held
        return held * (self.queued + self.running) / self.max_running

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold a slot for the body of an ``async with`` block, waiting in line when all are taken.

        Raises:
            QueueFull: Every slot and every waiting place is taken.
        """
        if self.running < self.max_running and not self._waiters:
            self.running += 1
        else:
            await self._wait()
        start = monotonic()
        try:
            yield
        finally:
            elapsed = monotonic() - start
            self._held = elapsed if self._held is None else self._held + self.SMOOTHING * (elapsed - self._held)
            self._release()

    async def _wait(self) -> None:
        if self.max_queued is not None and len(self._waiters) >= self.max_queued:
            raise QueueFull(self.retry_after)
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()  # the slot was handed over just as the waiter gave up: pass it on
            else:
                self._waiters.remove(waiter)
            raise

    def _release(self) -> None:
        """Hand the slot to the first waiter still waiting, or free it."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.running -= 1
