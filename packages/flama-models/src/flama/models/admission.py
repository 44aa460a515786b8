"""Bounded admission, first come first served: so many requests run, so many wait in line, the rest are turned away.

One :class:`Admission` guards one model, predictive (flama-models' `Runner`) or language (flama-llm's generations,
where ``max_running`` is the size of the batch the backend runs). A request beyond the line gets :class:`QueueFull`
at once, an `Overloaded` error every application answers 429 with ``Retry-After``.

A request can be admitted before it has read its input (:meth:`Admission.place`): the predictive routes take their
place in line before the body is read, so that a request turned away never reads, decodes or holds its body.
"""

import asyncio
import collections
import contextvars
import math
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from time import monotonic

from flama.http.exceptions import Overloaded

__all__ = ["DEFAULT_MAX_QUEUED", "Admission", "QueueFull"]

DEFAULT_MAX_QUEUED = 64
"""Requests allowed to wait per model unless configured otherwise."""


class _Place:
    """A place in an admission's line, held by a request that has not asked for its slot yet."""

    __slots__ = ("admission", "used")

    def __init__(self, admission: "Admission") -> None:
        self.admission = admission
        self.used = False


# The place the current request holds, which its first slot() of the same admission takes over.
_PLACE: contextvars.ContextVar[_Place | None] = contextvars.ContextVar("flama_models_place", default=None)
# The admission whose turn() the current request holds: a slot() of the same admission within it is that turn's slot.
_HELD: contextvars.ContextVar["Admission | None"] = contextvars.ContextVar("flama_models_held", default=None)


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
    Places taken with :meth:`place` by requests still reading their input count as waiting ones.

    Args:
        max_running: Slots (at least 1).
        max_queued: Waiting places (0 turns away whoever finds every slot taken; ``None``: no bound).

    Raises:
        ValueError: ``max_running`` below 1 or ``max_queued`` below 0.
    """

    __slots__ = ("_held", "_waiters", "max_queued", "max_running", "placed", "running")

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
        self.placed = 0
        """Places held now by requests that have not asked for their slot yet (see :meth:`place`)."""
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
        return held * (self.queued + self.placed + self.running) / self.max_running

    @contextmanager
    def place(self) -> Iterator[None]:
        """Hold a place in line for the body of a ``with`` block, before the request has read its input.

        The admission is decided here: when every slot and waiting place is taken (places held counting as waiting),
        :class:`QueueFull` is raised before anything is read. The first :meth:`slot` the block asks for takes the
        place over and waits without being turned away; a block that never asks gives its place back when it ends.

        Raises:
            QueueFull: Every slot and every waiting place is taken.
        """
        if (
            self.max_queued is not None
            and self.running + self.queued + self.placed >= self.max_running + self.max_queued
        ):
            raise QueueFull(self.retry_after)
        place = _Place(self)
        self.placed += 1
        token = _PLACE.set(place)
        try:
            yield
        finally:
            _PLACE.reset(token)
            if not place.used:
                self.placed -= 1

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold a slot for the body of an ``async with`` block, waiting in line when all are taken.

        Within :meth:`turn`, the turn's slot is the one used.

        Raises:
            QueueFull: Every slot and every waiting place is taken (never for a block holding a :meth:`place`).
        """
        if _HELD.get() is self:
            yield
            return
        place = _PLACE.get()
        placed = place is not None and place.admission is self and not place.used
        if placed:
            assert place is not None  # for mypy: placed says so
            place.used = True
            self.placed -= 1
        if self.running < self.max_running and not self._waiters:
            self.running += 1
        else:
            await self._wait(placed)
        start = monotonic()
        try:
            yield
        finally:
            elapsed = monotonic() - start
            self._held = elapsed if self._held is None else self._held + self.SMOOTHING * (elapsed - self._held)
            self._release()

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Hold a slot for a whole request: every :meth:`slot` of this admission within the block runs in it.

        A request takes its turn before decoding its input, so that only requests whose turn it is hold the objects
        their input decodes to; the model calls it then makes do not wait a second time.

        Raises:
            QueueFull: As :meth:`slot`.
        """
        async with self.slot():
            token = _HELD.set(self)
            try:
                yield
            finally:
                _HELD.reset(token)

    async def _wait(self, placed: bool) -> None:
        if not placed and self.max_queued is not None and len(self._waiters) >= self.max_queued:
            raise QueueFull(self.retry_after)
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()  # the slot was handed over just as the waiter gave up: pass it on
            elif waiter in self._waiters:  # not yet passed over by a release (which skips cancelled waiters)
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
