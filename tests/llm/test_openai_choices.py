"""OpenAI ``n`` and ``logprobs`` with a scripted backend: choices interleaved, seeds per choice, refusals."""

import json
from typing import Any

import pytest
from flama.llm.exceptions import InvalidParameter

from tests.llm.doubles import model_factory
from tests.llm.test_dialect_golden import check, normalized

__all__ = ["model_factory"]

USER = [{"role": "user", "content": "Hi"}]
CHAT = "/llm/openai/v1/chat/completions"
COMPLETIONS = "/llm/openai/v1/completions"


def sse_data(text: str) -> list[Any]:
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ") and line != "data: [DONE]"]


class TestCaseChoices:
    async def test_buffered_choices_have_their_own_seed(self, model_factory):
        async with model_factory("Hello", " world") as (client, resource):
            response = await client.post(
                CHAT, json={"model": "assistant", "messages": USER, "n": 3, "seed": 7, "temperature": 0.5}
            )
            seeds = [params.seed for _, params in resource.backend.calls]
            metrics = (await client.get("/metrics")).text
        # One request, whose three choices' tokens are all counted.
        assert 'flama_llm_requests_total{dialect="openai",kind="chat",model="assistant"} 1.0' in metrics
        assert 'flama_llm_output_tokens_total{model="assistant"} 6.0' in metrics
        assert response.status_code == 200, response.text
        body = response.json()
        assert [choice["index"] for choice in body["choices"]] == [0, 1, 2]
        assert {choice["message"]["content"] for choice in body["choices"]} == {"Hello world"}
        assert sorted(seeds) == [7, 8, 9]
        assert body["usage"]["completion_tokens"] == 6
        assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + 6

    async def test_streamed_choices_interleave(self, model_factory):
        async with model_factory("a", "b", "c") as (client, resource):
            response = await client.post(
                CHAT,
                json={
                    "model": "assistant",
                    "messages": USER,
                    "n": 2,
                    "stream": True,
                    "stream_options": {"include_usage": True},
                },
            )
            assert resource.backend.completed == 2
        chunks = sse_data(response.text)
        roles = [chunk["choices"][0]["index"] for chunk in chunks[:2]]
        assert roles == [0, 1]
        texts = {0: "", 1: ""}
        finishes = []
        for chunk in chunks[:-1]:
            (choice,) = chunk["choices"]
            texts[choice["index"]] += choice["delta"].get("content") or ""
            if choice["finish_reason"]:
                finishes.append((choice["index"], choice["finish_reason"]))
        assert texts == {0: "abc", 1: "abc"}
        assert sorted(finishes) == [(0, "stop"), (1, "stop")]
        assert chunks[-1]["choices"] == []
        assert chunks[-1]["usage"]["completion_tokens"] == 6

    async def test_a_choice_without_a_place_ends_the_stream(self, model_factory):
        # The first choice takes the only slot; the second finds no waiting place: the stream ends with a 429 error.
        async with model_factory("a", "b", max_running=1, max_queued=0) as (client, _):
            body = {"model": "assistant", "messages": USER, "n": 2, "stream": True}
            response = await client.post(CHAT, json=body)
        events = sse_data(response.text)
        assert events[-1]["error"]["type"] == "rate_limit_error"
        assert "data: [DONE]" not in response.text

    async def test_completions(self, model_factory):
        async with model_factory("x", "y") as (client, _):
            response = await client.post(COMPLETIONS, json={"model": "assistant", "prompt": "p", "n": 2})
        assert [(c["index"], c["text"], c["logprobs"]) for c in response.json()["choices"]] == [
            (0, "xy", None),
            (1, "xy", None),
        ]


class TestCaseLogprobsRefused:
    @pytest.mark.parametrize(
        ("path", "extra", "param"),
        [
            pytest.param(CHAT, {"messages": USER, "logprobs": True}, "logprobs", id="chat"),
            pytest.param(CHAT, {"messages": USER, "logprobs": True, "top_logprobs": 2}, "top_logprobs", id="top"),
            pytest.param(COMPLETIONS, {"prompt": "p", "logprobs": 1}, "logprobs", id="completions"),
            pytest.param(COMPLETIONS, {"prompt": "p", "logprobs": True}, "logprobs", id="completions-bool"),
        ],
    )
    async def test_backend_without_logprobs(self, model_factory, path, extra, param):
        async with model_factory() as (client, resource):
            response = await client.post(path, json={"model": "assistant", **extra})
            assert resource.backend.calls == []
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["param"] == param
        assert error["type"] == "invalid_request_error"

    async def test_pipeline_names_the_field(self, model_factory):
        async with model_factory() as (_, resource):
            pipeline = resource.pipeline
            with pytest.raises(
                InvalidParameter, match="'top_logprobs': log probabilities are not available on the scripted"
            ):
                pipeline.prepare(pipeline_source(), {}, {}, logprobs=2, logprobs_field="top_logprobs")
            with pytest.raises(InvalidParameter, match="'logprobs': must be between 0 and 20, got 21"):
                pipeline.prepare(pipeline_source(), {}, {}, logprobs=21)

    async def test_not_a_native_parameter(self, model_factory):
        async with model_factory() as (client, _):
            response = await client.post("/llm/query/", json={"prompt": "p", "params": {"logprobs": 2}})
        assert response.status_code == 400
        assert "logprobs" in response.json()["detail"]


def pipeline_source() -> Any:
    from flama.llm.prompts import Raw

    return Raw("p")


class TestCaseWire:
    async def test_two_streamed_choices(self, model_factory):
        # The golden wire of two interleaved choices (the scripted backend steps both alike, so the order is fixed).
        async with model_factory("Hello", " world") as (client, _):
            request = {
                "model": "assistant",
                "messages": USER,
                "n": 2,
                "stream": True,
                "stream_options": {"include_usage": True},
            }
            response = await client.post(CHAT, json=request)
        check("openai-stream-two-choices", normalized(response.text, ndjson=False))
