import asyncio

import pytest
from flama.llm.backends.transformers import TransformersBackend
from flama.llm.exceptions import BackendUnavailable

from tests.llm.backend_cases import BackendCases, collect


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
