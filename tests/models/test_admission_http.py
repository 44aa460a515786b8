"""Admission before the body, over real HTTP (uvicorn on loopback, the server limits ``flama serve`` uses).

A prediction takes its place in the model's line before its body is read, and decodes the body only when its turn
to run comes. The decoder is wrapped to count its calls: a refused request never decodes its body, and a request
waiting in line has not decoded its body yet; the evidence is the count at each step, not a duration.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from flama.core import json_decode
from flama.http import Flama, server_defaults
from flama.http import requests as requests_module
from flama.models.module import ModelsModule
from flama.models.resources.predictive import PredictiveResource

ROWS = [[float(i), 1.0] for i in range(50_000)]  # about 1 MiB of JSON: several socket reads
SMALL = [[0.0, 1.0]]


class Gated:
    """Answers 0 per row; the first call waits for :attr:`gate`, so that it holds the model's only worker."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.gate = threading.Event()

    def predict(self, rows: list[Any]) -> list[int]:
        if not self.started.is_set():
            self.started.set()
            assert self.gate.wait(10), "the test never opened the gate"
        return [0] * len(rows)


class Decodes:
    """The real ``json_decode``, counting the bodies it decodes."""

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def __call__(self, data: bytes, **options: Any) -> Any:
        self.sizes.append(len(data))
        return json_decode(data, **options)


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> Decodes:
    counter = Decodes()
    monkeypatch.setattr(requests_module, "json_decode", counter)
    return counter


def serve(server_factory: Any, model: Any, **options: Any) -> tuple[str, PredictiveResource]:
    app = Flama(discover_modules=False, modules=[ModelsModule(workers=1)], docs=None, schema=None)
    resource = app.models.add_model("/fish/", model, "fish", **options)
    assert isinstance(resource, PredictiveResource)
    url = server_factory(app, lifespan="on", **server_defaults())
    deadline = time.monotonic() + 30
    while not resource.ready:
        assert time.monotonic() < deadline, "the model did not load"
        time.sleep(0.01)
    return url, resource


def wait_for(condition: Any) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "the server never reached the expected state"
        time.sleep(0.005)


class TestCaseAdmissionBeforeBody:
    def test_refused_before_its_body_is_decoded(self, server_factory, decodes):
        model = Gated()
        url, resource = serve(server_factory, model, max_queued=0)
        with httpx.Client(base_url=url, timeout=30) as client, ThreadPoolExecutor(1) as pool:
            first = pool.submit(client.post, "/fish/predict/", json={"input": SMALL})
            assert model.started.wait(10)
            try:
                refused = client.post("/fish/predict/", json={"input": ROWS})
                decoded_when_refused = list(decodes.sizes)
            finally:
                model.gate.set()
            assert first.result(30).json() == {"output": [0]}
            # The refused request's connection is still usable: the body was received and dropped, not left unread.
            again = client.post("/fish/predict/", json={"input": SMALL[:1] * 3})
        assert (refused.status_code, refused.headers["retry-after"]) == (429, "1")
        assert refused.json() == {
            "detail": "Too many requests are waiting for this model; retry after 1 s",
            "error": "QueueFull",
            "status_code": 429,
        }
        assert len(decoded_when_refused) == 1  # the first request's body only
        assert (again.status_code, again.json()) == (200, {"output": [0, 0, 0]})
        assert (resource.runner.running, resource.runner.waiting, resource.runner.admission.placed) == (0, 0, 0)

    def test_waiting_request_decodes_its_body_in_its_turn(self, server_factory, decodes):
        model = Gated()
        url, resource = serve(server_factory, model, max_queued=1)
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(httpx.post, f"{url}/fish/predict/", json={"input": SMALL}, timeout=30)
            assert model.started.wait(10)
            second = pool.submit(httpx.post, f"{url}/fish/predict/", json={"input": ROWS}, timeout=30)
            try:
                wait_for(lambda: resource.runner.waiting == 1)
                decoded_while_waiting = len(decodes.sizes)
            finally:
                model.gate.set()
            assert first.result(30).json() == {"output": [0]}
            answered = second.result(30)
        assert decoded_while_waiting == 1
        assert (answered.status_code, len(answered.json()["output"])) == (200, len(ROWS))
        assert len(decodes.sizes) == 2

    def test_body_errors_answered_before_the_turn(self, server_factory):
        url, resource = serve(server_factory, Gated(), max_queued=0)
        with httpx.Client(base_url=url, timeout=30) as client:
            malformed = client.post(
                "/fish/predict/", content=b'{"input": [', headers={"content-type": "application/json"}
            )
            too_large = client.post("/fish/predict/", content=b"[" + b"0," * (9 * 1024 * 1024) + b"0]")
        assert (malformed.status_code, malformed.json()["error"]) == (400, "HTTPException")
        assert (too_large.status_code, too_large.json()["error"]) == (413, "HTTPException")
        assert (resource.runner.running, resource.runner.waiting, resource.runner.admission.placed) == (0, 0, 0)
