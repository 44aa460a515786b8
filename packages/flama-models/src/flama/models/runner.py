"""Blocking model calls off the event loop: worker threads with bounded concurrency and a bounded queue.

A :class:`Runner` belongs to one model. Its calls run in worker threads of its own, at most ``workers`` of them at once
for this model and, through a limiter shared by every model of the application, at most the application's own limit
in total. A call that cannot start at once waits; once ``max_queued`` calls are already waiting, the next one is
refused with :class:`QueueFull`, which tells the client when to retry (HTTP 429 with ``Retry-After``).
"""

import asyncio
import contextvars
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import anyio
from flama.http.exceptions import Overloaded

__all__ = ["QueueFull", "Runner"]

T = TypeVar("T")

# Weight of the newest call in the running mean of call durations that Retry-After is estimated from.
_SMOOTHING = 0.2


async def _acquire(limiter: anyio.CapacityLimiter) -> None:
    """Take a token of ``limiter``, at once when one is free (``acquire`` would also yield to the event loop)."""
    try:
        limiter.acquire_nowait()
    except anyio.WouldBlock:
        await limiter.acquire()


class QueueFull(Overloaded):
    """Too many calls are already waiting for a worker.

    Args:
        retry_after: Whole seconds after which a retry is likely to be served.
    """

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many requests are waiting; retry after {retry_after} s", retry_after)


class Runner:
    """Runs one model's blocking calls in worker threads.

    Args:
        shared: The application-wide limiter every model's calls also go through.
        workers: Calls of this model running at once; ``None``: only the shared limit applies.
        max_queued: Calls allowed to wait for a worker; ``None``: unbounded.

    Raises:
        ValueError: ``workers`` is below 1 or ``max_queued`` below 0.
    """

    __slots__ = ("_mean", "_own", "_pool", "max_queued", "running", "shared", "waiting", "workers")

    def __init__(
        self, shared: anyio.CapacityLimiter, *, workers: int | None = None, max_queued: int | None = None
    ) -> None:
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        if max_queued is not None and max_queued < 0:
            raise ValueError(f"max_queued cannot be negative, got {max_queued}")
        self.shared = shared
        self.workers = workers
        self.max_queued = max_queued
        self._own = None if workers is None else anyio.CapacityLimiter(workers)
        # Threads of its own, started on first use and kept until close(): anyio's worker threads end with the task
        # anyio takes for the root (the one run_until_complete runs), so a server or driver that runs each request
        # that way would start and join one thread per prediction. The limits above decide when a call starts; the
        # pool only needs a thread for every call that may run at once.
        self._pool: ThreadPoolExecutor | None = None
        self.running = 0
        self.waiting = 0
        self._mean = 0.0

    def _busy(self) -> bool:
        """Whether a new call would have to wait for a worker."""
        own = self._own
        return self.shared.available_tokens < 1 or (own is not None and own.available_tokens < 1)

    def retry_after(self) -> int:
        """Whole seconds (at least 1) until the calls waiting now are likely to be done."""
        slots = self.workers or int(self.shared.total_tokens)
        return max(1, math.ceil(self._mean * (self.waiting + 1) / slots))

    def _threads(self) -> ThreadPoolExecutor:
        """The worker threads, started on first use."""
        if self._pool is None:
            size = self.workers or int(self.shared.total_tokens)
            self._pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="flama-models")
        return self._pool

    def close(self) -> None:
        """Let the worker threads end once their calls are done; a later call starts new ones."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)

    async def run(self, func: Callable[..., T], *args: object) -> T:
        """Call ``func(*args)`` in a worker thread once a worker is free, and return its result.

        Raises:
            QueueFull: ``max_queued`` calls are already waiting.
        """
        if self.max_queued is not None and self.waiting >= self.max_queued and self._busy():
            raise QueueFull(self.retry_after())
        own = self._own
        self.waiting += 1
        try:
            if own is not None:
                await _acquire(own)
            try:
                await _acquire(self.shared)
            except BaseException:
                if own is not None:
                    own.release()
                raise
        finally:
            self.waiting -= 1
        self.running += 1
        begin = time.perf_counter()
        try:
            # A running thread cannot be stopped: a cancelled request keeps its slot until the call ends.
            with anyio.CancelScope(shield=True):
                call = self._threads().submit(contextvars.copy_context().run, func, *args)
                result = await asyncio.wrap_future(call)
            # Returned after the scope: to mypy a cancel scope's exit may swallow what the block raised.
            return result  # noqa: RET504
        finally:
            elapsed = time.perf_counter() - begin
            self._mean = elapsed if self._mean == 0.0 else self._mean + _SMOOTHING * (elapsed - self._mean)
            self.running -= 1
            self.shared.release()
            if own is not None:
                own.release()
