import asyncio

import pytest
from flama.llm.backends import GenerationParams
from flama.llm.backends.mlx import MLXBackend
from flama.llm.backends.transformers import TransformersBackend
from flama.llm.exceptions import BackendUnavailable

from tests.libraries import needs
from tests.llm.backend_cases import BackendCases, collect


class TestCaseMLXBackend(BackendCases):
    backend_class = MLXBackend

    async def test_greedy_matches_stream_generate(self, backend, prompt, eos):
        from mlx_lm import stream_generate
        from mlx_lm.sample_utils import make_logits_processors

        def reference() -> str:
            return "".join(
                response.text
                for response in stream_generate(
                    backend.model,
                    backend.tokenizer,
                    prompt,
                    max_tokens=24,
                    logits_processors=make_logits_processors(logit_bias={eos: -100}),
                )
            )

        # In a thread of its own, as the backend runs mlx-lm in its worker: MLX objects made on the main thread and
        # used by another crash the interpreter at exit.
        expected = await asyncio.to_thread(reference)

        deltas = await collect(backend, prompt, temperature=0, max_tokens=24, logit_bias={eos: -100})

        assert "".join(delta.text for delta in deltas) == expected

    async def test_a_generation_alone_moves_into_the_batch(self, backend, prompt, eos, probe):
        values = {"temperature": 1.0, "top_k": 20, "seed": 11, "max_tokens": 200, "logit_bias": {eos: -100}}
        alone = await collect(backend, prompt, **values)

        first = backend.generate(prompt, GenerationParams.parse(values))
        deltas = [await anext(first) for _ in range(3)]  # it runs alone, through generate_step
        other = asyncio.create_task(collect(backend, prompt, temperature=0, max_tokens=8, logit_bias={eos: -100}))
        deltas += [delta async for delta in first]
        await other

        # It moved into the batch when the other joined (a step made a token for both), and its seeded sampling went
        # on as if it had stayed alone.
        assert max(len(keys) for keys in probe.rounds) == 2
        assert deltas == alone

    @needs("torch")
    async def test_greedy_matches_transformers(self, backend, model_dir, prompt, reference):
        other = await TransformersBackend.load(model_dir, delta_interval=0)
        try:
            assert (
                await collect(
                    other, prompt, temperature=0, max_tokens=24, logit_bias={other.tokenizer.eos_token_id: -100}
                )
                == reference
            )
        finally:
            await other.close()

    async def test_unavailable(self, model_dir, monkeypatch):
        monkeypatch.setattr(MLXBackend, "available", classmethod(lambda cls: False))

        with pytest.raises(BackendUnavailable) as error:
            await MLXBackend.load(model_dir)

        assert str(error.value) == (
            "Backend 'mlx' is unavailable: it needs the mlx and mlx-lm packages (pip install 'flama-llm[mlx]')"
        )
