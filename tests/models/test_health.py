"""``/health``: 503 while models load or after one failed, 200 once all are ready; loading runs in parallel."""

import threading
from typing import Any

import anyio
import pytest
from flama.http import Flama
from flama.http.health import HealthModule
from flama.models.loading import Loader
from flama.models.module import ModelsModule
from flama.models.resources.predictive import PredictiveResource

from tests.models.serving import classifier, models, served, wait_ready


class Gate(threading.Event):
    """Held shut, model loading waits for it; ``entered`` counts the loads waiting."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Semaphore(0)


@pytest.fixture
def gated(monkeypatch):
    """Model loading waits until the returned gate is set."""
    gate = Gate()
    load = PredictiveResource._load_model

    def slow(self: PredictiveResource) -> Any:
        gate.entered.release()
        gate.wait(10)
        return load(self)

    monkeypatch.setattr(PredictiveResource, "_load_model", slow)
    yield gate
    gate.set()


def two_models(**settings: Any) -> Flama:
    app = Flama(discover_modules=False, modules=[ModelsModule(**settings), HealthModule()], docs=None)
    models(app).add_model("/a/", classifier(), "a")
    models(app).add_model("/b/", classifier(), "b")
    return app


class TestCaseHealth:
    async def test_loading_then_ready(self, gated):
        async with served(two_models(), ready=False) as client:
            loading = await client.get("/health")
            gated.set()
            ready = await wait_ready(client)
        assert (loading.status_code, loading.json()) == (
            503,
            {"status": "loading", "models": {"a": "loading", "b": "loading"}},
        )
        assert ready.json() == {"status": "ok", "models": {"a": "ready", "b": "ready"}}

    async def test_failed(self, monkeypatch):
        def fail(self: PredictiveResource) -> Any:
            if self.name == "b":
                raise OSError("disk on fire")
            return self.source

        monkeypatch.setattr(PredictiveResource, "_load_model", fail)
        app = two_models()
        async with served(app, ready=False) as client:
            for _ in range(1000):
                response = await client.get("/health")
                if "loading" not in response.json()["models"].values():
                    break
                await anyio.sleep(0.005)
            predicted = await client.post("/b/predict/", json={"input": [[0, 0]]})
        assert (response.status_code, response.json()) == (
            503,
            {"status": "failed", "models": {"a": "ready", "b": "failed"}},
        )
        assert str(models(app).loader.failures["b"]) == "disk on fire"
        # The model's route says what /health says: failed (and why), not "loading", and no Retry-After.
        assert (predicted.status_code, predicted.json()) == (
            503,
            {
                "detail": "The model 'b' failed to load: OSError: disk on fire",
                "error": "ModelNotReady",
                "status_code": 503,
            },
        )
        assert "retry-after" not in predicted.headers

    async def test_parallel(self, gated):
        # Both loads are under way at once: each has started while the other still waits at the gate.
        app = two_models(load_concurrency=2)
        async with served(app, ready=False) as client:
            first = await anyio.to_thread.run_sync(gated.entered.acquire, True, 10)
            second = await anyio.to_thread.run_sync(gated.entered.acquire, True, 10)
            gated.set()
            await wait_ready(client)
        assert (first, second) == (True, True)

    def test_invalid_concurrency(self):
        with pytest.raises(ValueError, match=r"^concurrency must be at least 1, got 0$"):
            Loader(0)
