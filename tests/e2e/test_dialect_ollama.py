"""The official ``ollama`` SDK against the demo model served for real, on MLX and transformers."""

import json
from collections.abc import Mapping
from typing import Any

import httpx
import ollama
import pytest

from tests.e2e.dialects import (
    BACKENDS,
    CONVERSATIONS,
    MODEL,
    TOOLS,
    WEATHER,
    ask,
    count_steps,
    expected_usage,
    ollama_client,
    openai_client,
    serve,
    slots_freed,
    thought_and_answer,
    tool_arguments,
)

GREEDY = {"temperature": 0}


@pytest.mark.parametrize("backend", BACKENDS)
async def test_chat_and_generate(server_factory, backend):
    url, resource = await serve(server_factory, backend)
    async with ollama_client(url) as client:
        plain = CONVERSATIONS["plain"]

        # Buffered, with counts; streamed (the default) as NDJSON frames ending with done.
        answer = await client.chat(model=MODEL, messages=ask("plain"), stream=False, options=GREEDY)
        assert answer.message.content == plain["reply"]
        assert (answer.done, answer.done_reason) == (True, "stop")
        assert (answer.prompt_eval_count, answer.eval_count) == await expected_usage(resource, plain)
        assert answer.total_duration
        frames = [
            frame async for frame in await client.chat(model=MODEL, messages=ask("plain"), options=GREEDY, stream=True)
        ]
        assert "".join(frame.message.content or "" for frame in frames) == plain["reply"]
        assert [frame.done for frame in frames] == [False] * (len(frames) - 1) + [True]
        assert frames[-1].eval_count == answer.eval_count

        # Thinking: think=True opens the model's reasoning, returned in message.thinking.
        thought, reply = thought_and_answer(CONVERSATIONS["thinking"]["reply"])
        reasoned = await client.chat(model=MODEL, messages=ask("thinking"), think=True, stream=False, options=GREEDY)
        assert (reasoned.message.thinking or "").strip() == thought
        assert reasoned.message.content.strip() == reply  # type: ignore[union-attr]
        frames = [
            f
            async for f in await client.chat(
                model=MODEL, messages=ask("thinking"), think=True, options=GREEDY, stream=True
            )
        ]
        assert "".join(f.message.thinking or "" for f in frames) == reasoned.message.thinking
        direct = await client.chat(model=MODEL, messages=ask("no_thinking"), think=False, stream=False, options=GREEDY)
        assert direct.message.content == CONVERSATIONS["no_thinking"]["reply"]

        # A tool call, buffered and streamed; then the result sent back as a tool message.
        called = await client.chat(model=MODEL, messages=ask("tool_call"), tools=TOOLS, stream=False, options=GREEDY)
        calls = called.message.tool_calls
        assert calls is not None
        assert [(c.function.name, dict(c.function.arguments)) for c in calls] == [
            ("get_weather", tool_arguments(CONVERSATIONS["tool_call"]["reply"]))
        ]
        frames = [
            f
            async for f in await client.chat(
                model=MODEL, messages=ask("tool_call"), tools=TOOLS, options=GREEDY, stream=True
            )
        ]
        streamed = [c for f in frames for c in f.message.tool_calls or []]
        assert [(c.function.name, dict(c.function.arguments)) for c in streamed] == [
            (c.function.name, dict(c.function.arguments)) for c in calls
        ]
        history: list[Mapping[str, Any] | ollama.Message] = [
            *ask("tool_call"),
            called.message,
            {"role": "tool", "tool_name": "get_weather", "content": json.dumps(WEATHER)},
        ]
        result = await client.chat(model=MODEL, messages=history, tools=TOOLS, stream=False, options=GREEDY)
        assert result.message.content == CONVERSATIONS["tool_result"]["reply"]

        # Options unpacked: stop sequences and num_predict.
        stopped = await client.chat(
            model=MODEL, messages=ask("plain"), stream=False, options={**GREEDY, "stop": ["demo"]}
        )
        assert stopped.message.content == plain["reply"].split("demo")[0].rstrip()
        short = await client.chat(
            model=MODEL, messages=ask("plain"), stream=False, options={**GREEDY, "num_predict": 3}
        )
        assert (short.done_reason, short.eval_count) == ("length", 3)

        # Generate: a prompt through the chat template, or raw.
        generated = await client.generate(model=MODEL, prompt=plain["messages"][0]["content"], options=GREEDY)
        assert generated.response == plain["reply"]
        raw = await client.generate(model=MODEL, prompt=plain["prompt"], raw=True, stream=False, options=GREEDY)
        assert raw.response == plain["reply"]
        pieces = [p async for p in await client.generate(model=MODEL, prompt=plain["prompt"], raw=True, stream=True)]
        assert pieces[-1].done

        # The model's listings.
        assert [m.model for m in (await client.list()).models] == [MODEL]
        assert [m.model for m in (await client.ps()).models] == [MODEL]
        shown = await client.show(MODEL)
        assert set(shown.capabilities or []) == {"completion", "tools", "thinking"}
        assert shown.modelinfo is not None
        assert shown.modelinfo["llama.context_length"] == resource.backend.context_length  # type: ignore[union-attr]
        async with httpx.AsyncClient(base_url=f"{url}/llm/ollama") as http:
            assert (await http.get("")).text == "Ollama is running"
            assert (await http.head("/")).status_code == 200
            version = (await http.get("/api/version")).json()["version"]
            assert all(part.isdigit() for part in version.split("."))

        # The OpenAI routes, mirrored under /v1 as Ollama does.
        async with openai_client(url, mount="ollama") as mirror:
            mirrored = await mirror.chat.completions.create(model=MODEL, messages=ask("plain"), temperature=0)
        assert mirrored.choices[0].message.content == plain["reply"]


@pytest.mark.parametrize("backend", BACKENDS)
async def test_invalid_requests(server_factory, backend):
    url, _ = await serve(server_factory, backend)
    async with ollama_client(url) as client:
        messages = ask("plain")
        with pytest.raises(ollama.ResponseError) as raised:
            await client.chat(model="llama3", messages=messages, stream=False)
        assert (raised.value.status_code, raised.value.error) == (404, "model 'llama3' not found")
        with pytest.raises(ollama.ResponseError) as raised:
            await client.chat(model=MODEL, messages=messages, stream=False, options={"temperature": -1})
        assert raised.value.status_code == 400
        assert "temperature" in raised.value.error
        with pytest.raises(ollama.ResponseError) as raised:
            await client.chat(model=MODEL, messages=messages, stream=False, format={"type": "objectx"})
        assert (raised.value.status_code, "format" in raised.value.error) == (400, True)
        with pytest.raises(ollama.ResponseError) as raised:
            await client.show("llama3")
        assert raised.value.status_code == 404
        bad = httpx.post(f"{url}/llm/ollama/api/chat", json={"model": MODEL, "messages": [{"content": "hi"}]})
        assert bad.status_code == 400
        assert bad.json() == {"error": "messages[0].role: Field required"}


@pytest.mark.parametrize("backend", BACKENDS)
async def test_closing_the_stream_stops_the_backend(server_factory, backend):
    url, resource = await serve(server_factory, backend)
    steps = count_steps(resource)
    async with ollama_client(url) as client:
        options = {"num_predict": 1000, "temperature": 0}
        stream = await client.chat(model=MODEL, messages=ask("story"), options=options, stream=True)
        async for frame in stream:
            if frame.message.content:
                break
        await stream.aclose()  # type: ignore[attr-defined]
        await steps.wait_closed(0)
        expected = (await expected_usage(resource, CONVERSATIONS["story"]))[1]
        assert 0 < steps.produced[0] < expected
        await slots_freed(resource)
