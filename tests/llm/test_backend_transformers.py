import asyncio
import threading
from typing import Any

import pytest
from flama.llm.backends import GenerationParams
from flama.llm.backends.transformers import TransformersBackend, whole_masks
from flama.llm.exceptions import BackendUnavailable

from tests.libraries import needs
from tests.llm.backend_cases import BackendCases, collect


@needs("torch")
class TestCaseTransformersBackend(BackendCases):
    backend_class = TransformersBackend

    async def test_greedy_matches_generate(self, backend, prompt, eos):
        import torch

        ids = backend.encode(prompt)
        with torch.inference_mode():
            output = backend.model.generate(
                torch.tensor([ids]), do_sample=False, max_new_tokens=24, suppress_tokens=[eos], pad_token_id=eos
            )
        expected = backend.tokenizer.decode(output[0, len(ids) :], skip_special_tokens=False)

        deltas = await collect(backend, prompt, temperature=0, max_tokens=24, logit_bias={eos: -100})

        assert "".join(delta.text for delta in deltas) == expected

    @pytest.mark.parametrize("whole_masks", [True, False], ids=["whole masks", "per-column masks"])
    async def test_joiners_are_prefilled_in_one_forward(self, backend, prompt, eos, reference, probe, whole_masks):
        assert backend.batch.whole_masks  # the demo model runs torch's SDPA attention
        forwards: list[tuple[int, int, int]] = []  # (rows, tokens, mask dimensions) of each forward pass
        hook = backend.model.register_forward_pre_hook(
            lambda _, args, kwargs: forwards.append((*kwargs["input_ids"].shape, kwargs["attention_mask"].dim())),
            with_kwargs=True,
        )
        backend.batch.whole_masks = whole_masks
        probe.permits = threading.Semaphore(0)
        values: dict[str, Any] = {"temperature": 0, "max_tokens": 24, "logit_bias": {eos: -100}}
        try:
            first = backend.generate(prompt, GenerationParams.parse({**values, "max_tokens": 40}))
            await anext(first)
            while not probe.holding.is_set():  # the worker holds the next step until a permit comes
                await asyncio.sleep(0.001)
            # Different prompts, some sharing a cached prefix with an earlier one (the reference's), one not.
            unseen = "Zebra crossing" if whole_masks else "Violet harbour lights"  # the backend is shared: unseen here
            prompts = [prompt, prompt + " Hi", unseen, prompt] * 2
            joiners = [asyncio.create_task(collect(backend, text, **values)) for text in prompts]
            while backend.running < 1 + len(prompts):
                await asyncio.sleep(0.005)
            probe.permits.release(1000)
            results = await asyncio.gather(*joiners)
            await first.aclose()
        finally:
            hook.remove()
            backend.batch.whole_masks = True

        # The running row's passes, one pass that prefilled all eight joiners together, then passes over all nine.
        rows = [rows for rows, *_ in forwards]
        assert set(rows) == {1, 8, 9}
        assert rows.count(8) == 1
        # The joiners' first tokens came from a step of their own (the running row waited for them), then all nine
        # took their next token together.
        made = [len(keys) for keys in probe.rounds]
        assert made.count(8) == 1
        assert made[made.index(8) + 1] == 9
        # Padded or after a cached prefix, the model is given the whole mask, or transformers builds it.
        assert {dimensions for rows, _, dimensions in forwards if rows > 1} == {4 if whole_masks else 2}
        # Each joiner's reply is its reply alone (prompts with a cached prefix and without, padded in one pass).
        alone = [await collect(backend, text, **values) for text in prompts[:3]]
        assert results == [*alone, alone[0]] * 2
        assert results[0] == reference
        assert [deltas[0].cached_input_tokens > 0 for deltas in results[:3]] == [True, True, False]

    async def test_joiners_hold_the_running_row_every_other_step_at_most(self, backend, prompt, eos, probe):
        probe.permits = threading.Semaphore(0)
        values: dict[str, Any] = {"temperature": 0, "max_tokens": 40, "logit_bias": {eos: -100}}
        first = backend.generate(prompt, GenerationParams.parse(values))
        await anext(first)
        (key,) = probe.rounds[-1]
        joiners = []
        for _ in range(6):  # one more generation arrives during each step
            while not probe.holding.is_set():
                await asyncio.sleep(0.001)
            joiners.append(asyncio.create_task(collect(backend, prompt, **{**values, "max_tokens": 20})))
            while backend.running < 1 + len(joiners):
                await asyncio.sleep(0.005)
            steps = len(probe.rounds)
            probe.permits.release()
            while len(probe.rounds) == steps:
                await asyncio.sleep(0.005)
        probe.permits.release(1000)
        await asyncio.gather(*joiners)
        await first.aclose()

        # Whether the running row made a token at each of the six steps released one by one. Each generation arrived
        # while a step was held, so it joined at the next one: there its prefill went first, alone, and the running
        # row took its next token at the step after (with the one that joined then), never two steps in a row
        # without one.
        ran = [key in keys for keys in probe.rounds[probe.rounds.index([key]) + 1 :][:6]]
        assert ran == [True, False] * 3

    async def test_a_short_cached_prefix_is_not_reused(self, backend, eos):
        values: dict[str, Any] = {"temperature": 0, "max_tokens": 2, "logit_bias": {eos: -100}}
        long = " ".join(["word"] * 60)
        cached = backend.render([{"role": "user", "content": f"Hello {long}"}])
        await collect(backend, cached, **values)
        # Only the chat template's header in common: prefilled whole, on the causal path.
        other = backend.render([{"role": "user", "content": f"Bye {long}"}])
        before = backend.batch.processed
        deltas = await collect(backend, other, **values)
        assert deltas[0].cached_input_tokens == 0
        assert backend.batch.processed - before == backend.count_tokens(other)
        # Most of it in common: the cached prefix is taken.
        again = await collect(backend, backend.render([{"role": "user", "content": f"Hello {long} again"}]), **values)
        assert again[0].cached_input_tokens > backend.count_tokens(cached) // 2

    def test_a_lone_row_leaves_its_own_tensors_to_the_prefix_cache(self, backend, prompt):
        from flama.llm.backends.prefix import PrefixCache
        from flama.llm.backends.transformers import TorchBatch

        # A batch of its own, driven from this thread (the backend's belongs to its worker).
        cache = PrefixCache(8, 1 << 30)
        batch = TorchBatch(backend.model, backend.model.config.vocab_size, cache)
        params = GenerationParams.parse({"temperature": 0})
        ids = backend.encode(prompt)

        def run(keys: list[int], steps: int) -> None:
            for key in keys:
                batch.insert(key, ids[: len(ids) - key], params, 16, 0)  # prompts of different lengths: padding
            for _ in range(steps):
                batch.step()

        run([0], 3)
        held = [(keys.data_ptr(), values.data_ptr()) for keys, values in batch._layers]
        batch.remove(0, keep=True)
        ((_, (layers, _)),) = cache._entries.items()
        # Alone and unpadded: the batch's own tensors, not copies.
        assert [(keys.data_ptr(), values.data_ptr()) for keys, values in layers] == held
        assert cache.nbytes == sum(keys.nbytes + values.nbytes for keys, values in layers)

        run([1, 2], 2)
        mask = batch._mask[1].clone()
        held = [(keys.data_ptr(), values.data_ptr()) for keys, values in batch._layers]
        batch.remove(2, keep=True)
        # Beside another row, padded: its own columns, copied out.
        tokens, (layers, _) = list(cache._entries.items())[-1]
        assert len(tokens) == int(mask.sum()) == len(ids) - 2 + 1  # its prompt and the first of its two tokens
        assert all(keys.shape[0] == 1 and keys.shape[2] == len(tokens) for keys, _ in layers)
        assert not {keys.data_ptr() for keys, _ in layers} & {keys for keys, _ in held}
        kept = [layers for _, (layers, _) in cache._entries.items()]
        assert cache.nbytes == sum(keys.nbytes + values.nbytes for layers in kept for keys, values in layers)
        batch.remove(1, keep=False)

    @pytest.mark.parametrize(
        ("config", "attention", "expected"),
        [
            ("LlamaConfig", "sdpa", True),
            ("LlamaConfig", "eager", False),
            ("Qwen3Config", "sdpa", True),
            ("MistralConfig", "sdpa", False),  # a sliding window on every layer
            ("Gemma2Config", "sdpa", False),  # sliding-window layers between full ones
        ],
    )
    def test_whole_masks_only_for_causal_sdpa_models(self, config, attention, expected):
        import transformers

        settings = getattr(transformers, config)()
        settings._attn_implementation = attention

        assert whole_masks(settings) is expected

    def test_options(self, model_dir):
        backend = asyncio.run(TransformersBackend.load(model_dir, device="cpu", dtype="bfloat16"))
        try:
            assert str(backend.model.device) == "cpu"
            assert str(backend.model.dtype) == "torch.bfloat16"
        finally:
            asyncio.run(backend.close())

    async def test_unavailable(self, model_dir, monkeypatch):
        monkeypatch.setattr(TransformersBackend, "available", classmethod(lambda cls: False))

        with pytest.raises(BackendUnavailable) as error:
            await TransformersBackend.load(model_dir)

        assert str(error.value) == (
            "Backend 'transformers' is unavailable: it needs the transformers and torch packages "
            "(pip install 'flama-llm[transformers]')"
        )
