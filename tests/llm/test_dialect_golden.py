"""Golden wire tests: every event sequence of the OpenAI, Anthropic and Ollama dialects, byte for byte.

The scripted backend replays known pieces (reasoning then text, a tool call, a failure in the middle of a stream); the
wire each dialect sends is compared with ``golden/dialects/<case>.txt`` after the values that change from run to run
(ids, timestamps, durations) are replaced by placeholders. ``FLAMA_UPDATE_GOLDEN=1`` rewrites the files.
"""

import json
import os
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import pytest
from flama.llm.anthropic import AnthropicDialect, Signer
from flama.llm.backends.base import Delta, GenerationParams

from tests.llm.doubles import ScriptedBackend, model_factory, scripted

__all__ = ["model_factory"]

GOLDEN = Path(__file__).parent / "golden" / "dialects"
VOLATILE = {"id", "created", "created_at", "total_duration", "load_duration", "prompt_eval_duration", "eval_duration"}
TOOL_CALL = ("<tool_call>", '\n{"name": "get_weather", ', '"arguments": {"city": "Paris"}}\n', "</tool_call>")
THINK_AND_ANSWER = ("<think>", "hmm", "</think>", "Hello", " world")
USER = [{"role": "user", "content": "Hi"}]


class Failing(ScriptedBackend):
    """Replays two pieces of text, then fails."""

    async def stream(self, ids: list[int], params: GenerationParams, limit: int) -> AsyncGenerator[Delta, None]:
        yield Delta("Hello", 1)
        yield Delta(" wor", 1)
        raise RuntimeError("the accelerator fell over")


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: "<volatile>" if key in VOLATILE and value[key] else _stable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_stable(item) for item in value]
    return value


def normalized(wire: str, ndjson: bool) -> str:
    """The wire with volatile values replaced; SSE keeps its ``event:`` lines."""
    lines = []
    for line in wire.splitlines():
        if ndjson and line:
            lines.append(json.dumps(_stable(json.loads(line))))
        elif line.startswith("data: ") and line != "data: [DONE]":
            lines.append("data: " + json.dumps(_stable(json.loads(line[6:]))))
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"


def check(name: str, wire: str) -> None:
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("FLAMA_UPDATE_GOLDEN"):
        path.write_text(wire)
    assert wire == path.read_text()


ROUTES = {
    "openai": ("/llm/openai/v1/chat/completions", False),
    "anthropic": ("/llm/anthropic/v1/messages", False),
    "ollama": ("/llm/ollama/api/chat", True),
}


def body(dialect: str, tools: bool) -> dict[str, Any]:
    tool = {"name": "get_weather", "description": "Weather.", "parameters": {"type": "object"}}
    if dialect == "openai":
        request: dict[str, Any] = {"model": "assistant", "messages": USER, "stream": True}
        request["stream_options"] = {"include_usage": True}
        if tools:
            request["tools"] = [{"type": "function", "function": tool}]
        return request
    if dialect == "anthropic":
        request = {"model": "assistant", "messages": USER, "stream": True, "max_tokens": 32}
        request["thinking"] = {"type": "enabled", "budget_tokens": 16}
        if tools:
            request["tools"] = [{"name": "get_weather", "description": "Weather.", "input_schema": {"type": "object"}}]
        return request
    request = {"model": "assistant", "messages": USER, "think": True}
    if tools:
        request["tools"] = [{"type": "function", "function": tool}]
    return request


SCRIPTS = {
    "thinking": (scripted(*THINK_AND_ANSWER), False),
    "tool_call": (scripted(*TOOL_CALL), True),
    "error": (Failing, False),
}


@pytest.mark.parametrize("dialect", list(ROUTES))
@pytest.mark.parametrize("script", list(SCRIPTS))
async def test_stream_wire(model_factory, dialect, script):
    backend, tools = SCRIPTS[script]
    path, ndjson = ROUTES[dialect]
    async with model_factory(backend=backend) as (client, resource):
        for served in resource.dialects:
            if isinstance(served, AnthropicDialect):
                served.signer = Signer(b"golden")
        response = await client.post(path, json=body(dialect, tools))
    assert response.status_code == 200
    check(f"{dialect}-{script}", normalized(response.text, ndjson))


@pytest.mark.parametrize("dialect", list(ROUTES))
async def test_buffered_wire(model_factory, dialect):
    path, _ = ROUTES[dialect]
    async with model_factory(backend=scripted(*THINK_AND_ANSWER)) as (client, resource):
        for served in resource.dialects:
            if isinstance(served, AnthropicDialect):
                served.signer = Signer(b"golden")
        response = await client.post(path, json={**body(dialect, False), "stream": False})
    assert response.status_code == 200
    check(f"{dialect}-buffered", json.dumps(_stable(response.json()), indent=2) + "\n")
