"""Readiness: models load in the background at startup, several at once, and ``GET /health`` says how far it got.

``/health`` answers 503 while a model is loading or after one failed to load, and 200 once every model is ready::

    {"status": "loading" | "failed" | "ok", "models": {"<name>": "loading" | "failed" | "ready", ...}}
"""

import logging
from collections.abc import Sequence
from typing import Any, Literal

import anyio
from flama.http.responses import JSONResponse
from flama.models.resources.base import ModelResource

__all__ = ["Health", "ModelState"]

logger = logging.getLogger("flama.models")

ModelState = Literal["loading", "ready", "failed"]


class Health:
    """The loading state of an application's models, and the ``/health`` endpoint reporting it.

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
        self.resources: list[ModelResource] = []

    def state(self, resource: ModelResource) -> ModelState:
        """Where ``resource`` stands."""
        if resource.ready:
            return "ready"
        return "failed" if resource.name in self.failures else "loading"

    def report(self) -> tuple[int, dict[str, Any]]:
        """The status code and body of ``/health``."""
        models = {resource.name: self.state(resource) for resource in self.resources}
        states = set(models.values())
        status = "failed" if "failed" in states else "loading" if "loading" in states else "ok"
        return (200 if status == "ok" else 503), {"status": status, "models": models}

    async def endpoint(self) -> JSONResponse:
        """Whether every model is loaded.

        503 while a model is loading or after one failed to load (with each model's state), 200 once all are ready.
        """
        status_code, body = self.report()
        return JSONResponse(body, status_code=status_code)

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

        async with anyio.create_task_group() as group:
            for resource in resources:
                group.start_soon(load_one, resource)
