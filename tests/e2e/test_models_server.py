"""Models served by uvicorn (lifespan on) and called over loopback by httpx: a scikit-learn and a PyTorch model."""

import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from flama.http import Flama, HealthModule
from flama.models.modelfile import dump
from flama.models.module import ModelsModule
from flama.models.resources.predictive import PredictiveResource

from tests.libraries import require
from tests.models.serving import Broken, classifier

torch = require("torch")


@pytest.fixture
def gate(monkeypatch):
    """Model loading waits until the returned event is set: a model whose load is slow."""
    opened = threading.Event()
    load = PredictiveResource._load_model

    def slow(self: PredictiveResource) -> Any:
        opened.wait(30)
        return load(self)

    monkeypatch.setattr(PredictiveResource, "_load_model", slow)
    yield opened
    opened.set()


def app_factory(directory: Path) -> Flama:
    path = directory / "fish.flm"
    dump(classifier(), path)
    linear = torch.nn.Linear(3, 1, bias=False)
    with torch.no_grad():
        linear.weight.fill_(1.0)
    models = ModelsModule()
    # Modules are listed, not discovered: /health is the framework's HealthModule, which app.models reports to.
    app = Flama(
        openapi={"title": "Models", "version": "1"}, modules=[HealthModule(), models], discover_modules=False, docs=None
    )
    models.add_model("/fish/", path, "fish")
    # The torch model goes through a .flm file too (torch.export), as a user would ship it.
    dump(linear, directory / "sum.flm")
    models.add_model("/sum/", directory / "sum.flm", "sum")
    models.add_model("/flaky/", Broken(RuntimeError("out of memory"), once=True), "flaky")
    return app


def wait_ready(client: httpx.Client) -> httpx.Response:
    deadline = time.monotonic() + 30
    while (response := client.get("/health")).status_code != 200:
        assert time.monotonic() < deadline, response.json()
        time.sleep(0.02)
    return response


class TestCaseModelsServer:
    def test_serving(self, server_factory, tmp_path, gate):
        url = server_factory(app_factory(tmp_path), lifespan="on")
        with httpx.Client(base_url=url) as client:
            loading = client.get("/health")
            assert (loading.status_code, loading.json()["status"]) == (503, "loading")
            assert client.post("/fish/predict/", json={"input": [[1, 0]]}).status_code == 503
            gate.set()
            assert wait_ready(client).json() == {
                "status": "ok",
                "models": {"fish": "ready", "sum": "ready", "flaky": "ready"},
            }

            predicted = client.post("/fish/predict/", json={"input": [[1, 0], [0, 1]]})
            assert (predicted.status_code, predicted.json()) == (200, {"output": [1, 0]})
            summed = client.post("/sum/predict/", json={"input": [[1, 2, 3]]})
            assert (summed.status_code, summed.json()) == (200, {"output": [[6.0]]})

            bad = client.post("/fish/predict/", json={"input": [[1, 0, 0]]})
            assert bad.status_code == 400
            assert bad.json()["detail"] == {
                "input": ["X has 3 features, but LogisticRegression is expecting 2 features as input."]
            }
            invalid = client.post("/fish/predict/", json={"input": "rows"})
            assert (invalid.status_code, list(invalid.json()["detail"])) == (400, ["input"])

            crashed = client.post("/flaky/predict/", json={"input": [[0]]})
            assert (crashed.status_code, crashed.json()["error"]) == (500, "RuntimeError")
            recovered = client.post("/flaky/predict/", json={"input": [[0]]})
            assert (recovered.status_code, recovered.json()) == (200, {"output": [1]})

            with client.stream("POST", "/fish/stream/", json={"input": [[1, 1], [0, 0]]}) as stream:
                assert stream.headers["content-type"] == "application/x-ndjson"
                lines = [json.loads(line) for line in stream.iter_lines()]
            assert lines == [{"output": 1}, {"output": 0}]
            with client.stream(
                "POST", "/sum/stream/", json={"input": [[1, 1, 1], [2, 2, 2]]}, headers={"accept": "text/event-stream"}
            ) as stream:
                assert stream.headers["content-type"] == "text/event-stream; charset=utf-8"
                events = [line for line in stream.iter_lines() if line]
            assert events == ['data: {"output":[3.0]}', 'data: {"output":[6.0]}']

            inspected = client.get("/fish/").json()
            assert (inspected["name"], inspected["meta"]["framework"]["lib"]) == ("fish", "sklearn")
            schema = client.get("/schema/").json()
            assert [path for path in schema["paths"] if path != "/health"] == [
                f"/{name}/{route}" for name in ("fish", "sum", "flaky") for route in ("", "predict/", "stream/")
            ]
