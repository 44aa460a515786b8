"""Models load in the background at startup, several at once; each one's state is what ``/health`` reports."""

import logging
from collections.abc import Sequence

import anyio
from flama.http.health import State
from flama.models.resources.base import ModelResource

__all__ = ["Loader"]

logger = logging.getLogger("flama.models")


class Loader:
    """Loads an application's models, a bounded number at once, and remembers which failed.

    Args:
        concurrency: Models loading at once (each loads in worker threads; a bound keeps peak memory in check).

    Raises:
        ValueError: ``concurrency`` is below 1.
    """

    def __init__(self, concurrency: int = 4) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.concurrency = concurrency
        self.failures: dict[str, BaseException] = {}

    def state(self, resource: ModelResource) -> State:
        """Where ``resource`` stands."""
        if resource.ready:
            return "ready"
        return "failed" if resource.name in self.failures else "loading"

    async def load(self, resources: Sequence[ModelResource]) -> None:
        """Load ``resources``, :attr:`concurrency` at a time; a failure is logged and recorded, never raised."""
        limiter = anyio.CapacityLimiter(self.concurrency)

        async def load_one(resource: ModelResource) -> None:
            async with limiter:
                try:
                    await resource.load()
                except Exception as exc:
                    logger.error("Model %r failed to load", resource.name, exc_info=exc)
                    self.failures[resource.name] = exc
                    resource.failure = exc

        async with anyio.create_task_group() as group:
            for resource in resources:
                group.start_soon(load_one, resource)
