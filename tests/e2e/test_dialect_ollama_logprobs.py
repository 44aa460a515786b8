"""Ollama's ``logprobs`` and ``top_logprobs`` through the official ``ollama`` SDK, on MLX and transformers."""

import math
from collections.abc import Sequence
from typing import Any

import ollama
import pytest
from ollama._types import Logprob

from tests.e2e.dialects import BACKENDS, CONVERSATIONS, serve

MODEL = "assistant"
PLAIN = CONVERSATIONS["plain"]
GREEDY = {"temperature": 0}


def check(tokens: Sequence[Logprob], top: int, text: str) -> None:
    """Every generated token but the end of sequence, spelling the answer; at temperature 0 the first alternative."""
    assert "".join(token.token for token in tokens) == text
    for token in tokens:
        assert token.logprob <= 0
        alternatives = token.top_logprobs or []
        assert len(alternatives) == top
        values = [alternative.logprob for alternative in alternatives]
        assert values == sorted(values, reverse=True)
        if top:
            assert alternatives[0].token == token.token
            assert math.isclose(alternatives[0].logprob, token.logprob, abs_tol=1e-4)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_logprobs(server_factory, backend):
    url, _ = await serve(server_factory, backend)
    client = ollama.AsyncClient(host=f"{url}/llm/ollama")
    try:
        await check_logprobs(client)
    finally:
        await client.close()  # type: ignore[no-untyped-call]  # the SDK leaves it untyped


async def check_logprobs(client: ollama.AsyncClient) -> None:
    messages: Any = PLAIN["messages"]

    answer = await client.chat(
        model=MODEL, messages=messages, stream=False, options=GREEDY, logprobs=True, top_logprobs=3, think=False
    )
    assert answer.message.content == PLAIN["reply"]
    assert answer.logprobs is not None
    check(answer.logprobs, 3, PLAIN["reply"])

    # Streamed: each frame carries the tokens generated since the previous one.
    streamed: list[Logprob] = []
    text = ""
    async for frame in await client.chat(
        model=MODEL, messages=messages, stream=True, options=GREEDY, logprobs=True, top_logprobs=3, think=False
    ):
        text += frame.message.content or ""
        streamed += frame.logprobs or []
    assert text == PLAIN["reply"]
    assert [token.token for token in streamed] == [token.token for token in answer.logprobs]

    generated = await client.generate(
        model=MODEL, prompt=PLAIN["prompt"], raw=True, stream=False, options=GREEDY, logprobs=True
    )
    assert generated.logprobs is not None
    check(generated.logprobs, 0, generated.response or "")

    # Not asked for, none come; top_logprobs alone is refused.
    plain = await client.chat(model=MODEL, messages=messages, stream=False, options=GREEDY)
    assert plain.logprobs is None
    with pytest.raises(ollama.ResponseError) as raised:
        await client.chat(model=MODEL, messages=messages, stream=False, top_logprobs=2)
    assert raised.value.status_code == 400
    assert "top_logprobs" in raised.value.error
    with pytest.raises(ollama.ResponseError) as raised:
        await client.chat(model=MODEL, messages=messages, stream=False, logprobs=True, top_logprobs=21)
    assert raised.value.status_code == 400
