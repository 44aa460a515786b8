"""Long prompts are rendered and tokenized off the event loop, over real HTTP with the demo model (transformers).

The backend's real ``encode`` is wrapped with a gate: a long prompt's encoding does not start until a concurrent
``GET /health`` has been answered. If the prompt were prepared on the event loop, the loop would be stuck in the gate
and could not answer, so the test would fail (the GET times out); the order of the steps is the evidence, not a
duration.
"""

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest
from flama.llm.generation import DEFAULT_OFFLOAD_SIZE
from flama.llm.resource import LLMResource

from tests.e2e.dialects import openai_client
from tests.e2e.test_llm_server import serve_demo, wait_ready
from tests.servers import ServerFactory

LONG = "the quick brown fox " * (DEFAULT_OFFLOAD_SIZE // 20 + 1)  # over the default, and over the model's context
SHORT = "Once upon a time"


class Gate:
    """The backend's own ``encode``, recording each call's thread; a prompt over ``size`` waits for `opened`."""

    def __init__(self, encode: Callable[[str], list[int]], size: int) -> None:
        self.encode = encode
        self.size = size
        self.steps: list[str] = []
        self.threads: dict[str, list[int]] = {"short": [], "long": []}
        self.encoding = threading.Event()
        self.opened = threading.Event()

    def __call__(self, text: str) -> list[int]:
        long = len(text) > self.size
        self.threads["long" if long else "short"].append(threading.get_ident())
        if long:
            self.steps.append("encode waiting")
            self.encoding.set()
            assert self.opened.wait(10), "nobody opened the gate"
        return self.encode(text)


async def served(server_factory: ServerFactory, size: int, **options: Any) -> tuple[str, Gate]:
    url, resource = serve_demo(server_factory, "transformers", **options)
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        await wait_ready(client)
    backend = resource.backend
    assert backend is not None
    gate = Gate(backend.encode, size)
    backend.encode = gate  # type: ignore[method-assign]
    return url, gate


async def query(url: str, prompt: str) -> httpx.Response:
    body = {"prompt": prompt, "params": {"max_tokens": 2, "temperature": 0}}
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        return await client.post("/llm/query/", json=body)


class TestLongPrompts:
    async def test_the_event_loop_answers_while_a_long_prompt_is_tokenized(self, server_factory):
        url, gate = await served(server_factory, DEFAULT_OFFLOAD_SIZE)
        assert (await query(url, SHORT)).status_code == 200
        posted = asyncio.create_task(query(url, LONG))
        try:
            assert await asyncio.to_thread(gate.encoding.wait, 30), "the long prompt never reached the tokenizer"
            async with httpx.AsyncClient(base_url=url, timeout=5) as client:
                health = await client.get("/health")
            gate.steps.append("health answered")
        finally:
            gate.opened.set()
        response = await posted
        assert health.status_code == 200
        # The prompt does not fit the demo model's 2,048-token context: a clear 400 once it is counted.
        assert response.status_code == 400
        assert "the model's context holds 2048" in response.text
        assert gate.steps == ["encode waiting", "health answered"]
        assert gate.threads["long"][0] not in gate.threads["short"]

    async def test_a_long_prompt_under_a_lower_threshold_generates(self, server_factory):
        url, gate = await served(server_factory, 1000, prompt_offload_size=1000)
        gate.opened.set()
        short, long = await query(url, SHORT), await query(url, "the quick brown fox " * 60)  # 1,200 characters
        assert (short.status_code, long.status_code) == (200, 200)
        assert long.json()["usage"]["output_tokens"] == 2
        assert gate.threads["long"][0] not in gate.threads["short"]

    async def test_offload_turned_off_tokenizes_on_the_event_loop(self, server_factory):
        url, gate = await served(server_factory, 1000, prompt_offload_size=None)
        gate.opened.set()
        assert (await query(url, SHORT)).status_code == 200
        assert (await query(url, "the quick brown fox " * 60)).status_code == 200
        assert gate.threads["long"][0] in gate.threads["short"]

    async def test_a_long_prompt_beyond_the_offload_queue_is_a_429(self, server_factory):
        # One long prompt held in the tokenizer, none allowed to wait: the next long one is turned away at once, on
        # the native dialect and through the official OpenAI SDK, while a short prompt is still served.
        url, gate = await served(server_factory, DEFAULT_OFFLOAD_SIZE, prompt_offload_queue=0)
        posted = asyncio.create_task(query(url, LONG))
        try:
            assert await asyncio.to_thread(gate.encoding.wait, 30), "the long prompt never reached the tokenizer"
            refused = await query(url, LONG)
            async with openai_client(url, max_retries=0) as client:
                with pytest.raises(openai.RateLimitError) as raised:
                    await client.chat.completions.create(
                        model="assistant", messages=[{"role": "user", "content": LONG}]
                    )
            short = await query(url, SHORT)
        finally:
            gate.opened.set()
        assert (await posted).status_code == 400  # the held one goes on to its answer: it does not fit the context
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert "Too many requests are waiting for this model" in refused.json()["detail"]
        assert int(raised.value.response.headers["retry-after"]) >= 1
        assert raised.value.body["type"] == "rate_limit_error"  # type: ignore[index]
        assert short.status_code == 200
        assert gate.steps == ["encode waiting"]  # neither refused prompt was tokenized
        metrics = httpx.get(f"{url}/metrics").text
        assert 'flama_llm_errors_total{model="assistant",type="queue_full"} 2.0' in metrics

    def test_negative_limits_are_refused(self):
        with pytest.raises(ValueError, match="prompt_offload_size must be a non-negative number of characters"):
            LLMResource(path="/llm/", name="a", source=".", prompt_offload_size=-1)
        with pytest.raises(ValueError, match="prompt_offload_queue must be a non-negative number of prompts, got -1"):
            LLMResource(path="/llm/", name="a", source=".", prompt_offload_queue=-1)
