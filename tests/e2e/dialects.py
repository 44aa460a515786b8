"""What the vendor-dialect end-to-end tests share: the demo model served for real, a step counter on its backend."""

import asyncio
import contextlib
import dataclasses
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import anthropic
import ollama
import openai
import pytest
from flama.http import Flama
from flama.http.metrics import MetricsModule
from flama.llm.backends.base import Backend, Delta, GenerationParams
from flama.llm.resource import LLMResource
from flama.models.module import ModelsModule

from tests.e2e.test_llm_server import DEMO, EXPECTED
from tests.servers import ServerFactory

BACKENDS = [pytest.param("mlx", id="mlx"), pytest.param("transformers", id="transformers")]
CONVERSATIONS = {conversation["id"]: conversation for conversation in EXPECTED["conversations"]}
TOOLS = CONVERSATIONS["tool_call"]["tools"]
WEATHER = CONVERSATIONS["tool_result"]["messages"][2]["content"]
MODEL = "assistant"


def ask(conversation_id: str) -> list[Any]:
    """A known conversation's messages: plain dicts, which every SDK takes as its own message type."""
    return list(CONVERSATIONS[conversation_id]["messages"])


@dataclasses.dataclass
class Steps:
    """Deltas the backend produced per generation, and whether each generation's iterator was closed."""

    produced: list[int] = dataclasses.field(default_factory=list)
    closed: list[bool] = dataclasses.field(default_factory=list)

    async def wait_closed(self, generation: int) -> None:
        # The generation runs on the server's event loop, in another thread: its state is polled.
        deadline = time.monotonic() + 60
        while len(self.closed) <= generation or not self.closed[generation]:
            assert time.monotonic() < deadline, "the backend's generation did not stop"
            await asyncio.sleep(0.01)


async def slots_freed(resource: LLMResource) -> None:
    """Wait until the model has no generation admitted (polled, as `Steps.wait_closed`).

    A closed stream's slot is given back when the server's task for it ends, a few event-loop turns after its
    backend stream closed, and possibly after the client's next request.
    """
    deadline = time.monotonic() + 10
    while resource.scheduler.running:
        assert time.monotonic() < deadline, f"{resource.scheduler.running} generation(s) still hold a slot"
        await asyncio.sleep(0.01)


def count_steps(resource: LLMResource) -> Steps:
    """Count what the loaded backend produces, generation by generation."""
    backend = resource.backend
    assert backend is not None
    steps = Steps()
    stream = backend.stream

    async def counted(ids: list[int], params: GenerationParams, limit: int) -> AsyncIterator[Delta]:
        number = len(steps.produced)
        steps.produced.append(0)
        steps.closed.append(False)
        deltas = stream(ids, params, limit)
        try:
            async for delta in deltas:
                steps.produced[number] += 1
                yield delta
        finally:
            await deltas.aclose()  # type: ignore[attr-defined]
            steps.closed[number] = True

    backend.stream = counted  # type: ignore[method-assign]
    return steps


async def serve(server_factory: ServerFactory, backend: str, **options: Any) -> tuple[str, LLMResource]:
    """Serve the demo model at ``/llm/`` with every dialect; returns once it is loaded."""
    app = Flama(schema=None, docs=None, modules=[MetricsModule()])
    models = app.modules.get("models")
    assert isinstance(models, ModelsModule)
    resource = models.add_model(path="/llm/", model=DEMO, name="assistant", backend=backend, **options)
    assert isinstance(resource, LLMResource)
    url = server_factory(app, lifespan="on")
    deadline = time.monotonic() + 300  # a shared, busy machine loads slowly
    while resource.backend is None:
        if resource.failure is not None:  # fail at once, not after the deadline
            raise AssertionError(f"the model failed to load: {resource.failure!r}") from resource.failure
        assert time.monotonic() < deadline, "the model did not load"
        await asyncio.sleep(0.05)
    return url, resource


def openai_client(url: str, *, mount: str = "openai", **options: Any) -> openai.AsyncOpenAI:
    """The official OpenAI SDK on the served model's OpenAI routes (``mount="ollama"``: Ollama's ``/v1`` mirror)."""
    return openai.AsyncOpenAI(base_url=f"{url}/llm/{mount}/v1", api_key="unused", **{"timeout": 60, **options})


def anthropic_client(url: str, **options: Any) -> anthropic.AsyncAnthropic:
    """The official Anthropic SDK on the served model's Anthropic routes."""
    return anthropic.AsyncAnthropic(base_url=f"{url}/llm/anthropic", api_key="unused", **{"timeout": 60, **options})


@contextlib.asynccontextmanager
async def ollama_client(url: str) -> AsyncIterator[ollama.AsyncClient]:
    """The official Ollama SDK on the served model's Ollama routes (typed: the SDK's own ``async with`` is not)."""
    async with ollama.AsyncClient(host=f"{url}/llm/ollama") as client:
        yield client


async def expected_usage(resource: LLMResource, conversation: dict[str, Any]) -> tuple[int, int]:
    """The prompt's tokens and the tokens the backend's own greedy loop generates for it."""
    backend: Backend | None = resource.backend
    assert backend is not None
    prompt = conversation["prompt"]
    generated = sum([delta.tokens async for delta in backend.generate(prompt, GenerationParams(temperature=0.0))])
    return backend.count_tokens(prompt), generated


def thought_and_answer(reply: str) -> tuple[str, str]:
    """A known reply split into its reasoning and its answer."""
    thought, _, answer = reply.rpartition("</think>")
    return thought.strip(), answer.strip()


def tool_arguments(reply: str) -> dict[str, Any]:
    """The arguments of the tool call a known reply makes."""
    call = json.loads(reply.split("<tool_call>")[1].split("</tool_call>")[0])
    assert isinstance(call["arguments"], dict)
    return call["arguments"]


def eos_ban(resource: LLMResource) -> dict[str, int]:
    """A logit bias that bans the end-of-sequence token: a generation that only ``max_tokens`` ends."""
    backend = resource.backend
    assert backend is not None
    eos = backend.tokenizer.convert_tokens_to_ids(EXPECTED["eos_token"])
    return {str(eos): -100}
