import asyncio
import importlib.util

import pytest
from flama.llm.backends import BACKENDS, GenerationParams, backend_class, select_backend
from flama.llm.backends.mlx import MLXBackend
from flama.llm.backends.transformers import TransformersBackend
from flama.llm.backends.vllm import VLLMBackend, sampling_options
from flama.llm.exceptions import BackendUnavailable

VLLM_REQUIREMENT = "the vllm package and a CUDA GPU (pip install 'flama-llm[vllm]')"


def cuda() -> bool:
    if importlib.util.find_spec("vllm") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


class TestCaseSamplingOptions:
    def test_defaults(self):
        assert sampling_options(GenerationParams(), 100) == {
            "max_tokens": 100,
            "skip_special_tokens": False,
            "spaces_between_special_tokens": False,
        }

    def test_every_parameter(self):
        params = GenerationParams.parse(
            {
                "max_tokens": 12,
                "temperature": 0,
                "top_p": 0.9,
                "top_k": 40,
                "min_p": 0.05,
                "repetition_penalty": 1.1,
                "frequency_penalty": -0.5,
                "presence_penalty": 2,
                "seed": 7,
                "stop": ["\n\n", "END"],
                "logit_bias": {"17": 5},
            }
        )

        assert sampling_options(params, 12) == {
            "max_tokens": 12,
            "skip_special_tokens": False,
            "spaces_between_special_tokens": False,
            "temperature": 0.0,
            "top_p": 0.9,
            "top_k": 40,
            "min_p": 0.05,
            "repetition_penalty": 1.1,
            "frequency_penalty": -0.5,
            "presence_penalty": 2.0,
            "seed": 7,
            "stop": ["\n\n", "END"],
            "logit_bias": {17: 5.0},
        }

    @pytest.mark.skipif(importlib.util.find_spec("vllm") is None, reason="vLLM is not installed")
    def test_accepted_by_vllm(self):
        from vllm import SamplingParams

        params = GenerationParams(temperature=0.5, top_k=3, stop=("x",), logit_bias={1: 2.0}, seed=1)

        sampling = SamplingParams(**sampling_options(params, 9))

        assert (sampling.max_tokens, sampling.top_k, sampling.stop, sampling.seed) == (9, 3, ["x"], 1)


class TestCaseVLLMBackend:
    @pytest.mark.skipif(cuda(), reason="vLLM and a CUDA GPU are present")
    def test_unavailable(self, tmp_path):
        assert not VLLMBackend.available()

        with pytest.raises(BackendUnavailable) as error:
            asyncio.run(VLLMBackend.load(tmp_path))

        assert error.value.backend == "vllm"
        assert str(error.value) == f"Backend 'vllm' is unavailable: it needs {VLLM_REQUIREMENT}"

    @pytest.mark.gpu
    @pytest.mark.skipif(not cuda(), reason="needs vLLM and a CUDA GPU")
    async def test_generates(self, demo_model_dir, demo_expectations):
        from tests.llm.backend_cases import collect

        expected = demo_expectations["plain"]
        backend = await VLLMBackend.load(demo_model_dir, gpu_memory_utilization=0.2)
        try:
            prompt = backend.render(expected["messages"], **expected["template_kwargs"])
            deltas = await collect(backend, prompt, temperature=0)
            stream = backend.generate(prompt, GenerationParams(max_tokens=8))
            await anext(stream)
            await stream.aclose()  # type: ignore[attr-defined]  # an async generator
        finally:
            await backend.close()

        assert "".join(delta.text for delta in deltas) == expected["reply"]
        assert deltas[-1].finish_reason == "stop"


class TestCaseSelectBackend:
    @pytest.mark.parametrize(
        ("name", "cls"),
        [
            pytest.param("mlx", MLXBackend, id="mlx"),
            pytest.param("transformers", TransformersBackend, id="transformers"),
        ],
    )
    def test_forced(self, name, cls):
        assert select_backend(name) is cls
        assert backend_class(name) is cls

    def test_order(self):
        assert list(BACKENDS) == ["vllm", "mlx", "transformers"]

    def test_unknown(self):
        with pytest.raises(BackendUnavailable) as error:
            select_backend("llama.cpp")

        assert str(error.value) == (
            "Backend 'llama.cpp' is unavailable: there is no such backend (choose one of vllm, mlx, transformers)"
        )

    @pytest.mark.skipif(cuda(), reason="vLLM and a CUDA GPU are present")
    def test_forced_unavailable(self):
        with pytest.raises(BackendUnavailable) as error:
            select_backend("vllm")

        assert str(error.value) == f"Backend 'vllm' is unavailable: it needs {VLLM_REQUIREMENT}"

    @pytest.mark.parametrize(
        ("available", "expected"),
        [
            pytest.param({"vllm", "mlx", "transformers"}, VLLMBackend, id="vllm-first"),
            pytest.param({"mlx", "transformers"}, MLXBackend, id="then-mlx"),
            pytest.param({"transformers"}, TransformersBackend, id="then-transformers"),
        ],
    )
    def test_auto(self, monkeypatch, available, expected):
        for cls in (VLLMBackend, MLXBackend, TransformersBackend):
            monkeypatch.setattr(cls, "available", classmethod(lambda cls: cls.name in available))

        assert select_backend(None) is expected

    def test_none_available(self, monkeypatch):
        for cls in (VLLMBackend, MLXBackend, TransformersBackend):
            monkeypatch.setattr(cls, "available", classmethod(lambda cls: False))

        with pytest.raises(BackendUnavailable) as error:
            select_backend(None)

        assert error.value.backend is None
        assert str(error.value) == (
            f"No backend: install one of: {VLLM_REQUIREMENT}; the mlx and mlx-lm packages (pip install "
            "'flama-llm[mlx]'); the transformers and torch packages (pip install 'flama-llm[transformers]')"
        )
