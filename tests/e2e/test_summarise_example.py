"""``examples/summarise.py`` served for real: a route of the application's own calls the served LLM (demo model,
real backend), injected by type, through the same path as the model's ``query/`` route."""

import asyncio
import re
import time

import httpx

from examples import summarise

TEXT = "A small flame lived in a lantern by the sea and lit the way home for the boats every night."


async def test_summary_route_uses_the_served_model(server_factory):
    url = server_factory(summarise.app, lifespan="on")
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        deadline = time.monotonic() + 120
        while (await client.get("/health")).status_code != 200:
            assert time.monotonic() < deadline, "the model did not load"
            await asyncio.sleep(0.1)
        summary = await client.post("/summary/", json={"text": TEXT})
        direct = await client.post(
            "/llm/query/",
            json={
                "messages": summarise.conversation(TEXT),
                "params": {"max_tokens": 48},
                "template": {"enable_thinking": False},
            },
        )
        refused = await client.post("/summary/", json={"words": TEXT})
        metrics = (await client.get("/metrics")).text
    assert summary.status_code == 200, summary.text
    text = "".join(block["text"] for block in direct.json()["blocks"] if block["type"] == "text").strip()
    assert summary.json() == {"summary": text}
    assert text
    assert (refused.status_code, refused.json()["detail"]) == (400, {"text": ["Field required"]})
    # Both calls went through the one model object: counted once each, as native queries of that model.
    counted = re.search(
        r'^flama_llm_requests_total\{dialect="native",kind="query",model="assistant"\} (\S+)$', metrics, re.M
    )
    assert counted is not None
    assert float(counted.group(1)) == 2
