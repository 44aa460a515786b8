"""Blocking model calls off the event loop: worker threads behind the model's bounded admission.

A :class:`Runner` belongs to one model. Its calls are admitted by an :class:`~flama.models.admission.Admission`
(``workers`` of them run at once for this model, ``max_queued`` wait in line, first come first served, the rest get
:class:`~flama.models.admission.QueueFull`, answered 429 with ``Retry-After``) and then run in worker threads of
their own, through a limiter shared by every model of the application, at most the application's own limit in total.
"""

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import anyio
from flama.models.admission import DEFAULT_MAX_QUEUED, Admission, QueueFull

__all__ = ["QueueFull", "Runner"]

T = TypeVar("T")


async def _acquire(limiter: anyio.CapacityLimiter) -> None:
    """Take a token of ``limiter``, at once when one is free (``acquire`` would also yield to the event loop)."""
    try:
        limiter.acquire_nowait()
    except anyio.WouldBlock:
        await limiter.acquire()


class Runner:
    """Runs one model's blocking calls in worker threads.

    Args:
        shared: The application-wide limiter every model's calls also go through.
        workers: Calls of this model running at once; ``None``: as many as the shared limit allows.
        max_queued: Calls allowed to wait for a worker (default 64); ``None``: unbounded.

    Raises:
        ValueError: ``workers`` is below 1 or ``max_queued`` below 0.
    """

    __slots__ = ("_pool", "admission", "shared", "workers")

    def __init__(
        self, shared: anyio.CapacityLimiter, *, workers: int | None = None, max_queued: int | None = DEFAULT_MAX_QUEUED
    ) -> None:
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.shared = shared
        self.workers = workers
        self.admission = Admission(workers or int(shared.total_tokens), max_queued)
        # Threads of its own, started on first use and kept until close(): anyio's worker threads end with the task
        # anyio takes for the root (the one run_until_complete runs), so a server or driver that runs each request
        # that way would start and join one thread per prediction. The limits above decide when a call starts; the
        # pool only needs a thread for every call that may run at once.
        self._pool: ThreadPoolExecutor | None = None

    @property
    def max_queued(self) -> int | None:
        """Calls allowed to wait."""
        return self.admission.max_queued

    @property
    def running(self) -> int:
        """Calls admitted now (running, or about to take a shared worker)."""
        return self.admission.running

    @property
    def waiting(self) -> int:
        """Calls waiting in line."""
        return self.admission.queued

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
        """Call ``func(*args)`` in a worker thread once admitted and a worker is free, and return its result.

        Raises:
            QueueFull: ``max_queued`` calls are already waiting.
        """
        async with self.admission.slot():
            await _acquire(self.shared)
            try:
                # A running thread cannot be stopped: a cancelled request keeps its slot until the call ends.
                with anyio.CancelScope(shield=True):
                    call = self._threads().submit(contextvars.copy_context().run, func, *args)
                    result = await asyncio.wrap_future(call)
                # Returned after the scope: to mypy a cancel scope's exit may swallow what the block raised.
                return result  # noqa: RET504
            finally:
                self.shared.release()
