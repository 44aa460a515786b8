"""Large JSON bodies are decoded off the event loop, over real HTTP (uvicorn on loopback).

The decoder is wrapped with a gate: the decode of a large body does not start until a concurrent GET has been
answered. If the decode ran on the event loop, the loop would be stuck in the gate and the GET could not be answered,
so the test would fail (when the GET times out); the order of the recorded steps is the evidence, not a duration.
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from flama.core import json_decode
from flama.http import Flama, Request
from flama.http import requests as requests_module
from flama.http.requests import DEFAULT_JSON_OFFLOAD_SIZE, MIN_JSON_OFFLOAD_SIZE

LARGE = b'{"rows": [' + b",".join(b"[%d.5, %d]" % (i, i) for i in range(60_000)) + b"]}"
SMALL = b'{"rows": [[1.5, 1]]}'
MEDIUM = b'{"rows": [' + b",".join(b"[%d.5, %d]" % (i, i) for i in range(3_000)) + b"]}"


class Gate:
    """The real ``json_decode``, recording each step; a large body waits for :attr:`opened` before decoding."""

    def __init__(self) -> None:
        self.steps: list[str] = []
        self.decoding = threading.Event()
        self.opened = threading.Event()
        self.decode_threads: list[int] = []
        self.options: list[dict[str, Any]] = []

    def __call__(self, data: bytes, **options: Any) -> Any:
        self.decode_threads.append(threading.get_ident())
        self.options.append(options)
        if len(data) > DEFAULT_JSON_OFFLOAD_SIZE:
            self.steps.append("decode waiting")
            self.decoding.set()
            assert self.opened.wait(10), "nobody opened the gate"
        return json_decode(data, **options)


def make_app(gate: Gate, **options: Any) -> tuple[Flama, dict[str, int]]:
    app = Flama(schema=None, docs=None, discover_modules=False, **options)
    seen: dict[str, int] = {}

    @app.route("/ping")
    async def ping() -> dict[str, bool]:
        seen["loop"] = threading.get_ident()
        gate.steps.append("ping answered")
        return {"ok": True}

    @app.route("/rows", methods=["POST"])
    async def rows(request: Request) -> dict[str, int]:
        seen["loop"] = threading.get_ident()
        data = await request.json()
        gate.steps.append("handler has the JSON")
        return {"rows": len(data["rows"])}

    return app, seen


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Gate:
    gate = Gate()
    monkeypatch.setattr(requests_module, "json_decode", gate)
    return gate


def post(url: str, body: bytes) -> httpx.Response:
    return httpx.post(f"{url}/rows", content=body, headers={"content-type": "application/json"}, timeout=30)


class TestJSONOffload:
    def test_concurrent_get_answered_while_a_large_body_decodes(self, server_factory, gate):
        app, seen = make_app(gate)
        url = server_factory(app)
        assert len(LARGE) > DEFAULT_JSON_OFFLOAD_SIZE
        with ThreadPoolExecutor(1) as pool:
            posted = pool.submit(post, url, LARGE)
            assert gate.decoding.wait(10), "the large body never reached the decoder"
            try:
                ping = httpx.get(f"{url}/ping", timeout=5)
            finally:
                gate.opened.set()
            response = posted.result(30)
        assert ping.status_code == 200
        assert response.status_code == 200
        assert response.json() == {"rows": 60_000}
        assert gate.steps == ["decode waiting", "ping answered", "handler has the JSON"]
        assert gate.decode_threads[0] != seen["loop"]
        assert gate.options == [{"yield_gil": True}]  # parsed without the interpreter lock (tests/core/test_json.py)

    def test_small_body_decoded_on_the_event_loop(self, server_factory, gate):
        app, seen = make_app(gate)
        url = server_factory(app)
        response = post(url, SMALL)
        assert response.json() == {"rows": 1}
        assert gate.decode_threads == [seen["loop"]]
        assert gate.options == [{}]

    def test_offload_disabled_decodes_on_the_event_loop(self, server_factory, gate):
        gate.opened.set()
        app, seen = make_app(gate, json_offload_size=None)
        url = server_factory(app)
        assert post(url, LARGE).json() == {"rows": 60_000}
        assert gate.decode_threads == [seen["loop"]]

    def test_threshold_is_configurable(self, server_factory, gate):
        assert MIN_JSON_OFFLOAD_SIZE < len(MEDIUM) < DEFAULT_JSON_OFFLOAD_SIZE
        app, seen = make_app(gate, json_offload_size=MIN_JSON_OFFLOAD_SIZE)
        url = server_factory(app)
        assert post(url, MEDIUM).json() == {"rows": 3_000}
        assert post(url, SMALL).json() == {"rows": 1}
        assert gate.decode_threads[0] != seen["loop"]
        assert gate.decode_threads[1] == seen["loop"]

    def test_malformed_large_body_is_a_400(self, server_factory):
        app, _ = make_app(Gate())
        url = server_factory(app)
        response = post(url, LARGE[:-1])
        assert response.status_code == 400
        assert response.json()["detail"].startswith("Malformed JSON body")

    @pytest.mark.parametrize("size", [-1, 0, MIN_JSON_OFFLOAD_SIZE - 1])
    def test_threshold_below_the_minimum_refused(self, size):
        with pytest.raises(ValueError, match="json_offload_size must be at least 16384"):
            Flama(json_offload_size=size)
