"""Many clients at once over real HTTP, on the demo model with each batched backend (MLX and transformers)."""

import asyncio
import json
import subprocess
import sys
from typing import Any

import httpx
import pytest
from flama.llm.backends.batching import BatchedBackend
from flama.llm.resource import LLMResource

from tests.e2e.dialects import serve
from tests.servers import server_factory

__all__ = ["server_factory"]

pytestmark = pytest.mark.parametrize("backend", ["mlx", "transformers"])


def usage(body: bytes) -> dict[str, int]:
    """The usage of a native SSE stream's ``message.delta`` event."""
    for chunk in body.split(b"\n\n"):
        if b"event: message.delta" in chunk:
            data = chunk.split(b"data: ", 1)[1]
            return dict(json.loads(data)["usage"])
    raise AssertionError("no message.delta event")


def batched(resource: LLMResource) -> BatchedBackend:
    backend = resource.backend
    assert isinstance(backend, BatchedBackend)
    return backend


def long(eos: int, tokens: int) -> dict[str, Any]:
    return {"prompt": "Once upon a time", "params": {"max_tokens": tokens, "temperature": 0, "logit_bias": {eos: -100}}}


async def test_an_unread_stream_never_blocks_another_request(server_factory, backend, demo_expectations):
    url, resource = await serve(server_factory, backend, serving=("native",), resume_window=60)
    eos = batched(resource).tokenizer.eos_token_id
    expected = demo_expectations["plain"]
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        opened = await client.post("/llm/stream/", json=long(eos, 1800))
        stream = resource.streams.get(opened.json()["id"])
        assert stream is not None

        answer = await client.post("/llm/query/", json={"messages": expected["messages"], "params": {"temperature": 0}})

        assert not stream.done  # the unread stream still runs: the answer did not wait for it
        await client.delete(f"/llm/stream/{stream.id}/")
    text = "".join(block["text"] for block in answer.json()["blocks"] if block["type"] == "text")
    assert text in expected["reply"]
    assert answer.json()["stop_reason"] == "end"


async def test_a_client_leaving_leaves_the_others_intact(server_factory, backend):
    url, resource = await serve(server_factory, backend, serving=("native",), resume_window=0)
    eos = batched(resource).tokenizer.eos_token_id
    headers = {"Accept": "text/event-stream"}

    async with httpx.AsyncClient(base_url=url, timeout=120) as client:

        async def whole() -> bytes:
            async with client.stream("POST", "/llm/stream/", json=long(eos, 40), headers=headers) as response:
                return b"".join([chunk async for chunk in response.aiter_raw()])

        async def leaving() -> None:
            async with client.stream("POST", "/llm/stream/", json=long(eos, 1500), headers=headers) as response:
                async for chunk in response.aiter_raw():
                    if b"block.delta" in chunk:
                        return

        others = [asyncio.create_task(whole()) for _ in range(3)]
        await leaving()
        bodies = await asyncio.gather(*others)

        deadline = asyncio.get_running_loop().time() + 30
        while batched(resource).running:  # the leaver's generation is dropped from the batch
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.01)
    assert [usage(body)["output_tokens"] for body in bodies] == [40, 40, 40]


async def test_the_second_turn_reads_the_cached_prefix(server_factory, backend, demo_expectations):
    url, _ = await serve(server_factory, backend, serving=("native",))
    messages = demo_expectations["plain"]["messages"]
    params = {"temperature": 0}
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        first = (await client.post("/llm/query/", json={"messages": messages, "params": params})).json()
        reply = "".join(block["text"] for block in first["blocks"] if block["type"] == "text")
        turn = [*messages, {"role": "assistant", "content": reply}, {"role": "user", "content": "Thanks"}]
        second = (
            await client.post("/llm/query/", json={"messages": turn, "params": {**params, "max_tokens": 4}})
        ).json()
    assert first["usage"]["cached_input_tokens"] == 0
    assert first["usage"]["input_tokens"] <= second["usage"]["cached_input_tokens"] < second["usage"]["input_tokens"]


async def test_a_generation_ended_by_a_stop_sequence_is_cached(server_factory, backend, demo_expectations):
    url, _ = await serve(server_factory, backend, serving=("native",))
    messages = demo_expectations["plain"]["messages"]
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        first = (
            await client.post(
                "/llm/query/", json={"messages": messages, "params": {"temperature": 0, "stop": [" demo"]}}
            )
        ).json()
        reply = "".join(block["text"] for block in first["blocks"] if block["type"] == "text")
        turn = [*messages, {"role": "assistant", "content": reply}, {"role": "user", "content": "Thanks"}]
        second = (
            await client.post("/llm/query/", json={"messages": turn, "params": {"temperature": 0, "max_tokens": 4}})
        ).json()
    assert (reply, first["stop_reason"]) == ("Hello! I am the tiny", "stop_sequence")
    # The second turn starts from the stopped generation's cache: its prompt and the reply it kept.
    assert second["usage"]["cached_input_tokens"] > first["usage"]["input_tokens"]


async def test_a_stream_takes_the_delta_interval_of_add_model(server_factory, backend):
    # An hour: the first delta goes alone and the rest of the generation with the last one, over HTTP too.
    url, resource = await serve(server_factory, backend, serving=("native",), delta_interval=3600)
    eos = batched(resource).tokenizer.eos_token_id
    assert batched(resource).delta_interval == 3600
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        response = await client.post("/llm/stream/", json=long(eos, 40), headers={"Accept": "text/event-stream"})
    deltas = [chunk for chunk in response.content.split(b"\n\n") if b"event: block.delta" in chunk]
    assert len(deltas) == 2
    assert usage(response.content)["output_tokens"] == 40


EXIT_WITHOUT_CLOSE = """
import asyncio, sys
from pathlib import Path
from flama.llm.backends import select_backend
from flama.llm.backends.base import GenerationParams

async def main():
    backend = await select_backend(sys.argv[2]).load(Path(sys.argv[1]))
    deltas = [d async for d in backend.generate("Once upon a time", GenerationParams(max_tokens=3, temperature=0))]
    print(len(deltas) > 0, flush=True)

asyncio.run(main())  # the backend is never closed
"""


def test_a_program_that_never_closes_its_backend_still_exits(backend, demo_model_dir):
    # Its worker thread waits for work; the interpreter waits for its threads before exiting.
    done = subprocess.run(
        [sys.executable, "-c", EXIT_WITHOUT_CLOSE, str(demo_model_dir), backend],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "True"
