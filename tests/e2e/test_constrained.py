"""Constrained decoding through the official SDKs, on the demo model served for real (uvicorn), on MLX and transformers.

JSON answers (OpenAI ``response_format``, Ollama ``format``), forced tool calls (OpenAI ``tool_choice`` required / named
and ``parallel_tool_calls: false``, Anthropic ``any`` / ``tool``), Anthropic's thinking budget, bad schemas as each
dialect's 400, and a constrained generation batched beside an unconstrained one that keeps its exact reply.
"""

import asyncio
import copy
import json
from typing import Any

import anthropic
import jsonschema
import ollama
import openai
import pytest
from flama.llm.resource import LLMResource

from tests.e2e.dialects import BACKENDS, CONVERSATIONS, TOOLS, anthropic_client, ollama_client, openai_client, serve

MODEL = "assistant"
PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 16},
        "age": {"type": "integer", "minimum": 0, "maximum": 150},
        "mood": {"enum": ["happy", "sad"]},
    },
    "required": ["name", "age", "mood"],
    "additionalProperties": False,
}
TIME = {
    "type": "object",
    "properties": {"zone": {"enum": ["UTC", "CET"]}},
    "required": ["zone"],
    "additionalProperties": False,
}
WEATHER: Any = copy.deepcopy(TOOLS[0]["function"]["parameters"])
WEATHER["properties"]["city"]["maxLength"] = 16
WEATHER["additionalProperties"] = False
OPENAI_TOOLS: Any = [
    {"type": "function", "function": {**TOOLS[0]["function"], "parameters": WEATHER}},
    {"type": "function", "function": {"name": "get_time", "description": "The time in a zone.", "parameters": TIME}},
]
SCHEMAS = {"get_weather": WEATHER, "get_time": TIME}
ASK_WEATHER = CONVERSATIONS["tool_call"]["messages"]
HELLO = CONVERSATIONS["plain"]["messages"]


@pytest.mark.parametrize("backend", BACKENDS)
async def test_constrained_decoding(server_factory, backend):
    url, resource = await serve(server_factory, backend)
    async with openai_client(url) as client:
        await check_openai(client, resource)
    async with anthropic_client(url) as client:
        await check_anthropic(client, resource)
    async with ollama_client(url) as client:
        await check_ollama(client)
    async with openai_client(url) as client:
        await check_batch_isolation(client)


def token_id(resource: LLMResource, text: str) -> int:
    """The served model's id of a one-token text."""
    assert resource.backend is not None
    (token,) = resource.backend.tokenizer.encode(text, add_special_tokens=False)
    return int(token)


async def check_openai(client: openai.AsyncOpenAI, resource: LLMResource) -> None:
    # JSON of any shape. The tiny demo model never ends a string of its own, so a bias towards "}" and against '{"'
    # (which alone gives "}}}...") shows the grammar at work: an object, then the end.
    closing = {str(token_id(resource, "}")): 100, str(token_id(resource, '{"')): -100}
    answer = await client.chat.completions.create(
        model=MODEL,
        messages=HELLO,
        temperature=0,
        max_tokens=50,
        logit_bias=closing,
        response_format={"type": "json_object"},
    )
    assert json.loads(answer.choices[0].message.content or "") == {}
    assert answer.choices[0].finish_reason == "stop"
    free = await client.chat.completions.create(
        model=MODEL, messages=HELLO, temperature=0, max_tokens=5, logit_bias=closing
    )
    assert (free.choices[0].message.content or "").startswith("}}")
    # JSON following a schema (bounded, so the model's own choices end it), buffered and streamed.
    schema_format: Any = {"type": "json_schema", "json_schema": {"name": "person", "schema": PERSON, "strict": True}}
    answer = await client.chat.completions.create(
        model=MODEL, messages=HELLO, temperature=0, max_tokens=300, response_format=schema_format
    )
    jsonschema.validate(json.loads(answer.choices[0].message.content or ""), PERSON)
    stream = await client.chat.completions.create(
        model=MODEL, messages=HELLO, max_tokens=300, seed=7, response_format=schema_format, stream=True
    )
    jsonschema.validate(
        json.loads("".join([c.choices[0].delta.content or "" async for c in stream if c.choices])), PERSON
    )

    # tool_choice required: a call even to a greeting, of an offered tool, its arguments valid.
    answer = await client.chat.completions.create(
        model=MODEL, messages=HELLO, temperature=0, max_tokens=300, tools=OPENAI_TOOLS, tool_choice="required"
    )
    assert answer.choices[0].finish_reason == "tool_calls"
    calls: list[Any] = list(answer.choices[0].message.tool_calls or [])
    assert calls
    for call in calls:
        jsonschema.validate(json.loads(call.function.arguments), SCHEMAS[call.function.name])

    # A named function, where the model would call the other one; streamed through the SDK's helper too.
    named: Any = {"type": "function", "function": {"name": "get_time"}}
    answer = await client.chat.completions.create(
        model=MODEL, messages=ASK_WEATHER, temperature=0, max_tokens=300, tools=OPENAI_TOOLS, tool_choice=named
    )
    calls = list(answer.choices[0].message.tool_calls or [])
    assert calls
    assert [call.function.name for call in calls] == ["get_time"] * len(calls)
    jsonschema.validate(json.loads(calls[0].function.arguments), TIME)
    async with client.chat.completions.stream(
        model=MODEL, messages=ASK_WEATHER, temperature=0, max_tokens=300, tools=OPENAI_TOOLS, tool_choice=named
    ) as helper:
        final = await helper.get_final_completion()
    streamed: list[Any] = list(final.choices[0].message.tool_calls or [])
    assert [(c.function.name, c.function.arguments) for c in streamed] == [
        (c.function.name, c.function.arguments) for c in calls
    ]

    # parallel_tool_calls: false allows one call, sampled freely.
    for seed in range(3):
        answer = await client.chat.completions.create(
            model=MODEL,
            messages=HELLO,
            seed=seed,
            max_tokens=300,
            tools=OPENAI_TOOLS,
            tool_choice="required",
            parallel_tool_calls=False,
        )
        assert len(answer.choices[0].message.tool_calls or []) == 1

    # The Responses API: text.format and a named function.
    response = await client.responses.create(
        model=MODEL,
        input="Hello! Who are you?",
        temperature=0,
        max_output_tokens=300,
        text={"format": {"type": "json_schema", "name": "person", "schema": PERSON, "strict": True}},
    )
    jsonschema.validate(json.loads(response.output_text), PERSON)
    assert response.text is not None
    assert response.text.format is not None
    assert response.text.format.model_dump(by_alias=True, exclude_none=True) == {
        "type": "json_schema",
        "name": "person",
        "schema": PERSON,
        "strict": True,
    }
    assert response.parallel_tool_calls is True
    flat: Any = [{"type": "function", **tool["function"]} for tool in OPENAI_TOOLS]
    response = await client.responses.create(
        model=MODEL,
        input=ASK_WEATHER,
        temperature=0,
        max_output_tokens=300,
        tools=flat,
        tool_choice={"type": "function", "name": "get_time"},
        parallel_tool_calls=False,
    )
    assert not isinstance(response.tool_choice, str)
    assert response.tool_choice.model_dump(exclude_none=True) == {"type": "function", "name": "get_time"}
    assert response.parallel_tool_calls is False
    assert response.text is not None
    assert response.text.format is not None
    assert response.text.format.type == "text"
    called = [item for item in response.output if item.type == "function_call"]
    assert [item.name for item in called] == ["get_time"]  # one call: parallel_tool_calls is false
    jsonschema.validate(json.loads(called[0].arguments), TIME)
    with pytest.raises(openai.BadRequestError) as caught:
        await client.responses.create(
            model=MODEL, input="hi", text={"format": {"type": "json_schema", "name": "x", "schema": {"type": 3}}}
        )
    assert caught.value.param == "text.format.schema"

    # Bad requests: the SDK's BadRequestError, naming the field.
    bad: list[tuple[dict[str, Any], str]] = [
        ({"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": 3}}}}, "schema"),
        ({"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}}, "response_format.json_schema"),
        ({"tools": OPENAI_TOOLS, "tool_choice": {"type": "function", "function": {"name": "nope"}}}, "tool_choice"),
        ({"tool_choice": "required"}, "tool_choice"),
    ]
    for extra, param in bad:
        with pytest.raises(openai.BadRequestError) as caught:
            await client.chat.completions.create(model=MODEL, messages=HELLO, **extra)
        assert param in str(caught.value.param), caught.value


async def check_anthropic(client: anthropic.AsyncAnthropic, resource: LLMResource) -> None:
    tools: Any = [
        {"name": tool["function"]["name"], "description": "", "input_schema": tool["function"]["parameters"]}
        for tool in OPENAI_TOOLS
    ]
    answer = await client.messages.create(
        model=MODEL,
        messages=HELLO,
        max_tokens=300,
        extra_body={"temperature": 0},
        tools=tools,
        tool_choice={"type": "any"},
    )
    uses = [block for block in answer.content if block.type == "tool_use"]
    assert answer.stop_reason == "tool_use"
    assert uses
    for use in uses:
        jsonschema.validate(use.input, SCHEMAS[use.name])
    async with client.messages.stream(
        model=MODEL,
        messages=ASK_WEATHER,
        max_tokens=300,
        extra_body={"temperature": 0},
        tools=tools,
        tool_choice={"type": "tool", "name": "get_time", "disable_parallel_tool_use": True},
    ) as stream:
        final = await stream.get_final_message()
    uses = [block for block in final.content if block.type == "tool_use"]
    assert [use.name for use in uses] == ["get_time"]
    jsonschema.validate(uses[0].input, TIME)

    # The thinking budget: the thought ends within it (the unbounded thought is longer), and the answer follows.
    thinking = CONVERSATIONS["thinking"]["messages"]
    backend = resource.backend
    assert backend is not None
    free = await client.messages.create(
        model=MODEL,
        messages=thinking,
        max_tokens=300,
        extra_body={"temperature": 0},
        thinking={"type": "enabled", "budget_tokens": 64},
    )
    thought = next(block.thinking for block in free.content if block.type == "thinking")
    budget = 4
    assert len(backend.tokenizer.encode(thought, add_special_tokens=False)) > budget
    bounded = await client.messages.create(
        model=MODEL,
        messages=thinking,
        max_tokens=300,
        extra_body={"temperature": 0},
        thinking={"type": "enabled", "budget_tokens": budget},
    )
    kinds = [block.type for block in bounded.content]
    assert kinds[0] == "thinking", kinds
    short = bounded.content[0]
    assert short.type == "thinking"
    assert len(backend.tokenizer.encode(short.thinking, add_special_tokens=False)) <= budget
    assert bounded.stop_reason == "end_turn"

    with pytest.raises(anthropic.BadRequestError, match=r"tools\[0\].input_schema"):
        await client.messages.create(
            model=MODEL,
            messages=HELLO,
            max_tokens=10,
            tools=[{"name": "f", "input_schema": {"type": "object", "properties": 3}}],
            tool_choice={"type": "any"},
        )


async def check_ollama(client: ollama.AsyncClient) -> None:
    answer = await client.chat(
        model=MODEL, messages=HELLO, format=PERSON, options={"temperature": 0, "num_predict": 300}
    )
    jsonschema.validate(json.loads(answer.message.content or ""), PERSON)
    # Any JSON: the tiny model's object never ends (see check_openai), but it opens at once.
    answer = await client.chat(model=MODEL, messages=HELLO, format="json", options={"temperature": 0, "num_predict": 8})
    assert (answer.message.content or "").startswith('{"')
    parts = [
        part.response
        async for part in await client.generate(
            model=MODEL, prompt="Hello! Who are you?", format=PERSON, stream=True, options={"num_predict": 300}
        )
    ]
    jsonschema.validate(json.loads("".join(part or "" for part in parts)), PERSON)
    with pytest.raises(ollama.ResponseError) as caught:
        await client.chat(model=MODEL, messages=HELLO, format={"type": "objectx"})
    assert caught.value.status_code == 400
    assert "format" in caught.value.error


async def check_batch_isolation(client: openai.AsyncOpenAI) -> None:
    """Greedy replies next to constrained generations in the same batch are those the model gives alone."""
    reply = CONVERSATIONS["plain"]["reply"]
    schema_format: Any = {"type": "json_schema", "json_schema": {"name": "person", "schema": PERSON}}

    async def plain() -> str:
        answer = await client.chat.completions.create(model=MODEL, messages=HELLO, temperature=0)
        return answer.choices[0].message.content or ""

    async def constrained() -> str:
        answer = await client.chat.completions.create(
            model=MODEL, messages=HELLO, temperature=0, max_tokens=300, response_format=schema_format
        )
        return answer.choices[0].message.content or ""

    results = await asyncio.gather(constrained(), plain(), constrained(), plain())
    assert results[1] == results[3] == reply
    for text in (results[0], results[2]):
        jsonschema.validate(json.loads(text), PERSON)
