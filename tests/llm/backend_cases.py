"""Behaviour every threaded backend shares: test_backend_mlx and test_backend_transformers run it."""

import asyncio
import threading
import weakref
from typing import Any, ClassVar

import pytest
from flama.llm.backends import Backend, Delta, GenerationParams
from flama.llm.backends.batching import BatchedBackend
from flama.llm.exceptions import InvalidParameter

from examples.models import build_demo_model


class Probe:
    """Wraps a backend's batch `step`: records which rows made a token at each step, can script the tokens, and can
    hold each step for a permit.

    With ``permits`` set, the worker takes one permit after each step that handed tokens over and before the next.
    """

    def __init__(self, step: Any) -> None:
        self.original = step
        self.made = 0
        self.rounds: list[list[int]] = []
        self.script: list[int] | None = None
        self.permits: threading.Semaphore | None = None
        self.holding = threading.Event()
        """Set while the worker waits for a permit (the generations that arrived by then have joined)."""
        self.ticked: threading.Event | None = None
        self._scripted: dict[int, int] = {}

    def step(self) -> list[tuple[int, int]]:
        if self.rounds and self.rounds[-1]:
            if self.permits is not None:
                self.holding.set()
                acquired = self.permits.acquire(timeout=30)
                self.holding.clear()
                if not acquired:
                    raise RuntimeError("no permit for the next step")
            if self.ticked is not None:
                # The next step waits for the event loop to run a task: it would wait forever if the loop were
                # blocked by the generation.
                if not self.ticked.wait(timeout=30):
                    raise RuntimeError("the event loop did not run during the step")
                self.ticked.clear()
        produced: list[tuple[int, int]] = self.original()
        if self.script is not None:
            script = self.script
            produced = [(key, script[self._next(key)]) for key, _ in produced]
        self.made += len(produced)
        self.rounds.append([key for key, _ in produced])
        return produced

    def _next(self, key: int) -> int:
        index = self._scripted.get(key, 0)
        self._scripted[key] = index + 1
        return index


_ENCODED: "weakref.WeakKeyDictionary[Backend, dict[str, list[int]]]" = weakref.WeakKeyDictionary()


async def collect(backend: Backend, prompt: str, **values: Any) -> list[Delta]:
    # Token ids come encoded, as `Pipeline.prepare` hands them over, and once per prompt: the tokenizer lets the worker
    # run while it works, so generations gathered together would otherwise reach the batch in separate steps.
    encoded = _ENCODED.setdefault(backend, {})
    if prompt not in encoded:
        encoded[prompt] = backend.encode(prompt)
    return [
        delta async for delta in backend.generate(prompt, GenerationParams.parse(values), ids=list(encoded[prompt]))
    ]


async def idle(backend: BatchedBackend) -> None:
    """Wait until the backend's batch is empty (the worker then waits for work)."""
    while backend.running:
        await asyncio.sleep(0.005)


class BackendCases:
    """Tests for one `BatchedBackend` subclass, set as ``backend_class`` by the test class that inherits these."""

    backend_class: ClassVar[type[BatchedBackend]]

    @pytest.fixture(scope="class")
    @classmethod
    def model_dir(cls, tmp_path_factory):
        """The demo model's architecture and tokenizer with random weights: replies of any length, no early end."""
        return build_demo_model.build(tmp_path_factory.mktemp("backend") / "model", trained=False)

    @pytest.fixture(scope="class")
    @classmethod
    def backend(cls, model_dir):
        """The backend over random weights, each token's text handed on alone (these tests count steps)."""
        backend = asyncio.run(cls.backend_class.load(model_dir, delta_interval=0))
        yield backend
        asyncio.run(backend.close())

    @pytest.fixture(scope="class")
    @classmethod
    def trained(cls, demo_model_dir):
        """The demo model as trained: greedy decoding gives the expected replies (deltas as they are made)."""
        backend = asyncio.run(cls.backend_class.load(demo_model_dir, delta_interval=0))
        yield backend
        asyncio.run(backend.close())

    @pytest.fixture
    def probe(self, backend, monkeypatch):
        probe = Probe(backend.batch.step)
        monkeypatch.setattr(backend.batch, "step", probe.step)
        return probe

    @pytest.fixture
    def prompt(self, backend):
        return backend.render([{"role": "user", "content": "Hello"}])

    @pytest.fixture
    def eos(self, backend):
        return backend.tokenizer.eos_token_id

    @pytest.fixture
    def flama(self, backend):
        """The token " Flama": forced by a strong bias, every step gives one delta."""
        (token,) = backend.tokenizer.encode(" Flama", add_special_tokens=False)
        return token

    @pytest.fixture
    async def reference(self, backend, prompt, eos):
        """The greedy reply of 24 tokens (end of sequence banned), as deltas."""
        return await collect(backend, prompt, temperature=0, max_tokens=24, logit_bias={eos: -100})

    def test_tokenizer(self, backend, prompt):
        assert prompt == "<|begin|>user\nHello<|end|>\n<|begin|>assistant\n"
        assert backend.tokenizer_template == build_demo_model.CHAT_TEMPLATE
        assert backend.special_tokens == [
            "<|pad|>",
            "<|begin|>",
            "<|end|>",
            "<think>",
            "</think>",
            "<tool_call>",
            "</tool_call>",
        ]
        assert backend.context_length == build_demo_model.Architecture().max_position_embeddings
        assert backend.count_tokens(prompt) == len(backend.tokenizer.encode(prompt, add_special_tokens=False))

    @pytest.mark.parametrize(
        "text",
        ["", "Hello", " leading and trailing spaces ", "<|begin|>user\nwhy?<|end|>\n<think>", "naïve café 🦙 \t\r\n x"],
    )
    async def test_encode_matches_the_tokenizer(self, backend, text):
        tokenizer = backend.tokenizer
        for case in (text, f"{tokenizer.bos_token}{text}" if tokenizer.bos_token else text):
            bos = tokenizer.bos_token is None or not case.startswith(tokenizer.bos_token)
            assert backend.encode(case) == tokenizer.encode(case, add_special_tokens=bos)

    async def test_greedy(self, backend, prompt, eos, reference):
        again = await collect(backend, prompt, temperature=0, max_tokens=24, logit_bias={eos: -100})

        assert again == reference
        assert sum(delta.tokens for delta in reference) == 24
        assert [delta.finish_reason for delta in reference] == [None] * (len(reference) - 1) + ["length"]

    async def test_end_of_sequence(self, backend, prompt, eos):
        assert await collect(backend, prompt, logit_bias={eos: 100}) == [Delta("", 1, "stop")]

    async def test_logit_bias_forces_a_token(self, backend, prompt, flama):
        deltas = await collect(backend, prompt, max_tokens=5, logit_bias={flama: 100}, seed=1)

        assert deltas == [Delta(" Flama", 1)] * 4 + [Delta(" Flama", 1, "length")]

    async def test_seed(self, backend, prompt, eos):
        def text(deltas: list[Delta]) -> str:
            return "".join(delta.text for delta in deltas)

        values = {"temperature": 1.5, "max_tokens": 16, "logit_bias": {eos: -100}}
        first = await collect(backend, prompt, seed=3, **values)
        second = await collect(backend, prompt, seed=3, **values)
        other = await collect(backend, prompt, seed=4, **values)

        assert first == second
        assert text(first) != text(other)

    @pytest.mark.parametrize(
        "values",
        [
            pytest.param({"top_k": 1}, id="top_k"),
            pytest.param({"top_p": 1e-6}, id="top_p"),
            pytest.param({"min_p": 1.0}, id="min_p"),
        ],
    )
    async def test_filters_down_to_greedy(self, backend, prompt, eos, reference, values):
        deltas = await collect(backend, prompt, max_tokens=24, logit_bias={eos: -100}, seed=5, **values)

        assert deltas == reference

    async def test_penalties_change_the_reply(self, backend, prompt, eos, reference):
        def text(deltas: list[Delta]) -> str:
            return "".join(delta.text for delta in deltas)

        for values in ({"repetition_penalty": 5.0}, {"frequency_penalty": 2.0}, {"presence_penalty": 2.0}):
            deltas = await collect(backend, prompt, temperature=0, max_tokens=24, logit_bias={eos: -100}, **values)

            assert text(deltas) != text(reference), values

    @pytest.mark.parametrize(
        ("stops", "text"),
        [
            pytest.param(["tiny demo"], "Hello! I am the ", id="across-tokens"),
            pytest.param(["zzz", "am t"], "Hello! I ", id="second-of-two"),
            pytest.param(["Flama."], "Hello! I am the tiny demo assistant of ", id="at-the-end"),
        ],
    )
    async def test_stop_sequences(self, trained, demo_expectations, stops, text):
        expected = demo_expectations["plain"]
        prompt = trained.render(expected["messages"], **expected["template_kwargs"])
        reply = trained.tokenizer.encode(expected["reply"], add_special_tokens=False)
        # The tokens generated until the stop sequence is complete.
        tokens = next(
            n for n in range(1, len(reply) + 1) if any(s in trained.tokenizer.decode(reply[:n]) for s in stops)
        )

        deltas = await collect(trained, prompt, temperature=0, stop=stops)

        assert "".join(delta.text for delta in deltas) == text
        assert sum(delta.tokens for delta in deltas) == tokens
        assert [delta.finish_reason for delta in deltas] == [None] * (len(deltas) - 1) + ["stop"]

    async def test_split_characters(self, backend, prompt, probe):
        text = "Flama: café, 日本語 ✓"
        probe.script = backend.tokenizer.encode(text, add_special_tokens=False)
        assert len(probe.script) > len(text)  # multi-byte characters span tokens

        deltas = await collect(backend, prompt, max_tokens=len(probe.script))

        assert "".join(delta.text for delta in deltas) == text
        assert all("\ufffd" not in delta.text for delta in deltas)
        assert sum(delta.tokens for delta in deltas) == len(probe.script)
        assert any(delta.tokens > 1 for delta in deltas)

    async def test_max_tokens_default_is_the_context_left(self, backend, prompt, eos, monkeypatch):
        monkeypatch.setattr(backend, "context_length", backend.count_tokens(prompt) + 7)

        deltas = await collect(backend, prompt, logit_bias={eos: -100})

        assert sum(delta.tokens for delta in deltas) == 7
        assert deltas[-1].finish_reason == "length"

    async def test_max_tokens_over_the_context(self, backend, prompt):
        size, context = backend.count_tokens(prompt), backend.context_length

        with pytest.raises(InvalidParameter) as error:
            await collect(backend, prompt, max_tokens=context)

        assert error.value.name == "max_tokens"
        assert error.value.reason == (
            f"{context} do not fit: the prompt takes {size} of the model's {context}-token context, "
            f"leaving {context - size}"
        )

    async def test_prompt_over_the_context(self, backend):
        prompt = " Flama" * backend.context_length

        with pytest.raises(InvalidParameter) as error:
            await collect(backend, prompt)

        assert error.value.name == "prompt"
        assert error.value.reason == (
            f"takes {backend.context_length} tokens; the model's context holds {backend.context_length}"
        )

    async def test_unsupported_parameter(self, backend, prompt, monkeypatch):
        monkeypatch.setattr(type(backend), "supported", frozenset({"max_tokens", "temperature"}))

        with pytest.raises(InvalidParameter) as error:
            backend.generate(prompt, GenerationParams(temperature=0.5, seed=1))

        assert (error.value.name, error.value.reason) == ("seed", f"not supported by the {backend.name} backend")

    async def test_logit_bias_outside_the_vocabulary(self, backend, prompt):
        size = len(backend.tokenizer)

        with pytest.raises(InvalidParameter) as error:
            backend.generate(prompt, GenerationParams(logit_bias={size: 1.0}))

        assert (error.value.name, error.value.reason) == (
            "logit_bias",
            f"token id {size} is not in the vocabulary (size {size})",
        )

    async def test_event_loop_runs_during_generation(self, backend, prompt, eos, probe):
        probe.ticked = threading.Event()
        done = False
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while not done:
                probe.ticked.set()
                ticks += 1
                await asyncio.sleep(0.001)

        ticker = asyncio.create_task(tick())
        try:
            deltas = await collect(backend, prompt, temperature=0, max_tokens=12, logit_bias={eos: -100})
        finally:
            done = True
            await ticker

        assert sum(delta.tokens for delta in deltas) == 12
        assert ticks >= 11

    async def test_close_stops_generation(self, backend, prompt, flama, probe):
        probe.permits = threading.Semaphore(0)
        stream = backend.generate(prompt, GenerationParams(max_tokens=100, logit_bias={flama: 100.0}))
        for _ in range(3):
            await anext(stream)
            probe.permits.release()
        await stream.aclose()
        made = probe.made

        probe.permits.release(100)
        await idle(backend)

        assert 3 <= made <= 4
        assert probe.made - made <= 1

    async def test_cancel_stops_generation(self, backend, prompt, flama, probe):
        probe.permits = threading.Semaphore(0)
        received: list[Delta] = []

        async def consume() -> None:
            async for delta in backend.generate(prompt, GenerationParams(max_tokens=100, logit_bias={flama: 100.0})):
                received.append(delta)
                probe.permits.release()

        task = asyncio.create_task(consume())
        while len(received) < 3:
            await asyncio.sleep(0.001)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        made = probe.made

        probe.permits.release(100)
        await idle(backend)

        assert probe.made - made <= 1
        assert probe.made < 10

    async def test_concurrent_generations(self, backend, prompt, eos, reference):
        values = {"temperature": 0, "max_tokens": 24, "logit_bias": {eos: -100}}

        results = await asyncio.gather(*(collect(backend, prompt, **values) for _ in range(3)))

        assert results == [reference] * 3

    async def test_worker_errors_reach_the_consumer(self, backend, prompt, probe):
        def broken() -> list[tuple[int, int]]:
            raise RuntimeError("the model broke")

        probe.original = broken

        with pytest.raises(RuntimeError, match=r"^the model broke$"):
            await collect(backend, prompt)

    @pytest.mark.parametrize(
        "conversation", ["plain", "system", "thinking", "no_thinking", "tool_call", "tool_result", "story"]
    )
    async def test_expected_replies(self, trained, demo_expectations, conversation):
        expected = demo_expectations[conversation]
        prompt = trained.render(expected["messages"], tools=expected["tools"], **expected["template_kwargs"])

        deltas = await collect(trained, prompt, temperature=0)

        assert prompt == expected["prompt"]
        assert "".join(delta.text for delta in deltas) == expected["reply"]
        assert deltas[-1].finish_reason == expected["finish_reason"]
        assert sum(delta.tokens for delta in deltas) == len(trained.encode(expected["reply"])) + 1

    async def test_tokens_made_within_the_delta_interval_travel_together(self, model_dir, reference, prompt, eos):
        # An interval far longer than the generation: the first delta alone, then the rest with the last one.
        held = await self.backend_class.load(model_dir, delta_interval=3600)
        try:
            deltas = await collect(held, prompt, temperature=0, max_tokens=24, logit_bias={eos: -100})
        finally:
            await held.close()

        assert len(deltas) == 2
        assert deltas[0] == reference[0]
        assert deltas[1].finish_reason == "length"
        assert "".join(delta.text for delta in deltas) == "".join(delta.text for delta in reference)
        assert sum(delta.tokens for delta in deltas) == sum(delta.tokens for delta in reference) == 24

    @pytest.mark.parametrize("interval", [-1, "soon"])
    async def test_a_bad_delta_interval_is_refused(self, model_dir, interval):
        with pytest.raises(TypeError, match="delta_interval"):
            await self.backend_class.load(model_dir, delta_interval=interval)

    async def test_a_failed_load_leaves_no_worker_behind(self, tmp_path):
        prefix = f"flama-llm-{self.backend_class.name}"

        def workers() -> int:
            return sum(thread.name.startswith(prefix) for thread in threading.enumerate())

        before = workers()
        with pytest.raises(Exception):  # noqa: B017, PT011 - each library fails an empty checkpoint in its own way
            await self.backend_class.load(tmp_path)

        for _ in range(500):
            if workers() == before:
                break
            await asyncio.sleep(0.01)
        assert workers() == before

    async def test_unknown_load_option(self, model_dir):
        with pytest.raises(TypeError, match=f"^Unknown option\\(s\\) of the {self.backend_class.name} backend: x$"):
            await self.backend_class.load(model_dir, x=1)

    async def test_batch_steps_every_generation_together(self, backend, prompt, eos, reference, probe):
        values = {"temperature": 0, "max_tokens": 24, "logit_bias": {eos: -100}}

        results = await asyncio.gather(*(collect(backend, prompt, **values) for _ in range(8)))

        # One step gave a token to each of the 8 generations: they ran at the same time, not one after another.
        assert max(len(keys) for keys in probe.rounds) == 8
        assert len(probe.rounds) < 2 * 24 + 8
        # Greedy output is the same alone and in a batch.
        assert results == [reference] * 8

    async def test_mixed_parameters_in_a_batch(self, backend, prompt, eos, flama, probe):
        requests: list[dict[str, Any]] = [
            {"temperature": 1.5, "seed": 3},
            {"temperature": 1.5, "seed": 4},
            {"temperature": 0.7, "top_k": 5, "seed": 5},
            {"temperature": 1.0, "top_p": 0.5, "min_p": 0.1, "seed": 6},
            {"temperature": 0, "repetition_penalty": 5.0},
            {"temperature": 0, "frequency_penalty": 2.0, "presence_penalty": 1.0},
            {"temperature": 0.9, "logit_bias": {flama: 100}, "seed": 7},
            {"temperature": 0, "stop": [" Flama"], "logit_bias": {flama: 5}},
        ]
        for values in requests:
            values["logit_bias"] = {eos: -100, **values.get("logit_bias", {})}
        alone = [await collect(backend, prompt, max_tokens=12, **values) for values in requests]

        together = await asyncio.gather(*(collect(backend, prompt, max_tokens=12, **values) for values in requests))

        assert max(len(keys) for keys in probe.rounds) == len(requests)
        assert together == alone
        assert len({"".join(delta.text for delta in deltas) for deltas in alone}) == len(requests)

    async def test_cancelling_one_leaves_the_others(self, backend, prompt, flama, reference, eos, probe):
        probe.permits = threading.Semaphore(0)
        doomed = backend.generate(prompt, GenerationParams(max_tokens=100, logit_bias={flama: 100.0}))
        others = [
            asyncio.create_task(collect(backend, prompt, temperature=0, max_tokens=24, logit_bias={eos: -100}))
            for _ in range(3)
        ]
        for _ in range(3):
            await anext(doomed)
            probe.permits.release()
        key = min(key for keys in probe.rounds for key in keys)  # the first to join: the doomed one
        await doomed.aclose()
        probe.permits.release(1000)

        results = await asyncio.gather(*others)

        assert results == [reference] * 3
        steps = [index for index, keys in enumerate(probe.rounds) if key in keys]
        # Once closed, the cancelled generation made at most the step under way.
        assert 3 <= len(steps) <= 5
        assert len(probe.rounds) > steps[-1] + 10

    async def test_expected_replies_in_a_batch(self, trained, demo_expectations):
        conversations = list(demo_expectations.values())

        async def reply(expected: dict[str, Any]) -> str:
            prompt = trained.render(expected["messages"], tools=expected["tools"], **expected["template_kwargs"])
            return "".join(delta.text for delta in await collect(trained, prompt, temperature=0))

        replies = await asyncio.gather(*(reply(expected) for expected in conversations))

        assert replies == [expected["reply"] for expected in conversations]

    async def test_second_turn_reuses_the_cached_prefix(self, trained, demo_expectations):
        expected = demo_expectations["plain"]
        first = trained.render(expected["messages"])
        deltas = await collect(trained, first, temperature=0)
        reply = "".join(delta.text for delta in deltas)
        turn = [*expected["messages"], {"role": "assistant", "content": reply}, {"role": "user", "content": "Thanks"}]
        second = trained.render(turn)
        before = trained.batch.processed

        deltas = await collect(trained, second, temperature=0, max_tokens=4)

        processed = trained.batch.processed - before
        size = trained.count_tokens(second)
        assert deltas[0].cached_input_tokens >= trained.count_tokens(first)
        assert processed == size - deltas[0].cached_input_tokens
        assert processed < size - trained.count_tokens(first) + 4
