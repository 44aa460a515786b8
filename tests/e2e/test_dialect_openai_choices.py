"""``n`` choices and log probabilities through the official ``openai`` SDK on MLX and transformers, over loopback."""

import math
from collections import defaultdict
from typing import Any

import openai
import pytest
from flama.llm.resource import LLMResource
from openai.types.chat import ChatCompletion, ChatCompletionTokenLogprob

from tests.e2e.dialects import BACKENDS, CONVERSATIONS, eos_ban, expected_usage, serve

MODEL = "assistant"
PLAIN = CONVERSATIONS["plain"]
QUESTION: Any = PLAIN["messages"]


def client_of(url: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{url}/llm/openai/v1", api_key="unused", timeout=120, max_retries=0)


def check_logprobs(tokens: list[ChatCompletionTokenLogprob], top: int) -> None:
    """At temperature 0 the token chosen is the most likely one; alternatives come most likely first."""
    assert tokens
    for token in tokens:
        assert token.logprob <= 0
        assert token.bytes == list(token.token.encode())
        assert len(token.top_logprobs) == top
        values = [alternative.logprob for alternative in token.top_logprobs]
        assert values == sorted(values, reverse=True)
        assert token.top_logprobs[0].token == token.token
        assert math.isclose(token.top_logprobs[0].logprob, token.logprob, abs_tol=1e-4)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_choices_and_logprobs(server_factory, backend):
    url, resource = await serve(server_factory, backend)
    async with client_of(url) as client:
        await check_chat_choices(client, resource)
        await check_seeds(client, resource)
        await check_completion_choices(client)
        await check_chat_logprobs(client)
        await check_completion_logprobs(client)
        await check_refusals(client)


async def check_chat_choices(client: openai.AsyncOpenAI, resource: LLMResource) -> None:
    prompt_tokens, completion_tokens = await expected_usage(resource, PLAIN)

    # Buffered: three choices, each with its index and finish reason; usage counts the prompt once.
    answer = await client.chat.completions.create(model=MODEL, messages=QUESTION, n=3, temperature=0)
    assert [choice.index for choice in answer.choices] == [0, 1, 2]
    assert [choice.message.content for choice in answer.choices] == [PLAIN["reply"]] * 3
    assert [choice.finish_reason for choice in answer.choices] == ["stop"] * 3
    assert answer.usage is not None
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (prompt_tokens, 3 * completion_tokens)
    assert answer.usage.total_tokens == prompt_tokens + 3 * completion_tokens

    # Streamed: chunks of the three choices, each ending with its own finish reason, then the summed usage.
    stream = await client.chat.completions.create(
        model=MODEL, messages=QUESTION, n=3, temperature=0, stream=True, stream_options={"include_usage": True}
    )
    texts: dict[int, str] = defaultdict(str)
    finishes: dict[int, list[str]] = defaultdict(list)
    chunks = [chunk async for chunk in stream]
    for chunk in chunks:
        for choice in chunk.choices:
            texts[choice.index] += choice.delta.content or ""
            if choice.finish_reason is not None:
                finishes[choice.index].append(choice.finish_reason)
    assert dict(texts) == {0: PLAIN["reply"], 1: PLAIN["reply"], 2: PLAIN["reply"]}
    assert dict(finishes) == {0: ["stop"], 1: ["stop"], 2: ["stop"]}
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (
        prompt_tokens,
        3 * completion_tokens,
    )

    # The SDK's streaming helper assembles the same three choices as the buffered answer.
    async with client.chat.completions.stream(model=MODEL, messages=QUESTION, n=3, temperature=0) as helper:
        final = await helper.get_final_completion()
    assert [choice.message.content for choice in final.choices] == [PLAIN["reply"]] * 3

    # Length-limited choices end with "length", each on its own.
    limited = await client.chat.completions.create(
        model=MODEL, messages=QUESTION, n=2, temperature=0, max_tokens=3, logit_bias=eos_ban(resource)
    )
    assert [choice.finish_reason for choice in limited.choices] == ["length", "length"]
    assert limited.usage is not None
    assert limited.usage.completion_tokens == 6


async def check_seeds(client: openai.AsyncOpenAI, resource: LLMResource) -> None:
    # Choice i of a request with seed s is drawn with seed s + i: the choice 0 of a request with that seed.
    options: Any = {"model": MODEL, "messages": QUESTION, "temperature": 1.0, "max_tokens": 12}
    options["logit_bias"] = eos_ban(resource)
    three = await client.chat.completions.create(n=3, seed=40, **options)
    again = await client.chat.completions.create(n=3, seed=40, **options)
    contents = [choice.message.content for choice in three.choices]
    assert contents == [choice.message.content for choice in again.choices]
    for index in range(3):
        alone = await client.chat.completions.create(n=1, seed=40 + index, **options)
        assert alone.choices[0].message.content == contents[index]
    assert len(set(contents)) > 1, "sampled choices with different seeds should differ"


async def check_completion_choices(client: openai.AsyncOpenAI) -> None:
    prompt = PLAIN["prompt"]
    answer = await client.completions.create(model=MODEL, prompt=prompt, n=2, temperature=0, max_tokens=64)
    assert [(choice.index, choice.text, choice.finish_reason) for choice in answer.choices] == [
        (0, PLAIN["reply"], "stop"),
        (1, PLAIN["reply"], "stop"),
    ]
    stream = await client.completions.create(
        model=MODEL,
        prompt=prompt,
        n=2,
        temperature=0,
        max_tokens=64,
        stream=True,
        stream_options={"include_usage": True},
    )
    texts: dict[int, str] = defaultdict(str)
    usage = None
    async for chunk in stream:
        for choice in chunk.choices:
            texts[choice.index] += choice.text
        usage = chunk.usage or usage
    assert dict(texts) == {0: PLAIN["reply"], 1: PLAIN["reply"]}
    assert answer.usage is not None
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == (
        answer.usage.prompt_tokens,
        answer.usage.completion_tokens,
    )


async def check_chat_logprobs(client: openai.AsyncOpenAI) -> None:
    answer: ChatCompletion = await client.chat.completions.create(
        model=MODEL, messages=QUESTION, temperature=0, logprobs=True, top_logprobs=3
    )
    logprobs = answer.choices[0].logprobs
    assert logprobs is not None
    assert logprobs.content is not None
    check_logprobs(logprobs.content, 3)
    # Every generated token but the end of sequence: together they spell the answer.
    assert "".join(token.token for token in logprobs.content) == answer.choices[0].message.content

    # Streamed: the chunks' tokens add up to the buffered ones.
    stream = await client.chat.completions.create(
        model=MODEL, messages=QUESTION, temperature=0, logprobs=True, top_logprobs=3, stream=True
    )
    streamed: list[ChatCompletionTokenLogprob] = []
    async for chunk in stream:
        for choice in chunk.choices:
            if choice.logprobs is not None and choice.logprobs.content:
                streamed += choice.logprobs.content
    assert [token.token for token in streamed] == [token.token for token in logprobs.content]
    for mine, theirs in zip(streamed, logprobs.content, strict=True):
        assert math.isclose(mine.logprob, theirs.logprob, abs_tol=1e-4)

    # The SDK's helper gathers them as well, choice by choice; logprobs without top_logprobs lists no alternatives.
    async with client.chat.completions.stream(
        model=MODEL, messages=QUESTION, temperature=0, logprobs=True, n=2
    ) as helper:
        final = await helper.get_final_completion()
    for parsed in final.choices:
        assert parsed.logprobs is not None
        assert parsed.logprobs.content is not None
        assert [token.token for token in parsed.logprobs.content] == [token.token for token in logprobs.content]
        assert all(token.top_logprobs == [] for token in parsed.logprobs.content)

    # Asked for nothing, none come.
    plain = await client.chat.completions.create(model=MODEL, messages=QUESTION, temperature=0)
    assert plain.choices[0].logprobs is None


async def check_completion_logprobs(client: openai.AsyncOpenAI) -> None:
    answer = await client.completions.create(
        model=MODEL, prompt=PLAIN["prompt"], temperature=0, max_tokens=64, logprobs=2
    )
    logprobs = answer.choices[0].logprobs
    assert logprobs is not None
    assert logprobs.tokens is not None
    assert logprobs.token_logprobs is not None
    assert logprobs.top_logprobs is not None
    assert logprobs.text_offset is not None
    assert "".join(logprobs.tokens) == answer.choices[0].text
    offsets = [sum(len(token) for token in logprobs.tokens[:index]) for index in range(len(logprobs.tokens))]
    assert logprobs.text_offset == offsets
    for token, value, top in zip(logprobs.tokens, logprobs.token_logprobs, logprobs.top_logprobs, strict=True):
        assert len(top) == 2
        assert max(top, key=top.__getitem__) == token
        assert math.isclose(top[token], value, abs_tol=1e-4)

    stream = await client.completions.create(
        model=MODEL, prompt=PLAIN["prompt"], temperature=0, max_tokens=64, logprobs=2, stream=True
    )
    tokens: list[str] = []
    offsets_streamed: list[int] = []
    async for chunk in stream:
        for choice in chunk.choices:
            assert choice.logprobs is not None
            tokens += choice.logprobs.tokens or []
            offsets_streamed += choice.logprobs.text_offset or []
    assert tokens == logprobs.tokens
    assert offsets_streamed == logprobs.text_offset


async def check_refusals(client: openai.AsyncOpenAI) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"n": 0}, "n"),
        ({"n": 129}, "n"),
        ({"top_logprobs": 2}, "top_logprobs"),
        ({"logprobs": True, "top_logprobs": 21}, "top_logprobs"),
    ]
    for extra, param in cases:
        with pytest.raises(openai.BadRequestError) as caught:
            await client.chat.completions.create(model=MODEL, messages=QUESTION, **extra)
        assert isinstance(caught.value.body, dict)
        assert caught.value.body["param"] == param, extra
    with pytest.raises(openai.BadRequestError) as caught:
        await client.completions.create(model=MODEL, prompt="Hi", logprobs=21)
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["param"] == "logprobs"


@pytest.mark.parametrize("backend", BACKENDS)
async def test_choices_count_against_admission(server_factory, backend):
    # n generations take n scheduler slots: two choices do not fit one slot with no waiting place.
    url, _ = await serve(server_factory, backend, max_running=1, max_queued=0)
    async with client_of(url) as client:
        with pytest.raises(openai.RateLimitError):
            await client.chat.completions.create(model=MODEL, messages=QUESTION, n=2, temperature=0, max_tokens=4)
        one = await client.chat.completions.create(model=MODEL, messages=QUESTION, n=1, temperature=0)
        assert one.choices[0].message.content == PLAIN["reply"]
