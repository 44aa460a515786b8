"""Helpers shared by the serving tests: small real models and an application served in process with its lifespan."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import numpy as np
from flama.http import Flama
from flama.models.module import ModelsModule
from flama.models.resources.base import ModelResource
from flama.models.resources.predictive import PredictiveResource
from sklearn.linear_model import LogisticRegression

# Two features; the label is the first feature, so predictions are known.
FEATURES = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]] * 4)
LABELS = np.array([0, 0, 1, 1] * 4)


def classifier() -> LogisticRegression:
    """A fitted scikit-learn classifier: ``[[0, x]] -> 0``, ``[[1, x]] -> 1``."""
    return LogisticRegression(C=100.0).fit(FEATURES, LABELS)


class Broken:
    """A model with ``predict`` that fails in the chosen way, then (``once=True``) answers the row count."""

    def __init__(self, error: Exception, once: bool = False) -> None:
        self.error = error
        self.once = once
        self.calls = 0

    def predict(self, rows: list[Any]) -> list[int]:
        self.calls += 1
        if not self.once or self.calls == 1:
            raise self.error
        return [len(rows)]


async def wait_ready(client: httpx.AsyncClient, path: str = "/health") -> httpx.Response:
    """Poll the readiness endpoint until it answers 200 (the loading runs on the same loop)."""
    for _ in range(1000):
        response = await client.get(path)
        if response.status_code == 200:
            return response
        await anyio.sleep(0.005)
    raise AssertionError(f"not ready: {response.json()}")


async def wait_loaded(app: Flama) -> None:
    """Wait until every model of ``app`` is loaded (the loading runs on the same loop)."""
    module = models(app)
    for _ in range(1000):
        if all(resource.ready for resource in module.resources.values()):
            return
        await anyio.sleep(0.005)
    raise AssertionError(f"not loaded: {[module.loader.state(r) for r in module.resources.values()]}")


@asynccontextmanager
async def served(app: Flama, ready: bool = True) -> AsyncIterator[httpx.AsyncClient]:
    """A client of ``app`` with its lifespan running (models loading); with ``ready``, once every model is loaded."""
    async with app.lifespan.run(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            if ready:
                await wait_loaded(app)
            yield client


def models(app: Flama) -> ModelsModule:
    """``app.models``, typed."""
    module = app.models
    assert isinstance(module, ModelsModule)
    return module


def predictive(resource: ModelResource) -> PredictiveResource:
    """A resource, typed as the predictive resource it is."""
    assert isinstance(resource, PredictiveResource)
    return resource
