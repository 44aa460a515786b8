import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import jinja2
import pytest
from flama.llm.decoder import spec_by_name
from flama.llm.events import BlockDelta, BlockStart, BlockStop
from flama.llm.exceptions import InvalidParameter, InvalidRequest, QueueFull
from flama.llm.generation import Block, Finish, Pipeline, Usage, collect
from flama.llm.prompts import Chat, Conversation, Prompt, Raw

from tests.llm.doubles import ScriptedBackend, scripted


def pipeline(
    *pieces: str, finish: str = "stop", spec: str = "qwen3", defaults: dict[str, Any] | None = None
) -> Pipeline:
    return Pipeline(scripted(*pieces, finish=finish)(), spec_by_name(spec), defaults)


async def run(
    gen: Pipeline,
    source: Prompt | None = None,
    params: dict[str, Any] | None = None,
    template: dict[str, Any] | None = None,
) -> list[Any]:
    prepared = gen.prepare(source or Raw("a b c"), params or {}, template or {})
    return [event async for event in gen.run(prepared)]


def backend(gen: Pipeline) -> ScriptedBackend:
    assert isinstance(gen.backend, ScriptedBackend)
    return gen.backend


def _strip(events: list[Any]) -> list[Any]:
    # Timings vary; everything else is exact.
    return [(e.stop_reason, e.usage) if isinstance(e, Finish) else e for e in events]


class TestCasePipeline:
    async def test_text(self):
        events = await run(pipeline("Good", " day", "!"))
        assert _strip(events) == [
            BlockStart(0, "text"),
            BlockDelta(0, "Good"),
            BlockDelta(0, " day"),
            BlockDelta(0, "!"),
            BlockStop(0),
            ("end", Usage(3, 3)),
        ]

    async def test_thinking_and_text(self):
        completion = await collect(await _aiter(await run(pipeline("<think>", "hmm", "</think>", "Yes"))))
        assert completion.blocks == [Block("thinking", "hmm"), Block("text", "Yes")]
        assert completion.finish.stop_reason == "end"
        assert completion.finish.usage == Usage(3, 4)

    async def test_tool_call(self):
        pieces = ("<tool_call>", '{"name": "weather", ', '"arguments": {"city": "Paris"}}', "</tool_call>")
        completion = await collect(await _aiter(await run(pipeline(*pieces))))
        assert len(completion.blocks) == 1
        block = completion.blocks[0].to_dict()
        assert block["type"] == "tool_call"
        assert block["name"] == "weather"
        assert block["arguments"] == {"city": "Paris"}
        assert completion.finish.stop_reason == "tool_use"

    async def test_stop_sequence_across_deltas(self):
        gen = pipeline("on", "eEN", "D two", " three", spec="plain")
        events = await run(gen, params={"stop": ["END"]})
        text = "".join(e.text for e in events if isinstance(e, BlockDelta))
        assert text == "one"
        finish = events[-1]
        assert isinstance(finish, Finish)
        assert (finish.stop_reason, finish.usage) == ("stop_sequence", Usage(3, 3))
        # The backend never saw the stop sequences, and its iterator was closed when one was met.
        assert backend(gen).calls[0][1].stop == ()
        assert backend(gen).closed == 1

    async def test_held_text_is_flushed(self):
        events = await run(pipeline("a", "EN"), params={"stop": ["END"]})
        assert "".join(e.text for e in events if isinstance(e, BlockDelta)) == "aEN"
        assert events[-1].stop_reason == "end"

    async def test_length(self):
        events = await run(pipeline("a", "b", "c"), params={"max_tokens": 2})
        assert _strip(events)[-1] == ("length", Usage(3, 2))

    async def test_max_tokens_defaults_to_the_context_left(self):
        gen = pipeline("a")
        await run(gen, Raw("one two three four"))
        assert backend(gen).calls[0][1].max_tokens == 256 - 4

    async def test_defaults_apply_under_request_params(self):
        gen = pipeline("a", defaults={"temperature": 0.5, "seed": 3})
        await run(gen, params={"seed": 7})
        params = backend(gen).calls[0][1]
        assert (params.temperature, params.seed) == (0.5, 7)

    async def test_chat_renders_with_template_kwargs(self):
        gen = pipeline("a")
        await run(gen, Chat("hi", "sys"), template={"enable_thinking": False})
        assert backend(gen).calls[0][0] == 5
        assert backend(gen).rendered[0]["messages"] == [
            {"role": "system", "content": "sys"},
            {"role": "user", "content": "hi"},
        ]
        assert backend(gen).rendered[0]["enable_thinking"] is False

    async def test_closing_stops_the_backend(self):
        gen = pipeline("a", "b", "c")
        stream = gen.run(gen.prepare(Raw("x"), {}, {}))
        assert await stream.__anext__() == BlockStart(0, "text")
        await stream.aclose()
        assert backend(gen).closed == 1
        assert backend(gen).completed == 0


class TestCasePipelineErrors:
    @pytest.mark.parametrize(
        ("params", "message"),
        [
            pytest.param(
                {"top_k": 3}, "Invalid parameter 'top_k': not supported by the scripted backend", id="unsupported"
            ),
            pytest.param({"temperature": -1}, "Invalid parameter 'temperature'", id="invalid"),
            pytest.param(
                {"max_tokens": 300}, "Invalid parameter 'max_tokens': 300 exceeds the 253 tokens left", id="too-many"
            ),
        ],
    )
    def test_bad_params(self, params, message):
        gen = pipeline("a")
        with pytest.raises(InvalidParameter, match=message):
            gen.prepare(Raw("a b c"), params, {})

    def test_prompt_fills_the_context(self):
        gen = pipeline("a")
        with pytest.raises(InvalidRequest, match="prompt: takes 256 tokens; the model's context holds 256"):
            gen.prepare(Raw(" ".join(["w"] * 256)), {}, {})

    def test_bad_defaults(self):
        with pytest.raises(InvalidParameter, match="'top_k'"):
            pipeline("a", defaults={"top_k": 1})

    async def test_collect_needs_a_finish(self):
        with pytest.raises(RuntimeError, match="the generation ended without a finish"):
            await collect(await _aiter([BlockStart(0, "text")]))


async def _aiter(items: list[Any]) -> AsyncIterator[Any]:
    async def iterate() -> AsyncIterator[Any]:
        for item in items:
            yield item

    return iterate()


class TestCaseTemplateErrors:
    @pytest.mark.parametrize(
        ("error", "source", "message"),
        [
            pytest.param(
                ValueError("The model has no chat template; send a raw prompt instead"),
                Chat("hi"),
                "message: The model has no chat template; send a raw prompt instead",
                id="no-template",
            ),
            pytest.param(
                jinja2.TemplateError("Conversation roles must alternate"),
                Conversation(({"role": "user", "content": "a"}, {"role": "user", "content": "b"})),
                "messages: Conversation roles must alternate",
                id="template-refuses",
            ),
        ],
    )
    def test_render_errors_are_bad_requests(self, monkeypatch, error, source, message):
        gen = pipeline("a")

        def render(*args: Any, **kwargs: Any) -> str:
            raise error

        monkeypatch.setattr(gen.backend, "render", render)
        with pytest.raises(InvalidRequest, match=f"^{message}$"):
            gen.prepare(source, {}, {})


class Encoder:
    """Counts a backend's encodes, the threads they ran in and how many ran at once (each takes ``seconds``)."""

    def __init__(self, encode: Callable[[str], list[int]], seconds: float = 0.0) -> None:
        self.encode = encode
        self.seconds = seconds
        self.threads: list[int] = []
        self.running = self.most = 0
        self._lock = threading.Lock()

    def __call__(self, text: str) -> list[int]:
        with self._lock:
            self.threads.append(threading.get_ident())
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(self.seconds)
        with self._lock:
            self.running -= 1
        return self.encode(text)


def encoder(gen: Pipeline, seconds: float = 0.0) -> Encoder:
    counted = Encoder(gen.backend.encode, seconds)
    gen.backend.encode = counted  # type: ignore[method-assign]
    return counted


class TestCasePrepareAsync:
    LONG = Raw(" ".join(["w"] * 40))  # 79 characters, 40 tokens

    async def test_a_long_prompt_is_prepared_in_a_worker_thread(self):
        gen = Pipeline(scripted("a")(), spec_by_name("plain"), offload_size=50)
        counted = encoder(gen)
        prepared = await gen.prepare_async(self.LONG, {}, {})
        assert counted.threads[0] != threading.get_ident()
        assert (prepared.input_tokens, prepared.ids) == (40, list(range(40)))

    async def test_a_short_prompt_is_prepared_right_away(self):
        gen = Pipeline(scripted("a")(), spec_by_name("plain"), offload_size=79)
        counted = encoder(gen)
        await gen.prepare_async(self.LONG, {}, {})
        assert counted.threads == [threading.get_ident()]

    async def test_offload_turned_off(self):
        gen = Pipeline(scripted("a")(), spec_by_name("plain"), offload_size=None)
        counted = encoder(gen)
        await gen.prepare_async(self.LONG, {}, {})
        assert counted.threads == [threading.get_ident()]

    async def test_long_prompts_are_prepared_one_at_a_time(self):
        gen = Pipeline(scripted("a")(), spec_by_name("plain"), offload_size=10)
        counted = encoder(gen, seconds=0.02)
        prompts = [Raw(f"{number} {self.LONG.prompt}") for number in range(4)]
        prepared = await asyncio.gather(*(gen.prepare_async(prompt, {}, {}) for prompt in prompts))
        assert [item.prompt for item in prepared] == [prompt.prompt for prompt in prompts]
        assert (len(counted.threads), counted.most) == (4, 1)

    async def test_errors_are_raised_as_prepare_raises_them(self):
        gen = Pipeline(scripted("a")(), spec_by_name("plain"), offload_size=10)
        with pytest.raises(InvalidRequest, match="takes 300 tokens"):
            await gen.prepare_async(Raw(" ".join(["w"] * 300)), {}, {})

    async def test_the_prepared_ids_are_what_runs(self):
        gen = pipeline("x", "y")
        counted = encoder(gen)
        events = await run(gen, Raw("a b c d"))
        # Encoded once, by `prepare`; the backend runs the ids it was handed.
        assert len(counted.threads) == 1
        assert backend(gen).calls[0][0] == 4
        assert isinstance(events[-1], Finish)

    def test_choices_of_one_prompt_encode_it_once_and_an_oversized_prompt_is_not_kept(self):
        gen = pipeline("x")
        counted = encoder(gen)
        first, again = gen.prepare(Raw("a b c"), {"seed": 1}, {}), gen.prepare(Raw("a b c"), {"seed": 2}, {})
        assert (first.ids, again.ids, len(counted.threads)) == ([0, 1, 2], [0, 1, 2], 1)
        with pytest.raises(InvalidRequest, match="takes 300 tokens"):
            gen.prepare(Raw(" ".join(["w"] * 300)), {}, {})
        # The prompt that fits is still the one kept; the one that did not fit was dropped.
        assert gen.prepare(Raw("a b c"), {}, {}).ids == [0, 1, 2]
        assert len(counted.threads) == 2

    async def test_long_prompts_beyond_the_queue_are_turned_away(self):
        gen = Pipeline(scripted("a")(), spec_by_name("plain"), offload_size=10, offload_queue=1)
        opened = threading.Event()
        counted = encoder(gen)
        encode = counted.encode
        counted.encode = lambda text: (len(text) > 10 and opened.wait(10), encode(text))[1]
        first = asyncio.create_task(gen.prepare_async(Raw(f"1 {self.LONG.prompt}"), {}, {}))
        second = asyncio.create_task(gen.prepare_async(Raw(f"2 {self.LONG.prompt}"), {}, {}))
        while not counted.threads:  # the first one is in the worker thread, the second waits its turn
            await asyncio.sleep(0.001)
        with pytest.raises(QueueFull) as refused:
            await gen.prepare_async(self.LONG, {}, {})
        assert refused.value.retry_after == Pipeline.FIRST_OFFLOAD_GUESS * 2  # nothing timed yet: the guess, per place
        assert gen.prepare(Raw("short"), {}, {}).input_tokens == 1  # a short prompt does not queue
        opened.set()
        assert [item.input_tokens for item in await asyncio.gather(first, second)] == [41, 41]
        assert len(counted.threads) == 3  # the two long prompts and the short one; never the refused one
        again = await gen.prepare_async(self.LONG, {}, {})  # the line is empty again
        assert again.input_tokens == 40

    async def test_retry_after_follows_the_last_long_prompt(self):
        gen = Pipeline(scripted("a")(), spec_by_name("plain"), offload_size=10, offload_queue=0)
        encoder(gen, seconds=0.05)
        await gen.prepare_async(self.LONG, {}, {})
        held = asyncio.create_task(gen.prepare_async(self.LONG, {}, {}))
        await asyncio.sleep(0)  # the held one takes its place in the line
        with pytest.raises(QueueFull) as refused:
            await gen.prepare_async(self.LONG, {}, {})
        await held
        assert 0.05 <= refused.value.retry_after < Pipeline.FIRST_OFFLOAD_GUESS

    async def test_an_unbounded_queue(self):
        gen = Pipeline(scripted("a")(), spec_by_name("plain"), offload_size=10, offload_queue=None)
        counted = encoder(gen, seconds=0.01)
        prompts = [Raw(f"{number} {self.LONG.prompt}") for number in range(12)]
        await asyncio.gather(*(gen.prepare_async(prompt, {}, {}) for prompt in prompts))
        assert (len(counted.threads), counted.most) == (12, 1)

    def test_negative_limits_are_refused(self):
        with pytest.raises(ValueError, match="offload_size must be a non-negative number of characters, got -1"):
            Pipeline(scripted("a")(), spec_by_name("plain"), offload_size=-1)
        with pytest.raises(ValueError, match="offload_queue must be a non-negative number of prompts, got -1"):
            Pipeline(scripted("a")(), spec_by_name("plain"), offload_queue=-1)


class TestCasePromptSize:
    def test_sizes(self):
        assert Raw("abc").size == 3
        assert Chat("hello", system="be brief").size == 13
        tool = {"type": "function", "function": {"name": "weather", "parameters": {"city": {"type": "string"}}}}
        assert Chat("hi", tools=(tool,)).size == 2 + len("function") + len("weather") + len("string")
        messages = (
            {"role": "user", "content": "abcd"},
            {"role": "assistant", "content": None, "tool_calls": [{"function": {"name": "f", "arguments": {"x": 1}}}]},
            {"role": "tool", "content": [{"type": "text", "text": "ok"}]},
        )
        assert Conversation(messages).size == len("user" + "abcd" + "assistant" + "f" + "tool" + "text" + "ok")
