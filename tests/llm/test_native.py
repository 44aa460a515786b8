import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from flama.http import Flama, Mount
from flama.llm.resource import LLMResource
from flama.middleware import CorrelationIdMiddleware
from flama.models.admission import Admission

from tests.llm.doubles import ScriptedBackend, handlers, model_factory, scripted
from tests.llm.test_metrics import sample

__all__ = ["model_factory"]


def backend_of(resource: LLMResource) -> ScriptedBackend:
    backend = resource.backend
    assert isinstance(backend, ScriptedBackend)
    return backend


def parse_sse(text: str) -> list[tuple[str | None, str | None, dict[str, Any]]]:
    events = []
    for chunk in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in chunk.splitlines():
            if line.startswith(":"):
                continue
            key, _, value = line.partition(": ")
            fields[key] = value
        if "data" in fields:
            events.append((fields.get("id"), fields.get("event"), json.loads(fields["data"])))
    return events


EXPECTED_STREAM = [
    ("0", "message.start", {"model": "assistant", "usage": {"input_tokens": 3}}),
    ("1", "block.start", {"index": 0, "type": "thinking"}),
    ("2", "block.delta", {"index": 0, "text": "hmm"}),
    ("3", "block.stop", {"index": 0}),
    ("4", "block.start", {"index": 1, "type": "text"}),
    ("5", "block.delta", {"index": 1, "text": "Hello"}),
    ("6", "block.delta", {"index": 1, "text": " world"}),
    ("7", "block.stop", {"index": 1}),
    (
        "8",
        "message.delta",
        {"stop_reason": "end", "usage": {"input_tokens": 3, "output_tokens": 5, "cached_input_tokens": 0}},
    ),
    ("9", "message.stop", {}),
]


def without_ids(events: list[tuple[str | None, str | None, dict[str, Any]]]) -> list[Any]:
    return [(n, name, {k: v for k, v in data.items() if k not in ("id", "created")}) for n, name, data in events]


class TestCaseInspect:
    async def test_inspect(self, model_factory):
        async with model_factory(params={"temperature": 0.2}, serving=("native",)) as (client, _):
            response = await client.get("/llm/")
        assert response.status_code == 200
        assert response.json() == {
            "name": "assistant",
            "family": "llm",
            "ready": True,
            "meta": None,
            "capabilities": {},
            "backend": "scripted",
            "context_length": 256,
            "decoder": "qwen3",
            "params": {"temperature": 0.2},
            "serving": ["native"],
            "model_names": {},
        }

    async def test_put_params(self, model_factory):
        async with model_factory() as (client, resource):
            response = await client.put("/llm/", json={"temperature": 0.0, "max_tokens": 2})
            assert response.status_code == 200
            assert response.json() == {"params": {"temperature": 0.0, "max_tokens": 2}}
            answer = await client.post("/llm/query/", json={"prompt": "a b c"})
            assert answer.json()["stop_reason"] == "length"
            assert backend_of(resource).calls[0][1].max_tokens == 2

    @pytest.mark.parametrize(
        ("body", "error", "field", "reason"),
        [
            pytest.param(
                {"top_k": 2}, "InvalidParameter", "top_k", "not supported by the scripted backend", id="unsupported"
            ),
            pytest.param({"temperature": -3}, "InvalidParameter", "temperature", "", id="invalid"),
            pytest.param([1], "InvalidRequest", "body", "must be an object of generation parameters", id="shape"),
        ],
    )
    async def test_put_bad_params(self, model_factory, body, error, field, reason):
        async with model_factory(params={"seed": 1}) as (client, resource):
            response = await client.put("/llm/", json=body)
            assert response.status_code == 400
            assert (response.json()["error"], list(response.json()["detail"])) == (error, [field])
            assert response.json()["detail"][field][0].startswith(reason)
            assert resource.pipeline.defaults == {"seed": 1}


class TestCaseQuery:
    async def test_query(self, model_factory):
        async with model_factory() as (client, _):
            response = await client.post(
                "/llm/query/", json={"message": "hi there", "template": {"enable_thinking": True}}
            )
        assert response.status_code == 200
        body = response.json()
        assert body["id"].startswith("msg_")
        assert isinstance(body["created"], int)
        assert {key: body[key] for key in ("blocks", "stop_reason", "usage")} == {
            "blocks": [{"type": "thinking", "text": "hmm"}, {"type": "text", "text": "Hello world"}],
            "stop_reason": "end",
            "usage": {"input_tokens": 4, "output_tokens": 5, "cached_input_tokens": 0},
        }

    async def test_tool_call(self, model_factory):
        pieces = ("<tool_call>", '{"name": "weather", "arguments": {"city": "Paris"}}', "</tool_call>")
        async with model_factory(*pieces) as (client, _):
            response = await client.post("/llm/query/", json={"messages": [{"role": "user", "content": "weather?"}]})
        body = response.json()
        assert body["stop_reason"] == "tool_use"
        [block] = body["blocks"]
        assert (block["type"], block["name"], block["arguments"]) == ("tool_call", "weather", {"city": "Paris"})

    async def test_stop_sequence(self, model_factory):
        async with model_factory("Hello", " wor", "ld", "!") as (client, _):
            response = await client.post("/llm/query/", json={"prompt": "x", "params": {"stop": ["world"]}})
        body = response.json()
        assert body["blocks"] == [{"type": "text", "text": "Hello"}]
        assert (body["stop_reason"], body["usage"]) == (
            "stop_sequence",
            {"input_tokens": 1, "output_tokens": 3, "cached_input_tokens": 0},
        )

    @pytest.mark.parametrize(
        ("body", "error", "field", "reason"),
        [
            pytest.param(
                {"prompt": "x", "params": {"top_p": 0.5}},
                "InvalidParameter",
                "top_p",
                "not supported by the scripted backend",
                id="unsupported",
            ),
            pytest.param(
                {"prompt": "x", "params": {"max_tokens": 0}}, "InvalidParameter", "max_tokens", "", id="invalid"
            ),
            pytest.param(
                {"prompt": "x", "params": 3},
                "InvalidRequest",
                "params",
                "must be an object of generation parameters",
                id="params-shape",
            ),
            pytest.param(
                {"messages": [{"role": "bot", "content": "x"}]},
                "InvalidRequest",
                "messages[0].role",
                "must be one of",
                id="role",
            ),
            pytest.param(
                {"prompt": "x", "extra": 1},
                "InvalidRequest",
                "extra",
                "is not a field of a native request",
                id="unknown-field",
            ),
            pytest.param([], "InvalidRequest", "body", "must be a JSON object", id="not-object"),
        ],
    )
    async def test_bad_request(self, model_factory, body, error, field, reason):
        async with model_factory() as (client, resource):
            response = await client.post("/llm/query/", json=body)
            assert backend_of(resource).calls == []
        assert response.status_code == 400
        assert (response.json()["error"], list(response.json()["detail"])) == (error, [field])
        assert response.json()["detail"][field][0].startswith(reason)

    async def test_queue_full(self, model_factory):
        async with model_factory(max_running=1, max_queued=0) as (client, resource):
            backend = backend_of(resource)
            backend.gate = asyncio.Event()
            first = asyncio.ensure_future(client.post("/llm/query/", json={"prompt": "x"}))
            await backend.started.wait()
            response = await client.post("/llm/query/", json={"prompt": "y"})
            assert response.status_code == 429
            assert response.headers["retry-after"] == "1"
            assert response.json() == {
                "detail": "Too many requests are waiting for this model; retry after 1 s",
                "error": "QueueFull",
                "status_code": 429,
            }
            backend.gate.set()
            assert (await first).status_code == 200

    async def test_disconnect_stops_generation(self, model_factory):
        async with model_factory() as (_, resource):
            backend = backend_of(resource)
            backend.gate = asyncio.Event()
            sent: list[dict[str, Any]] = []
            disconnect = asyncio.Event()
            messages = [{"type": "http.request", "body": b'{"prompt": "x"}', "more_body": False}]

            async def receive():
                if messages:
                    return messages.pop()
                await disconnect.wait()
                return {"type": "http.disconnect"}

            async def send(message):
                sent.append(message)

            scope = {
                "type": "http",
                "method": "POST",
                "path": "/llm/query/",
                "root_path": "",
                "headers": [],
                "query_string": b"",
            }
            app = Flama(
                [Mount("/llm", routes=resource.routes())], schema=None, docs=None, exception_handlers=handlers(resource)
            )
            call = asyncio.ensure_future(app(scope, receive, send))
            await backend.started.wait()
            disconnect.set()
            await call
            assert backend.closed == 1
            assert backend.completed == 0
            assert sent[0]["status"] == 499


class TestCaseStream:
    async def test_stream(self, model_factory):
        async with model_factory() as (client, _):
            opened = await client.post("/llm/stream/", json={"prompt": "a b c"})
            assert opened.status_code == 200
            stream_id = opened.json()["id"]
            response = await client.get(f"/llm/stream/{stream_id}/")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = parse_sse(response.text)
        assert without_ids(events) == EXPECTED_STREAM
        assert events[0][2]["id"] == stream_id

    async def test_stream_in_one_request(self, model_factory):
        async with model_factory() as (client, _):
            response = await client.post(
                "/llm/stream/", json={"prompt": "a b c"}, headers={"Accept": "text/event-stream"}
            )
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            events = parse_sse(response.text)
            assert without_ids(events) == EXPECTED_STREAM
            assert events[0][2]["id"] == response.headers["x-stream-id"]
            # Still resumable by id.
            again = await client.get(f"/llm/stream/{events[0][2]['id']}/", headers={"Last-Event-ID": "7"})
        assert without_ids(parse_sse(again.text)) == EXPECTED_STREAM[8:]

    async def test_a_stream_ends_with_its_last_event_not_after_its_cleanup(self, model_factory, monkeypatch):
        gate = asyncio.Event()
        admit = Admission.slot

        @contextlib.asynccontextmanager
        async def slot(self: Admission) -> AsyncIterator[None]:
            async with admit(self):
                yield
                await gate.wait()  # the producer gives its slot back only once the gate opens

        monkeypatch.setattr(Admission, "slot", slot)
        async with model_factory() as (client, resource):
            try:
                response = await asyncio.wait_for(
                    client.post("/llm/stream/", json={"prompt": "a b c"}, headers={"Accept": "text/event-stream"}),
                    timeout=10,
                )
                # The whole stream was read while its producer still held the slot.
                assert without_ids(parse_sse(response.text)) == EXPECTED_STREAM
                assert resource.scheduler.running == 1
            finally:
                gate.set()
            stream = resource.streams.get(response.headers["x-stream-id"])
            assert stream is not None
            await stream.wait()
            assert resource.scheduler.running == 0

    async def test_cancelled_tokens_are_counted(self, model_factory):
        class Permits:
            def __init__(self) -> None:
                self.semaphore = asyncio.Semaphore(0)

            async def wait(self) -> None:
                await self.semaphore.acquire()

        async with model_factory() as (client, resource):
            backend = backend_of(resource)
            backend.gate = permits = Permits()  # type: ignore[assignment]
            stream_id = (await client.post("/llm/stream/", json={"prompt": "a"})).json()["id"]
            permits.semaphore.release()
            permits.semaphore.release()
            stream = resource.streams.get(stream_id)
            while sum(event.name == "block.delta" for event in stream.events) < 1:
                await asyncio.sleep(0.001)
            await asyncio.sleep(0.01)
            await client.delete(f"/llm/stream/{stream_id}/")
            text = (await client.get("/metrics")).text
        assert backend.closed == 1
        assert sample(text, "flama_llm_output_tokens_total", '{model="assistant"}') == 2

    async def test_resume_after_last_event_id(self, model_factory):
        async with model_factory() as (client, _):
            stream_id = (await client.post("/llm/stream/", json={"prompt": "a b c"})).json()["id"]
            await client.get(f"/llm/stream/{stream_id}/")
            response = await client.get(f"/llm/stream/{stream_id}/", headers={"Last-Event-ID": "6"})
        assert without_ids(parse_sse(response.text)) == EXPECTED_STREAM[7:]

    async def test_bad_last_event_id(self, model_factory):
        async with model_factory() as (client, _):
            stream_id = (await client.post("/llm/stream/", json={"prompt": "a"})).json()["id"]
            response = await client.get(f"/llm/stream/{stream_id}/", headers={"Last-Event-ID": "99"})
        assert response.status_code == 400
        assert response.json() == {
            "detail": {"last-event-id": [f"Last-Event-ID '99' is not an event of stream '{stream_id}'"]},
            "error": "UnknownEventId",
            "status_code": 400,
        }

    @pytest.mark.parametrize("method", [pytest.param("GET", id="get"), pytest.param("DELETE", id="delete")])
    async def test_unknown_stream(self, model_factory, method):
        async with model_factory() as (client, _):
            response = await client.request(method, "/llm/stream/nope/")
        assert response.status_code == 404
        assert response.json() == {
            "detail": "No stream 'nope' (unknown, or expired)",
            "error": "UnknownStream",
            "status_code": 404,
        }

    async def test_cancel(self, model_factory):
        async with model_factory() as (client, resource):
            backend = backend_of(resource)
            backend.gate = asyncio.Event()
            stream_id = (await client.post("/llm/stream/", json={"prompt": "a"})).json()["id"]
            await backend.started.wait()
            response = await client.delete(f"/llm/stream/{stream_id}/")
            assert response.status_code == 200
            assert response.json() == {"id": stream_id, "cancelled": True}
            assert backend.closed == 1
            events = parse_sse((await client.get(f"/llm/stream/{stream_id}/")).text)
        assert [name for _, name, _ in events] == ["message.start", "error"]
        assert events[-1][2] == {
            "detail": "The generation was cancelled.",
            "error": "GenerationStopped",
            "status_code": 499,
        }

    async def test_stream_queue_full(self, model_factory):
        async with model_factory(max_running=1, max_queued=0) as (client, resource):
            backend = backend_of(resource)
            backend.gate = asyncio.Event()
            await client.post("/llm/stream/", json={"prompt": "a"})
            await backend.started.wait()
            response = await client.post("/llm/stream/", json={"prompt": "b"})
            assert response.status_code == 429
            assert response.headers["retry-after"] == "1"
            assert len(resource.streams) == 1
            backend.gate.set()

    async def test_stream_bad_request(self, model_factory):
        async with model_factory() as (client, resource):
            response = await client.post("/llm/stream/", json={"prompt": "a", "params": {"temperature": -1}})
        assert response.status_code == 400
        assert len(resource.streams) == 0


class TestCaseLogs:
    async def test_generation_log_carries_the_request_id(self, client_factory, tmp_path, caplog):
        resource = LLMResource(path="/llm/", name="assistant", source=tmp_path, backend=scripted("Hi"), decoder="plain")
        app = Flama(
            [Mount("/llm", routes=resource.routes())], schema=None, docs=None, exception_handlers=handlers(resource)
        )
        app.add_middleware(CorrelationIdMiddleware)
        await resource.load()
        caplog.set_level(logging.INFO, logger="flama.llm")
        async with client_factory(app) as client:
            response = await client.post("/llm/query/", json={"prompt": "a"}, headers={"X-Request-ID": "req-42"})
        await resource.unload()
        [record] = [r for r in caplog.records if r.name == "flama.llm"]
        assert record.getMessage() == f"generation {response.json()['id']} finished: end, 1+1 tokens"
        fields = ("request_id", "model", "stop_reason", "input_tokens", "output_tokens")
        assert {name: getattr(record, name) for name in fields} == {
            "request_id": "req-42",
            "model": "assistant",
            "stop_reason": "end",
            "input_tokens": 1,
            "output_tokens": 1,
        }


class TestCaseAPIKeys:
    async def test_model_keys(self, model_factory):
        async with model_factory(api_keys=["secret"]) as (client, _):
            denied = await client.post("/llm/query/", json={"prompt": "a"})
            allowed = await client.post("/llm/query/", json={"prompt": "a"}, headers={"Authorization": "Bearer secret"})
            keyed = await client.post("/llm/query/", json={"prompt": "a"}, headers={"x-api-key": "secret"})
        assert (denied.status_code, denied.json()["error"]) == (401, "Unauthorized")
        assert (allowed.status_code, keyed.status_code) == (200, 200)


class TestCaseLoading:
    async def test_unknown_dialect(self, tmp_path):
        available = "available: native, openai, anthropic, ollama"
        with pytest.raises(ValueError, match=f"unknown dialect 'grpc' for model 'x'; {available}"):
            LLMResource(path="/x/", name="x", source=tmp_path, serving=["grpc"])

    async def test_not_loaded_is_503(self, client_factory, tmp_path):
        resource = LLMResource(path="/llm/", name="x", source=tmp_path, backend=scripted("a"))
        app = Flama(
            [Mount("/llm", routes=resource.routes())], schema=None, docs=None, exception_handlers=handlers(resource)
        )
        async with client_factory(app) as client:
            response = await client.post("/llm/query/", json={"prompt": "a"})
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
        assert response.json() == {
            "detail": "The model 'x' is not loaded yet",
            "error": "ModelNotReady",
            "status_code": 503,
        }
