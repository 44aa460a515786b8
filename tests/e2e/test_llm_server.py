"""The demo model served for real (uvicorn on loopback) through MLX and transformers, and by ``flama serve``."""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from flama.http import Flama
from flama.http.metrics import MetricsModule
from flama.llm.backends.base import Backend, GenerationParams
from flama.llm.resource import LLMResource
from flama.models.module import ModelsModule

from tests.servers import ServerFactory

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "models" / "assistant.flm"
EXPECTED = json.loads((ROOT / "examples" / "models" / "assistant.expect.json").read_text())
CONVERSATIONS = {conversation["id"]: conversation for conversation in EXPECTED["conversations"]}

BACKENDS = [pytest.param("mlx", id="mlx"), pytest.param("transformers", id="transformers")]


def request_for(conversation: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"messages": conversation["messages"], "params": {"temperature": 0}}
    if conversation["tools"]:
        body["tools"] = conversation["tools"]
    if conversation["template_kwargs"]:
        body["template"] = conversation["template_kwargs"]
    return body


def sse(text: str) -> list[tuple[str, str, dict[str, Any]]]:
    events = []
    for chunk in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in chunk.splitlines() if not line.startswith(":") and ": " in line)
        if "data" in fields:
            events.append((fields["id"], fields["event"], json.loads(fields["data"])))
    return events


def serve_demo(server_factory: ServerFactory, backend: str, **options: Any) -> tuple[str, LLMResource]:
    app = Flama(schema=None, docs=None, modules=[MetricsModule()])
    models = app.modules.get("models")
    assert isinstance(models, ModelsModule)
    resource = models.add_model(path="/llm/", model=DEMO, name="assistant", backend=backend, **options)
    assert isinstance(resource, LLMResource)
    return server_factory(app, lifespan="on"), resource


async def wait_ready(client: httpx.AsyncClient) -> None:
    deadline = time.monotonic() + 120
    while (response := await client.get("/health")).status_code != 200:
        assert response.status_code == 503, response.text
        assert response.json()["status"] == "loading", response.text
        assert time.monotonic() < deadline, "the model did not load"
        await asyncio.sleep(0.1)


async def stream_over(resource: LLMResource, stream_id: str) -> None:
    # The server notices the disconnect on its next write; a reader attached before then would keep the stream.
    # (The stream lives on the server's event loop, in another thread: its state is polled.)
    stream = resource.streams.get(stream_id)
    assert stream is not None
    deadline = time.monotonic() + 60
    while not stream.done:
        assert time.monotonic() < deadline, "the stream did not stop"
        await asyncio.sleep(0.01)


async def tokens_generated(backend: Backend, prompt: str) -> int:
    # The backend's own greedy loop, without the server: the usage the server reports must match it.
    return sum([delta.tokens async for delta in backend.generate(prompt, GenerationParams(temperature=0.0))])


def eos_ban(resource: LLMResource) -> dict[str, float]:
    # A generation that never ends by itself, for cancellation and queue tests.
    backend = resource.backend
    assert backend is not None
    eos = backend.tokenizer.convert_tokens_to_ids(EXPECTED["eos_token"])
    return {str(eos): -100.0}


@pytest.mark.parametrize("backend", BACKENDS)
async def test_demo_model(server_factory, backend):
    url, resource = serve_demo(server_factory, backend, max_running=1, max_queued=0, resume_window=0)
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        await wait_ready(client)
        info = (await client.get("/llm/")).json()
        assert (info["backend"], info["decoder"], info["ready"]) == (backend, "qwen3", True)
        assert info["meta"]["framework"]["family"] == "llm"
        assert (info["capabilities"]["tools"], info["capabilities"]["reasoning"]) == (True, True)
        loaded = resource.backend
        assert loaded is not None

        # Buffered answers reproduce the known replies, with exact usage.
        for conversation in EXPECTED["conversations"]:
            response = await client.post("/llm/query/", json=request_for(conversation))
            assert response.status_code == 200, response.text
            body = response.json()
            reply = conversation["reply"]
            assert body["usage"]["input_tokens"] == loaded.count_tokens(conversation["prompt"])
            assert body["usage"]["output_tokens"] == await tokens_generated(loaded, conversation["prompt"])
            kinds = [block["type"] for block in body["blocks"]]
            if "<tool_call>" in reply:
                assert body["stop_reason"] == "tool_use"
                assert kinds[-1] == "tool_call"
            else:
                assert body["stop_reason"] == "end"
                assert body["blocks"][-1]["text"] == reply.rpartition("</think>")[2].strip()
            assert ("thinking" in kinds) == ("</think>" in reply)

        # A stream carries the same answer; a reader resuming after an event gets exactly the rest.
        plain = CONVERSATIONS["plain"]
        stream_id = (await client.post("/llm/stream/", json=request_for(plain))).json()["id"]
        events = sse((await client.get(f"/llm/stream/{stream_id}/")).text)
        names = [name for _, name, _ in events]
        assert names[0] == "message.start"
        assert names[-2:] == ["message.delta", "message.stop"]
        assert "".join(data["text"] for _, name, data in events if name == "block.delta") == plain["reply"]
        assert [number for number, _, _ in events] == [str(n) for n in range(len(events))]
        resumed = sse((await client.get(f"/llm/stream/{stream_id}/", headers={"Last-Event-ID": "2"})).text)
        assert resumed == events[3:]

        # A client that leaves a stream stops its generation; meanwhile the queue is full (one slot, no queue).
        endless = {"prompt": "Once", "params": {"logit_bias": eos_ban(resource)}}
        stream_id = (await client.post("/llm/stream/", json=endless)).json()["id"]
        full = await client.post("/llm/query/", json={"prompt": "x"})
        assert full.status_code == 429
        assert int(full.headers["retry-after"]) >= 1
        async with client.stream("GET", f"/llm/stream/{stream_id}/") as response:
            async for line in response.aiter_lines():
                if line == "event: block.delta":
                    break
        await stream_over(resource, stream_id)
        ended = sse((await client.get(f"/llm/stream/{stream_id}/")).text)
        assert ended[-1][1:] == (
            "error",
            {"detail": "The generation was disconnected.", "error": "GenerationStopped", "status_code": 499},
        )
        assert "message.delta" not in [name for _, name, _ in ended]

        # DELETE cancels at once, and the slot is free again.
        stream_id = (await client.post("/llm/stream/", json=endless)).json()["id"]
        cancelled = await client.delete(f"/llm/stream/{stream_id}/")
        assert cancelled.json() == {"id": stream_id, "cancelled": True}
        assert resource.scheduler.running == 0

        metrics = (await client.get("/metrics")).text
        assert 'flama_llm_errors_total{model="assistant",type="queue_full"} 1.0' in metrics


def free_port() -> int:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        return int(listener.getsockname()[1])


@pytest.fixture
def flama_serve() -> Iterator[list[subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def test_flama_serve(flama_serve):
    port = free_port()
    command = [sys.executable, "-m", "flama.cli.main", "serve", "--model", f"file={DEMO},url=/llm/,name=assistant"]
    command += ["--server-port", str(port), "--server-log-level", "warning"]
    process = subprocess.Popen(command, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    flama_serve.append(process)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, "flama serve exited"
            assert time.monotonic() < deadline, "flama serve did not become healthy"
            try:
                if (await client.get("/health")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
        plain = CONVERSATIONS["plain"]
        response = await client.post("/llm/query/", json=request_for(plain))
        assert response.status_code == 200, response.text
        assert response.json()["blocks"] == [{"type": "text", "text": plain["reply"]}]
        assert (await client.get("/metrics")).status_code == 200
