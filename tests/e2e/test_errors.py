"""One error body and one streamed-error shape across the framework, over real HTTP (uvicorn on loopback).

Every error kind of every module is answered with ``{"detail", "error", "status_code"}`` (Flama 2.x's body), with
``error`` the exception's class name; an error after a stream started ends it with that same body (an SSE event named
``error``, or an NDJSON line ``{"error": <body>}``).
"""

import asyncio
import json
import threading
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pydantic
import pytest
from flama.http import Flama, HTTPException, NDJSONResponse, Route
from flama.http.exceptions import Overloaded, error_event, error_line, streamed_error
from flama.http.sse import EventSourceResponse
from flama.llm.backends.base import Delta, GenerationParams
from flama.llm.resource import LLMResource
from flama.middleware import APIKeyMiddleware, BodySizeLimitMiddleware
from flama.models.module import ModelsModule

from tests.llm.doubles import ScriptedBackend, scripted
from tests.models.serving import Broken, classifier
from tests.servers import ServerFactory

BODY_KEYS = {"detail", "error", "status_code"}


class Item(pydantic.BaseModel):
    name: str
    price: float


async def create(item: Item) -> dict[str, Any]:
    return item.model_dump()


async def missing() -> None:
    raise HTTPException(404, "no such thing")


async def busy() -> None:
    raise Overloaded("the kitchen is full", retry_after=2.5)


async def crash() -> None:
    raise KeyError("secret")


async def numbers(request: Any) -> EventSourceResponse | NDJSONResponse:
    async def produce() -> AsyncIterator[Any]:
        yield {"n": 1}
        try:
            raise Overloaded("too busy to go on", retry_after=1)
        except Exception as exc:  # the response has started: the error is the stream's last item
            body = streamed_error(exc, request.app)
            yield error_event(body) if "sse" in request.query_params else error_line(body)

    return EventSourceResponse(produce(), ping=None) if "sse" in request.query_params else NDJSONResponse(produce())


class Endless(ScriptedBackend):
    """Generates one token, then waits for ever (until cancelled)."""

    async def stream(self, ids: list[int], params: GenerationParams, limit: int) -> AsyncGenerator[Delta, None]:
        yield Delta("Hello", 1, None)
        await asyncio.sleep(3600)


class Failing(ScriptedBackend):
    """Generates one token, then the backend breaks."""

    async def stream(self, ids: list[int], params: GenerationParams, limit: int) -> AsyncGenerator[Delta, None]:
        yield Delta("Hello", 1, None)
        raise RuntimeError("the accelerator fell off")


def app_factory(tmp_path: Path) -> Flama:
    from flama.http import Request

    async def stream(request: Request) -> EventSourceResponse | NDJSONResponse:
        return await numbers(request)

    app = Flama(
        [
            Route("/items/", create, methods=["POST"]),
            Route("/missing/", missing),
            Route("/busy/", busy),
            Route("/crash/", crash),
            Route("/numbers/", stream),
        ],
        docs=None,
    )
    models = app.modules.get("models")
    assert isinstance(models, ModelsModule)
    models.add_model("/fish/", classifier(), "fish")
    models.add_model("/broken/", Broken(RuntimeError("boom")), "broken")
    models.add_model("/llm/", tmp_path, "assistant", family="llm", backend=scripted("Hello", " world"), decoder="plain")
    models.add_model("/failing/", tmp_path, "failing", family="llm", backend=Failing, decoder="plain")
    models.add_model("/endless/", tmp_path, "endless", family="llm", backend=Endless, decoder="plain")
    return app


@pytest.fixture
async def url(server_factory: ServerFactory, tmp_path: Path) -> str:
    base = server_factory(app_factory(tmp_path), lifespan="on")
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        for _ in range(500):
            if (await client.get("/health")).status_code == 200:
                break
            await asyncio.sleep(0.02)
    return base


def check(response: httpx.Response, status: int, error: str) -> Any:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == BODY_KEYS
    assert (body["status_code"], body["error"]) == (status, error)
    return body["detail"]


def sse_events(text: str) -> list[tuple[str | None, dict[str, Any]]]:
    events = []
    for chunk in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in chunk.splitlines() if ": " in line and not line.startswith(":"))
        events.append((fields.get("event"), json.loads(fields["data"])))
    return events


class TestCaseHTTP:
    @pytest.mark.parametrize(
        ("method", "path", "body", "status", "error", "detail"),
        [
            pytest.param("GET", "/nowhere/", None, 404, "HTTPException", "Not Found", id="route-not-found"),
            pytest.param("DELETE", "/missing/", None, 405, "HTTPException", "Method Not Allowed", id="method"),
            pytest.param("GET", "/missing/", None, 404, "HTTPException", "no such thing", id="raised"),
            pytest.param(
                "POST", "/items/", {"name": "pen"}, 400, "ValidationError", {"price": ["Field required"]}, id="invalid"
            ),
            pytest.param("GET", "/busy/", None, 429, "Overloaded", "the kitchen is full", id="overloaded"),
            pytest.param("GET", "/crash/", None, 500, "KeyError", "Internal Server Error", id="unhandled"),
        ],
    )
    async def test_error(self, url, method, path, body, status, error, detail):
        async with httpx.AsyncClient(base_url=url) as client:
            response = await client.request(method, path, json=body)
        assert check(response, status, error) == detail
        if status == 429:
            assert response.headers["retry-after"] == "3"

    async def test_streamed(self, url):
        async with httpx.AsyncClient(base_url=url) as client:
            ndjson = await client.get("/numbers/")
            sse = await client.get("/numbers/?sse=1")
        body = {"detail": "too busy to go on", "error": "Overloaded", "status_code": 429}
        assert [json.loads(line) for line in ndjson.text.splitlines()] == [{"n": 1}, {"error": body}]
        assert sse_events(sse.text) == [(None, {"n": 1}), ("error", body)]


class TestCaseMiddleware:
    async def test_unauthorized(self, server_factory, tmp_path):
        app = app_factory(tmp_path)
        app.add_middleware(APIKeyMiddleware, keys=["k"])
        async with httpx.AsyncClient(base_url=server_factory(app)) as client:
            response = await client.get("/missing/")
        check(response, 401, "Unauthorized")
        assert response.headers["www-authenticate"] == "Bearer"

    async def test_too_large(self, server_factory, tmp_path):
        app = app_factory(tmp_path)
        app.add_middleware(BodySizeLimitMiddleware, max_body_size=10)
        async with httpx.AsyncClient(base_url=server_factory(app)) as client:
            response = await client.post("/items/", content=b"x" * 100)
        check(response, 413, "HTTPException")


class TestCaseModels:
    async def test_invalid_input(self, url):
        async with httpx.AsyncClient(base_url=url) as client:
            response = await client.post("/fish/predict/", json={"input": [[0, 1, 2]]})
            ndjson = await client.post("/fish/stream/", json={"input": [[1, 0], [0, 1, 2]]})
            sse = await client.post(
                "/fish/stream/", json={"input": [[1, 0], [0, 1, 2]]}, headers={"accept": "text/event-stream"}
            )
        detail = check(response, 400, "InvalidInput")
        assert list(detail) == ["input"]
        body = {"detail": detail, "error": "InvalidInput", "status_code": 400}
        assert [json.loads(line) for line in ndjson.text.splitlines()] == [{"output": 1}, {"error": body}]
        assert sse_events(sse.text) == [(None, {"output": 1}), ("error", body)]

    async def test_validation(self, url):
        async with httpx.AsyncClient(base_url=url) as client:
            response = await client.post("/fish/predict/", json={"rows": []})
        assert check(response, 400, "ValidationError") == {"input": ["Field required"]}

    async def test_crash(self, url):
        async with httpx.AsyncClient(base_url=url) as client:
            response = await client.post("/broken/predict/", json={"input": [[0]]})
            streamed = await client.post("/broken/stream/", json={"input": [[0]]})
        assert check(response, 500, "RuntimeError") == "Internal Server Error"
        body = {"detail": "Internal Server Error", "error": "RuntimeError", "status_code": 500}
        assert [json.loads(line) for line in streamed.text.splitlines()] == [{"error": body}]

    async def test_not_ready(self, server_factory):
        app = Flama(docs=None)
        models = app.modules.get("models")
        assert isinstance(models, ModelsModule)
        models.add_model("/fish/", classifier(), "fish")
        async with httpx.AsyncClient(base_url=server_factory(app)) as client:  # no lifespan: never loads
            response = await client.post("/fish/predict/", json={"input": [[0, 1]]})
            streamed = await client.post("/fish/stream/", json={"input": [[0, 1]]})
            health = await client.get("/health")
        assert check(response, 503, "ModelNotReady") == "The model 'fish' is not loaded yet"
        assert check(streamed, 503, "ModelNotReady") == "The model 'fish' is not loaded yet"
        assert response.headers["retry-after"] == "1"
        assert (health.status_code, health.json()) == (503, {"status": "loading", "models": {"fish": "loading"}})

    async def test_queue_full(self, server_factory):
        started, gate = threading.Event(), threading.Event()

        class Slow:
            def predict(self, rows: list[Any]) -> list[int]:
                started.set()
                gate.wait(10)
                return [0] * len(rows)

        app = Flama(docs=None)
        models = app.modules.get("models")
        assert isinstance(models, ModelsModule)
        models.add_model("/slow/", Slow(), "slow", workers=1, max_queued=0)
        url = server_factory(app, lifespan="on")
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            while (await client.get("/health")).status_code != 200:
                await asyncio.sleep(0.01)
            first = asyncio.ensure_future(client.post("/slow/predict/", json={"input": [[0]]}))
            await asyncio.get_running_loop().run_in_executor(None, started.wait, 10)
            refused = await client.post("/slow/predict/", json={"input": [[0]]})
            gate.set()
            assert (await first).status_code == 200
        check(refused, 429, "QueueFull")
        assert refused.headers["retry-after"] == "1"


class TestCaseLLM:
    @pytest.mark.parametrize(
        ("body", "error", "field"),
        [
            pytest.param({"prompt": "x", "params": {"temperature": -1}}, "InvalidParameter", "temperature", id="param"),
            pytest.param(
                {"messages": [{"role": "bot", "content": "x"}]}, "InvalidRequest", "messages[0].role", id="req"
            ),
            pytest.param([], "InvalidRequest", "body", id="not-an-object"),
        ],
    )
    async def test_invalid(self, url, body, error, field):
        async with httpx.AsyncClient(base_url=url) as client:
            query = await client.post("/llm/query/", json=body)
            stream = await client.post("/llm/stream/", json=body)
        for response in (query, stream):
            assert list(check(response, 400, error)) == [field]

    async def test_unknown_stream(self, url):
        async with httpx.AsyncClient(base_url=url) as client:
            response = await client.get("/llm/stream/nope/")
        assert check(response, 404, "UnknownStream") == "No stream 'nope' (unknown, or expired)"

    async def test_unknown_event_id(self, url):
        async with httpx.AsyncClient(base_url=url) as client:
            stream_id = (await client.post("/llm/stream/", json={"prompt": "x"})).json()["id"]
            response = await client.get(f"/llm/stream/{stream_id}/", headers={"last-event-id": "99"})
        assert list(check(response, 400, "UnknownEventId")) == ["last-event-id"]

    async def test_generation_failed(self, url):
        async with httpx.AsyncClient(base_url=url) as client:
            query = await client.post("/failing/query/", json={"prompt": "x"})
            stream_id = (await client.post("/failing/stream/", json={"prompt": "x"})).json()["id"]
            events = sse_events((await client.get(f"/failing/stream/{stream_id}/")).text)
        assert check(query, 500, "RuntimeError") == "Internal Server Error"
        body = {"detail": "Internal Server Error", "error": "RuntimeError", "status_code": 500}
        assert events[-1] == ("error", body)

    async def test_cancelled(self, url):
        async with httpx.AsyncClient(base_url=url) as client:
            stream_id = (await client.post("/endless/stream/", json={"prompt": "x"})).json()["id"]
            cancelled = await client.delete(f"/endless/stream/{stream_id}/")
            events = sse_events((await client.get(f"/endless/stream/{stream_id}/")).text)
        assert cancelled.json() == {"id": stream_id, "cancelled": True}
        body = {"detail": "The generation was cancelled.", "error": "GenerationStopped", "status_code": 499}
        assert events[-1] == ("error", body)

    async def test_not_ready(self, server_factory, tmp_path):
        app = Flama(docs=None)
        models = app.modules.get("models")
        assert isinstance(models, ModelsModule)
        resource = models.add_model("/llm/", tmp_path, "assistant", family="llm", backend=scripted("a"))
        assert isinstance(resource, LLMResource)
        async with httpx.AsyncClient(base_url=server_factory(app)) as client:  # no lifespan: never loads
            response = await client.post("/llm/query/", json={"prompt": "x"})
        assert check(response, 503, "ModelNotReady") == "The model 'assistant' is not loaded yet"
