"""``examples/all_dialects.py`` served for real and asked once through each official SDK, as its README shows."""

import asyncio
import json
import time
from pathlib import Path

import anthropic
import httpx
import ollama
import openai

from examples import all_dialects

EXPECTED = json.loads((Path(all_dialects.MODEL).with_suffix(".expect.json")).read_text(encoding="utf-8"))
PLAIN = next(conversation for conversation in EXPECTED["conversations"] if conversation["id"] == "plain")


async def test_each_sdk(server_factory):
    url = server_factory(all_dialects.app, lifespan="on")
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        deadline = time.monotonic() + 120
        while (await client.get("/health")).status_code != 200:
            assert time.monotonic() < deadline, "the model did not load"
            await asyncio.sleep(0.1)
        schema = (await client.get("/schema/")).json()
        assert schema["info"] == {"title": "All dialects", "version": "1.0.0", "description": "One model, four APIs."}
    question = PLAIN["messages"]
    async with openai.AsyncOpenAI(base_url=f"{url}/llm/openai/v1", api_key="unused") as chat:
        answer = await chat.chat.completions.create(model="assistant", messages=question)
    assert answer.choices[0].message.content == PLAIN["reply"]
    async with anthropic.AsyncAnthropic(base_url=f"{url}/llm/anthropic", api_key="unused") as messages:
        message = await messages.messages.create(model="assistant", max_tokens=64, messages=question)
    assert message.content[0].text == PLAIN["reply"]  # type: ignore[union-attr]
    async with ollama.AsyncClient(host=f"{url}/llm/ollama") as local:
        reply = await local.chat(model="assistant", messages=question)
    assert reply.message.content == PLAIN["reply"]
