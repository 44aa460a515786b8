"""The predictive resource in process: inspect, predict, stream, errors, queue limits and PyTorch modules."""

import asyncio
import contextvars
import threading
from typing import Any

import anyio
import anyio.lowlevel
import anyio.to_thread
import httpx
import pytest
from flama.http import Flama
from flama.models.modelfile import dump
from flama.models.module import ModelsModule
from flama.models.resources.predictive import PredictiveResource
from flama.models.runner import QueueFull, Runner

from tests.libraries import needs
from tests.models.serving import Broken, classifier, models, predictive, served

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("REQUEST_ID")


def app_with(model: Any, **options: Any) -> Flama:
    app = Flama(discover_modules=False, modules=[ModelsModule()], docs=None)
    models(app).add_model("/fish/", model, "fish", **options)
    return app


def linear() -> Any:
    """``y = x0 + x1 + x2``."""
    import torch

    module = torch.nn.Linear(3, 1, bias=False)
    with torch.no_grad():
        module.weight.fill_(1.0)
    return module


def embedder() -> Any:
    """Takes token ids (int64): the serializer describes its input dtype from ``example_inputs``."""
    import torch

    class Embedder(torch.nn.Module):  # type: ignore[misc]  # torch is typed as Any here
        def __init__(self) -> None:
            super().__init__()
            self.table = torch.nn.Embedding(4, 2)
            with torch.no_grad():
                self.table.weight.copy_(torch.arange(8, dtype=torch.float32).reshape(4, 2))
            self.example_inputs = (torch.tensor([[0, 1]]),)

        def forward(self, ids: Any) -> Any:
            return self.table(ids).sum(dim=1)

    return Embedder()


class TestCasePredict:
    async def test_predict(self):
        async with served(app_with(classifier())) as client:
            response = await client.post("/fish/predict/", json={"input": [[0, 1], [1, 0], [1, 1]]})
        assert (response.status_code, response.json()) == (200, {"output": [0, 1, 1]})

    async def test_inspect(self):
        async with served(app_with(classifier())) as client:
            response = await client.get("/fish/")
        body = response.json()
        row = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}
        assert response.status_code == 200
        assert (body["name"], body["ready"], body["meta"], body["artifacts"]) == ("fish", True, None, {})
        assert body["model"]["obj"] == "sklearn.linear_model._logistic.LogisticRegression"
        assert body["model"]["params"]["C"] == 100.0
        assert body["schema"] == {"input": {"type": "array", "items": row}, "output": None}

    async def test_model_file(self, tmp_path):
        path = tmp_path / "fish.flm"
        dump(classifier(), path, metrics={"accuracy": 1.0})
        app = app_with(path)
        async with served(app) as client:
            predicted = await client.post("/fish/predict/", json={"input": [[1, 1]]})
            inspected = (await client.get("/fish/")).json()
        resource = predictive(models(app).resources["fish"])
        assert (predicted.status_code, predicted.json()) == (200, {"output": [1]})
        assert inspected["meta"]["framework"]["lib"] == "sklearn"
        assert inspected["meta"]["model"]["metrics"] == {"accuracy": 1.0}
        assert inspected["model"]["obj"] == "sklearn.linear_model._logistic.LogisticRegression"
        assert (resource.ready, resource.model_file, resource.model) == (False, None, None)

    async def test_wrong_shape(self):
        async with served(app_with(classifier())) as client:
            response = await client.post("/fish/predict/", json={"input": [[0, 1, 2]]})
        assert response.status_code == 400
        assert response.json() == {
            "detail": {"input": ["X has 3 features, but LogisticRegression is expecting 2 features as input."]},
            "error": "InvalidInput",
            "status_code": 400,
        }

    async def test_number_too_large_for_the_model(self):
        # Issue 9, item 8: a 400-digit integer reaches the model as a Python int that no float holds.
        async with served(app_with(classifier())) as client:
            body = '{"input": [[%s, 0]]}' % ("9" * 400)
            response = await client.post("/fish/predict/", content=body, headers={"content-type": "application/json"})
        assert response.status_code == 400
        assert response.json() == {
            "detail": {"input": ["int too large to convert to float"]},
            "error": "InvalidInput",
            "status_code": 400,
        }

    @pytest.mark.parametrize(
        ("body", "field", "msg"),
        [
            pytest.param({"input": 3}, "input", "Input should be a valid list", id="not-a-list"),
            pytest.param({"rows": [[0, 1]]}, "input", "Field required", id="missing"),
            pytest.param(
                [[0, 1]], "body", "Input should be a valid dictionary or instance of FishInput", id="not-an-object"
            ),
        ],
    )
    async def test_invalid_body(self, body, field, msg):
        async with served(app_with(classifier())) as client:
            response = await client.post("/fish/predict/", json=body)
        assert response.status_code == 400
        assert response.json() == {"detail": {field: [msg]}, "error": "ValidationError", "status_code": 400}

    async def test_not_json(self):
        async with served(app_with(classifier())) as client:
            response = await client.post("/fish/predict/", content=b"{", headers={"content-type": "application/json"})
        assert response.status_code == 400

    @pytest.mark.parametrize(
        ("error", "status", "body"),
        [
            pytest.param(
                ValueError("rows must be positive"),
                400,
                {"detail": {"input": ["rows must be positive"]}, "error": "InvalidInput", "status_code": 400},
                id="value-error",
            ),
            pytest.param(
                TypeError("rows must be numbers"),
                400,
                {"detail": {"input": ["rows must be numbers"]}, "error": "InvalidInput", "status_code": 400},
                id="type-error",
            ),
            pytest.param(
                RuntimeError("segfault averted"),
                500,
                {"detail": "Internal Server Error", "error": "RuntimeError", "status_code": 500},
                id="crash",
            ),
        ],
    )
    async def test_model_error_then_success(self, error, status, body):
        async with served(app_with(Broken(error, once=True))) as client:
            failed = await client.post("/fish/predict/", json={"input": [[1]]})
            recovered = await client.post("/fish/predict/", json={"input": [[1], [2]]})
        assert (failed.status_code, failed.json()) == (status, body)
        assert (recovered.status_code, recovered.json()) == (200, {"output": [2]})

    async def test_not_loaded(self):
        app = app_with(classifier())
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            response = await client.post("/fish/predict/", json={"input": [[0, 1]]})
            streamed = await client.post("/fish/stream/", json={"input": [[0, 1]]})
        assert (response.status_code, response.headers["retry-after"]) == (503, "1")
        assert response.json() == {
            "detail": "The model 'fish' is not loaded yet",
            "error": "ModelNotReady",
            "status_code": 503,
        }
        assert streamed.status_code == 503

    async def test_queue_full(self):
        started, gate = threading.Event(), threading.Event()

        class Slow:
            def predict(self, rows: list[Any]) -> list[int]:
                started.set()
                gate.wait(10)
                return [0] * len(rows)

        app = app_with(Slow(), workers=1, max_queued=0)
        async with served(app) as client:
            first: list[httpx.Response] = []

            async def call() -> None:
                first.append(await client.post("/fish/predict/", json={"input": [[0]]}))

            async with anyio.create_task_group() as group:
                group.start_soon(call)
                await anyio.to_thread.run_sync(started.wait, 10)
                refused = await client.post("/fish/predict/", json={"input": [[0]]})
                gate.set()
        assert (refused.status_code, refused.headers["retry-after"]) == (429, "1")
        assert refused.json() == {
            "detail": "Too many requests are waiting for this model; retry after 1 s",
            "error": "QueueFull",
            "status_code": 429,
        }
        assert (first[0].status_code, first[0].json()) == (200, {"output": [0]})


class TestCaseStream:
    async def test_ndjson(self):
        async with served(app_with(classifier())) as client:
            response = await client.post("/fish/stream/", json={"input": [[0, 1], [1, 0]]})
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/x-ndjson"
        assert response.text == '{"output":0}\n{"output":1}\n'

    async def test_sse(self):
        async with served(app_with(classifier())) as client:
            response = await client.post(
                "/fish/stream/", json={"input": [[0, 1], [1, 0]]}, headers={"accept": "text/event-stream"}
            )
        assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert response.text == 'data: {"output":0}\n\ndata: {"output":1}\n\n'

    @pytest.mark.parametrize(
        ("accept", "expected"),
        [
            pytest.param(
                "application/x-ndjson",
                '{"output":1}\n{"error":{"detail":{"input":["X has 3 features, but LogisticRegression is expecting 2 '
                'features as input."]},"error":"InvalidInput","status_code":400}}\n',
                id="ndjson",
            ),
            pytest.param(
                "text/event-stream",
                'data: {"output":1}\n\nevent: error\ndata: {"detail":{"input":["X has 3 features, but '
                'LogisticRegression is expecting 2 features as input."]},"error":"InvalidInput","status_code":400}\n\n',
                id="sse",
            ),
        ],
    )
    async def test_error_ends_the_stream(self, accept, expected):
        async with served(app_with(classifier())) as client:
            response = await client.post(
                "/fish/stream/", json={"input": [[1, 0], [1, 0, 0], [0, 0]]}, headers={"accept": accept}
            )
        assert (response.status_code, response.text) == (200, expected)

    async def test_crash_ends_the_stream(self):
        async with served(app_with(Broken(RuntimeError("boom")))) as client:
            response = await client.post("/fish/stream/", json={"input": [[0]]})
        assert (
            response.text == '{"error":{"detail":"Internal Server Error","error":"RuntimeError","status_code":500}}\n'
        )


@needs("torch")
class TestCaseTorch:
    async def test_linear(self):
        async with served(app_with(linear())) as client:
            response = await client.post("/fish/predict/", json={"input": [[1, 2, 3], [0.5, 0, 0]]})
        assert (response.status_code, response.json()) == (200, {"output": [[6.0], [0.5]]})

    async def test_described(self):
        async with served(app_with(linear())) as client:
            schema = (await client.get("/fish/")).json()["schema"]
        assert (schema["input"]["x-dtype"], schema["input"]["x-shape"]) == ("float32", [None, 3])
        assert schema["output"]["x-shape"] == [None, 1]

    async def test_wrong_shape(self):
        async with served(app_with(linear())) as client:
            response = await client.post("/fish/predict/", json={"input": [[1, 2]]})
        assert response.status_code == 400
        assert response.json()["detail"] == {"input": ["each input row must have shape (3,), got rows of shape (2,)"]}

    async def test_ragged_rows(self):
        async with served(app_with(linear())) as client:
            response = await client.post("/fish/predict/", json={"input": [[1, 2, 3], [1]]})
        assert response.status_code == 400
        assert response.json()["detail"] == {"input": ["expected sequence of length 3 at dim 1 (got 1)"]}

    async def test_integer_input(self):
        async with served(app_with(embedder())) as client:
            response = await client.post("/fish/predict/", json={"input": [[0, 3], [1, 1]]})
            stream = await client.post("/fish/stream/", json={"input": [[2, 2]]})
        assert (response.status_code, response.json()) == (200, {"output": [[6.0, 8.0], [4.0, 6.0]]})
        assert stream.text == '{"output":[8.0,10.0]}\n'


class TestCaseRunner:
    @pytest.mark.parametrize(
        ("options", "message"),
        [
            pytest.param({"workers": 0}, "workers must be at least 1, got 0", id="workers"),
            pytest.param({"max_queued": -1}, "max_queued must be at least 0, got -1", id="queue"),
        ],
    )
    def test_invalid(self, options, message):
        with pytest.raises(ValueError, match=message):
            Runner(anyio.CapacityLimiter(1), **options)

    async def test_run(self):
        runner = Runner(anyio.CapacityLimiter(2), workers=1, max_queued=4)
        seen: list[tuple[int, int]] = []

        def call(value: int) -> int:
            seen.append((runner.running, runner.waiting))
            return value * 2

        assert await runner.run(call, 21) == 42
        assert seen == [(1, 0)]
        assert (runner.running, runner.waiting) == (0, 0)

    async def test_waiting_call_runs_after_the_running_one(self):
        runner = Runner(anyio.CapacityLimiter(2), workers=1)
        release = threading.Event()
        order: list[str] = []
        results: dict[str, int] = {}

        def first() -> int:
            release.wait(5)
            order.append("first")
            return 1

        def second() -> int:
            order.append("second")
            return 2

        async def run(name: str, func: Any) -> None:
            results[name] = await runner.run(func)

        async with anyio.create_task_group() as group:
            group.start_soon(run, "first", first)
            while runner.running == 0:
                await anyio.lowlevel.checkpoint()
            group.start_soon(run, "second", second)
            while runner.waiting == 0:
                await anyio.lowlevel.checkpoint()
            assert (runner.running, runner.waiting, runner.shared.borrowed_tokens) == (1, 1, 1)
            release.set()
        runner.close()
        assert (results, order) == ({"first": 1, "second": 2}, ["first", "second"])
        assert (runner.running, runner.waiting, runner.shared.borrowed_tokens) == (0, 0, 0)

    def test_threads_outlive_the_event_loop(self):
        # Each asyncio.run is a new root task (as when a driver runs every request with run_until_complete): the
        # runner's threads are its own, so both calls run in the same one.
        runner = Runner(anyio.CapacityLimiter(1))
        try:
            first = asyncio.run(runner.run(threading.get_ident))
            second = asyncio.run(runner.run(threading.get_ident))
            assert first == second != threading.get_ident()
        finally:
            runner.close()

    async def test_close(self):
        runner = Runner(anyio.CapacityLimiter(1))
        name = await runner.run(lambda: threading.current_thread().name)
        runner.close()
        runner.close()  # closing twice is harmless
        assert name.startswith("flama-models")
        assert await runner.run(lambda: 42) == 42  # a new pool starts
        runner.close()

    async def test_context_reaches_the_thread(self):
        runner = Runner(anyio.CapacityLimiter(1))
        token = REQUEST_ID.set("abc")
        try:
            assert await runner.run(REQUEST_ID.get) == "abc"
        finally:
            REQUEST_ID.reset(token)
            runner.close()

    async def test_cancelled_call_keeps_its_slot(self):
        runner = Runner(anyio.CapacityLimiter(1), workers=1)
        started, release = threading.Event(), threading.Event()

        def block() -> str:
            started.set()
            release.wait(5)
            return "done"

        async def cancel_when_started(scope: anyio.CancelScope) -> None:
            await anyio.to_thread.run_sync(started.wait, 5)
            scope.cancel()
            for _ in range(3):  # the cancellation would reach an unshielded call at its next step
                await anyio.lowlevel.checkpoint()
            seen.append(runner.running)
            release.set()

        seen: list[int] = []
        async with anyio.create_task_group() as group:
            with anyio.CancelScope() as scope:
                group.start_soon(cancel_when_started, scope)
                assert await runner.run(block) == "done"
        runner.close()
        assert (seen, runner.running) == ([1], 0)

    def test_queue_full(self):
        error = QueueFull(3)
        assert (error.retry_after, str(error)) == (3, "Too many requests are waiting for this model; retry after 3 s")

    def test_resource_without_limiter(self):
        resource = PredictiveResource(path="/fish/", name="fish", source=classifier(), workers=2)
        assert (resource.runner.shared.total_tokens, resource.runner.workers) == (2, 2)
