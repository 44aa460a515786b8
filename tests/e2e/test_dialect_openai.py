"""The official ``openai`` SDK against the demo model served for real (uvicorn on loopback), on MLX and transformers."""

import json
from typing import Any

import httpx
import openai
import pytest
from flama.llm.resource import LLMResource

from tests.e2e.dialects import (
    BACKENDS,
    CONVERSATIONS,
    MODEL,
    TOOLS,
    WEATHER,
    ask,
    count_steps,
    eos_ban,
    expected_usage,
    openai_client,
    serve,
    slots_freed,
    thought_and_answer,
    tool_arguments,
)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_chat_completions(server_factory, backend):
    url, resource = await serve(server_factory, backend)
    async with openai_client(url) as client:
        await check_chat_completions(client, resource)
    metrics = httpx.get(f"{url}/metrics").text
    assert 'flama_llm_requests_total{dialect="openai",kind="chat",model="assistant"}' in metrics
    assert 'flama_llm_dialect_tokens_total{dialect="openai",direction="output",model="assistant"}' in metrics


# The client is Any: the JSON conversations go to three APIs (chat, completions, responses) with different param types.
async def check_chat_completions(client: Any, resource: LLMResource) -> None:
    plain = CONVERSATIONS["plain"]

    # Buffered: the known reply, exact usage.
    answer = await client.chat.completions.create(model=MODEL, messages=ask("plain"), temperature=0)
    assert answer.choices[0].message.content == plain["reply"]
    assert answer.choices[0].finish_reason == "stop"
    prompt_tokens, completion_tokens = await expected_usage(resource, plain)
    assert answer.usage is not None
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (prompt_tokens, completion_tokens)

    # Streamed: the same text; the usage chunk (choices: []) only when asked for.
    chunks = [
        c
        async for c in await client.chat.completions.create(
            model=MODEL, messages=ask("plain"), stream=True, temperature=0
        )
    ]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == plain["reply"]
    assert all(c.usage is None for c in chunks)
    stream = await client.chat.completions.create(
        model=MODEL, messages=ask("plain"), stream=True, stream_options={"include_usage": True}, temperature=0
    )
    chunks = [c async for c in stream]
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    # The counts, not the cache details: a repeated prompt may be read from the prefix cache.
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (prompt_tokens, completion_tokens)

    # The SDK's streaming helper builds the buffered answer.
    async with client.chat.completions.stream(model=MODEL, messages=ask("plain"), temperature=0) as helper:
        final = await helper.get_final_completion()
    assert final.choices[0].message.content == answer.choices[0].message.content
    assert final.usage is None  # not asked for

    # Reasoning: reasoning_effort turns the template's thinking on; the thought comes in reasoning_content.
    thought, reply = thought_and_answer(CONVERSATIONS["thinking"]["reply"])
    reasoned = await client.chat.completions.create(
        model=MODEL, messages=ask("thinking"), reasoning_effort="high", temperature=0
    )
    message = reasoned.choices[0].message.model_dump()
    assert message["reasoning_content"].strip() == thought
    assert message["content"].strip() == reply
    direct = await client.chat.completions.create(
        model=MODEL, messages=ask("no_thinking"), reasoning_effort="none", temperature=0
    )
    assert direct.choices[0].message.content == CONVERSATIONS["no_thinking"]["reply"]
    async with client.chat.completions.stream(
        model=MODEL, messages=ask("thinking"), reasoning_effort="high", temperature=0
    ) as helper:
        streamed = await helper.get_final_completion()
    assert streamed.choices[0].message.model_dump()["reasoning_content"] == message["reasoning_content"]

    # A tool call, buffered and through the helper; then the tool's result sent back.
    called = await client.chat.completions.create(model=MODEL, messages=ask("tool_call"), tools=TOOLS, temperature=0)
    assert called.choices[0].finish_reason == "tool_calls"
    calls = called.choices[0].message.tool_calls
    assert calls is not None
    assert len(calls) == 1
    assert calls[0].function.name == "get_weather"
    assert json.loads(calls[0].function.arguments) == tool_arguments(CONVERSATIONS["tool_call"]["reply"])
    async with client.chat.completions.stream(
        model=MODEL, messages=ask("tool_call"), tools=TOOLS, temperature=0
    ) as helper:
        streamed = await helper.get_final_completion()
    streamed_calls = streamed.choices[0].message.tool_calls
    assert streamed.choices[0].finish_reason == "tool_calls"
    assert streamed_calls is not None
    assert [(c.function.name, c.function.arguments) for c in streamed_calls] == [
        (c.function.name, c.function.arguments) for c in calls
    ]
    history = [
        *ask("tool_call"),
        called.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": calls[0].id, "content": json.dumps(WEATHER)},
    ]
    result = await client.chat.completions.create(model=MODEL, messages=history, tools=TOOLS, temperature=0)
    assert result.choices[0].message.content == CONVERSATIONS["tool_result"]["reply"]

    # Stop sequences end the answer before them.
    stopped = await client.chat.completions.create(model=MODEL, messages=ask("plain"), stop=["demo"], temperature=0)
    assert stopped.choices[0].message.content == plain["reply"].split("demo")[0].rstrip()  # trailing space trimmed
    assert stopped.choices[0].finish_reason == "stop"

    # Text completions of a raw prompt.
    completion = await client.completions.create(model=MODEL, prompt=plain["prompt"], max_tokens=64, temperature=0)
    assert completion.choices[0].text == plain["reply"]

    # The Responses API, stateless: text, the helper's final response, a tool call and its result sent back.
    responded = await client.responses.create(model=MODEL, input=plain["messages"][0]["content"], temperature=0)
    assert responded.output_text == plain["reply"]
    assert (responded.usage.input_tokens, responded.usage.output_tokens) == (prompt_tokens, completion_tokens)
    async with client.responses.stream(model=MODEL, input=ask("plain"), temperature=0) as helper:
        final_response = await helper.get_final_response()
    assert final_response.output_text == responded.output_text
    assert final_response.usage is not None
    assert final_response.usage.output_tokens == responded.usage.output_tokens
    function = {"type": "function", **TOOLS[0]["function"]}
    wanted = await client.responses.create(model=MODEL, input=ask("tool_call"), tools=[function], temperature=0)
    call = wanted.output[-1]
    assert call.type == "function_call"
    assert json.loads(call.arguments) == tool_arguments(CONVERSATIONS["tool_call"]["reply"])
    answered = await client.responses.create(
        model=MODEL,
        tools=[function],
        temperature=0,
        input=[
            *ask("tool_call"),
            call.model_dump(exclude_none=True),
            {"type": "function_call_output", "call_id": call.call_id, "output": json.dumps(WEATHER)},
        ],
    )
    assert answered.output_text == CONVERSATIONS["tool_result"]["reply"]

    models = await client.models.list()
    assert [model.id for model in models.data] == [MODEL]
    assert (await client.models.retrieve(MODEL)).id == MODEL


@pytest.mark.parametrize("backend", BACKENDS)
async def test_invalid_requests(server_factory, backend):
    url, _ = await serve(server_factory, backend)
    async with openai_client(url, max_retries=0) as client:
        messages = ask("plain")
        # Deliberately invalid bodies: plain dicts, not the SDK's param types.
        cases: list[tuple[dict[str, Any], type[openai.APIStatusError], str]] = [
            ({"model": "gpt-4o", "messages": messages}, openai.NotFoundError, "model"),
            ({"model": MODEL, "messages": []}, openai.BadRequestError, "messages"),
            (
                {"model": MODEL, "messages": [{"role": "robot", "content": "hi"}]},
                openai.BadRequestError,
                "messages[0].role",
            ),
            ({"model": MODEL, "messages": messages, "temperature": "hot"}, openai.BadRequestError, "temperature"),
            ({"model": MODEL, "messages": messages, "temperature": -1}, openai.BadRequestError, "temperature"),
            ({"model": MODEL, "messages": messages, "n": 0}, openai.BadRequestError, "n"),
            (
                {
                    "model": MODEL,
                    "messages": messages,
                    "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": 3}}},
                },
                openai.BadRequestError,
                "response_format.json_schema.schema",
            ),
            (
                {"model": MODEL, "messages": messages, "tool_choice": "required"},
                openai.BadRequestError,
                "tool_choice",
            ),
        ]
        for body, error, param in cases:
            with pytest.raises(error) as raised:
                await client.chat.completions.create(**body)
            assert raised.value.body["param"] == param, raised.value.body  # type: ignore[index]
        with pytest.raises(openai.NotFoundError):
            await client.models.retrieve("gpt-4o")
        # A tool call sent back with arguments that are not a JSON object: 400 naming the field, in both APIs.
        call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "[1, 2]"}}
        sent_back = [*messages, {"role": "assistant", "content": None, "tool_calls": [call]}]
        with pytest.raises(openai.BadRequestError) as raised:
            await client.chat.completions.create(model=MODEL, messages=sent_back)
        assert raised.value.body["param"] == "messages[1].tool_calls[0].function.arguments"  # type: ignore[index]
        item = {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{not json"}
        with pytest.raises(openai.BadRequestError) as raised:
            await client.responses.create(model=MODEL, input=[*messages, item])  # type: ignore[list-item]
        assert raised.value.body["param"] == "input[1].arguments", raised.value.body  # type: ignore[index]
        metrics = httpx.get(f"{url}/metrics").text
        assert 'flama_llm_dialect_errors_total{dialect="openai",model="assistant",type="invalid_request"}' in metrics
        missing = httpx.post(f"{url}/llm/openai/v1/chat/completions", json={"messages": messages})
        assert missing.status_code == 400
        assert missing.json()["error"]["param"] == "model"
        assert missing.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize("backend", BACKENDS)
async def test_closing_the_stream_stops_the_backend(server_factory, backend):
    url, resource = await serve(server_factory, backend, any_model_name=True)
    steps = count_steps(resource)
    async with openai_client(url) as client:
        stream = await client.chat.completions.create(
            model="any-name-goes",
            messages=ask("story"),
            stream=True,
            max_tokens=1000,
            logit_bias=eos_ban(resource),
        )
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                break
        await stream.close()
        await steps.wait_closed(0)
        assert 0 < steps.produced[0] < 1000
        await slots_freed(resource)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_full_queue_is_a_rate_limit_error(server_factory, backend):
    url, resource = await serve(server_factory, backend, max_running=1, max_queued=0)
    async with openai_client(url, max_retries=0) as client:
        held = await client.chat.completions.create(
            model=MODEL, messages=ask("story"), stream=True, max_tokens=1000, logit_bias=eos_ban(resource)
        )
        async for _ in held:  # the only slot is taken
            break
        with pytest.raises(openai.RateLimitError) as raised:
            await client.chat.completions.create(model=MODEL, messages=ask("plain"))
        assert int(raised.value.response.headers["retry-after"]) >= 1
        assert raised.value.body["type"] == "rate_limit_error"  # type: ignore[index]
        with pytest.raises(openai.RateLimitError):
            await client.chat.completions.create(model=MODEL, messages=ask("plain"), stream=True)
        await held.close()
        await slots_freed(resource)
        answer = await client.chat.completions.create(model=MODEL, messages=ask("plain"), temperature=0)
        assert answer.choices[0].message.content == CONVERSATIONS["plain"]["reply"]
    metrics = httpx.get(f"{url}/metrics").text
    assert 'flama_llm_errors_total{model="assistant",type="queue_full"} 2.0' in metrics
