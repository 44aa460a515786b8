"""``examples/generative_ai.py`` served for real: the documented shape of an LLM app (title, docs, one model)."""

import asyncio
import json
import time
from pathlib import Path

import httpx

from examples import generative_ai

EXPECTED = json.loads((Path(generative_ai.MODEL).with_suffix(".expect.json")).read_text(encoding="utf-8"))
CONVERSATIONS = {conversation["id"]: conversation for conversation in EXPECTED["conversations"]}


async def test_thinking_answer_and_documents(server_factory):
    url = server_factory(generative_ai.app, lifespan="on")
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        deadline = time.monotonic() + 120
        while (await client.get("/health")).status_code != 200:
            assert time.monotonic() < deadline, "the model did not load"
            await asyncio.sleep(0.1)
        thinking = CONVERSATIONS["thinking"]
        body = {"messages": thinking["messages"], "template": thinking["template_kwargs"]}
        response = await client.post("/llm/query/", json=body)
        assert response.status_code == 200, response.text
        thought, _, answer = thinking["reply"].partition("</think>")
        assert response.json()["blocks"] == [
            {"type": "thinking", "text": thought.strip()},
            {"type": "text", "text": answer.strip()},
        ]
        schema = (await client.get("/schema/")).json()
        assert schema["info"]["title"] == "Generative AI"
        assert {"/llm/", "/llm/query/", "/llm/stream/"} <= set(schema["paths"])
        assert (await client.get("/docs/")).status_code == 200
