import asyncio
import enum
import importlib.util
import sys
import types
from collections.abc import AsyncGenerator
from typing import Any

import pytest
from flama.llm.backends import BACKENDS, Delta, GenerationParams, backend_class, select_backend
from flama.llm.backends.base import PARAMETERS
from flama.llm.backends.mlx import MLXBackend
from flama.llm.backends.transformers import TransformersBackend
from flama.llm.backends.vllm import VLLMBackend, engine_options, sampling_options
from flama.llm.exceptions import BackendUnavailable, InvalidParameter

VLLM_REQUIREMENT = "the vllm package and a CUDA GPU (pip install 'flama-llm[vllm]')"

# The `SamplingParams` fields the adapter sets, with their defaults, as read in vLLM 0.32.0 (the version uv.lock pins)
# in `vllm/sampling_params.py`, class `SamplingParams`. `output_kind` defaults to `RequestOutputKind.CUMULATIVE`.
VLLM_SAMPLING_DEFAULTS: dict[str, Any] = {
    "max_tokens": 16,
    "temperature": 1.0,
    "top_p": 1.0,
    "top_k": 0,
    "min_p": 0.0,
    "repetition_penalty": 1.0,
    "frequency_penalty": 0.0,
    "presence_penalty": 0.0,
    "seed": None,
    "stop": None,
    "logit_bias": None,
    "skip_special_tokens": True,
    "spaces_between_special_tokens": True,
}
# vLLM 0.32.0, `vllm/sampling_params.py`: `class RequestOutputKind(Enum)`.
VLLM_OUTPUT_KINDS = {"CUMULATIVE": 0, "DELTA": 1, "FINAL_ONLY": 2}
# The engine's structured outputs backend by default (constraint grammars are llguidance's Lark).
GUIDANCE = {"structured_outputs_config": {"backend": "guidance"}}


def cuda() -> bool:
    if importlib.util.find_spec("vllm") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


class StubTokenizer:
    """What `Backend` reads from a HuggingFace tokenizer: one token per character, a 2000-token vocabulary."""

    def __init__(self) -> None:
        self.chat_template = None
        self.bos_token = None
        self.added_tokens_decoder: dict[int, Any] = {}
        self.all_special_tokens: list[str] = []

    def __len__(self) -> int:
        return 2000

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        return [ord(character) for character in text]


def output(text: str, token_ids: list[int], finish_reason: str | None = None) -> Any:
    """The parts of vLLM's `RequestOutput` (`vllm/outputs.py`) a consumer sees: `outputs[0]` and `finished`."""
    completion = types.SimpleNamespace(text=text, token_ids=token_ids, finish_reason=finish_reason)
    return types.SimpleNamespace(outputs=[completion], finished=finish_reason is not None)


class StubEngine:
    """Plays `AsyncLLM`'s part: `generate(prompt, sampling_params, request_id)` is an async generator that aborts the
    request when closed early (as vLLM's does on `GeneratorExit`), and `shutdown()`."""

    def __init__(self, *outputs: Any) -> None:
        self.outputs = outputs
        self.requests: list[tuple[Any, Any, str]] = []
        self.aborted: list[str] = []
        self.shut = False

    async def generate(self, prompt: Any, sampling_params: Any, request_id: str) -> AsyncGenerator[Any, None]:
        self.requests.append((prompt, sampling_params, request_id))
        try:
            for item in self.outputs:
                await asyncio.sleep(0)
                yield item
        except GeneratorExit:
            self.aborted.append(request_id)
            raise

    def shutdown(self) -> None:
        self.shut = True


@pytest.fixture
def fake_vllm(monkeypatch):
    """`vllm.SamplingParams` recording its keyword arguments, and `vllm.sampling_params.RequestOutputKind`."""
    kinds = enum.Enum("RequestOutputKind", VLLM_OUTPUT_KINDS)  # type: ignore[misc]

    class SamplingParams:
        def __init__(self, **kwargs: Any) -> None:
            unknown = set(kwargs) - set(VLLM_SAMPLING_DEFAULTS) - {"output_kind"}
            assert not unknown, f"not SamplingParams fields: {unknown}"
            self.kwargs = kwargs

    package = types.ModuleType("vllm")
    package.SamplingParams = SamplingParams  # type: ignore[attr-defined]
    module = types.ModuleType("vllm.sampling_params")
    module.RequestOutputKind = kinds  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "vllm", package)
    monkeypatch.setitem(sys.modules, "vllm.sampling_params", module)
    return kinds


async def drain(backend: VLLMBackend, params: GenerationParams) -> list[Delta]:
    return [delta async for delta in backend.generate("hello", params)]


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

    def test_names_are_vllm_fields(self):
        # The client's parameters (logprobs and constraints are asked for by dialects, and vLLM refuses them).
        assert set(PARAMETERS) <= set(VLLM_SAMPLING_DEFAULTS)

    @pytest.mark.skipif(importlib.util.find_spec("vllm") is None, reason="vLLM is not installed")
    def test_recorded_defaults_are_vllm_defaults(self):
        from vllm import SamplingParams
        from vllm.sampling_params import RequestOutputKind

        sampling = SamplingParams()

        assert {name: getattr(sampling, name) for name in VLLM_SAMPLING_DEFAULTS} == {
            **VLLM_SAMPLING_DEFAULTS,
            "stop": [],  # __post_init__ turns None into a list
        }
        assert {kind.name: kind.value for kind in RequestOutputKind} == VLLM_OUTPUT_KINDS
        assert sampling.output_kind is RequestOutputKind.CUMULATIVE

    @pytest.mark.skipif(importlib.util.find_spec("vllm") is None, reason="vLLM is not installed")
    def test_accepted_by_vllm(self):
        from vllm import SamplingParams

        params = GenerationParams(temperature=0.5, top_k=3, stop=("x",), logit_bias={1: 2.0}, seed=1)

        sampling = SamplingParams(**sampling_options(params, 9))

        assert (sampling.max_tokens, sampling.top_k, sampling.stop, sampling.seed) == (9, 3, ["x"], 1)


class TestCaseEngineOptions:
    @pytest.mark.parametrize(
        ("options", "expected"),
        [
            pytest.param({}, {"enable_prefix_caching": True, **GUIDANCE}, id="default-on"),
            pytest.param({"cache_size": 0, "cache_bytes": 10}, {"enable_prefix_caching": False, **GUIDANCE}, id="off"),
            pytest.param(
                {"cache_size": 8, "enable_prefix_caching": False, "max_model_len": 512},
                {"enable_prefix_caching": False, "max_model_len": 512, **GUIDANCE},
                id="explicit",
            ),
        ],
    )
    def test_prefix_caching(self, options, expected):
        assert engine_options(options) == expected


class TestCaseVLLMBounds:
    """Every value vLLM 0.32.0 refuses (`SamplingParams._verify_args` in `vllm/sampling_params.py`, and the GPU
    model runner's 1024-token cap in `vllm/v1/worker/gpu/sample/logit_bias.py`) is refused before the engine sees it;
    values at vLLM's bounds pass."""

    @pytest.mark.parametrize(
        ("values", "message"),
        [
            pytest.param(
                {"temperature": 2.5},
                "Invalid parameter 'temperature': must be <= 2 with the vllm backend, got 2.5",
                id="temperature-above-2",
            ),
            pytest.param(
                {"temperature": -0.5},
                "Invalid parameter 'temperature': must be >= 0, got -0.5",
                id="temperature-negative",
            ),
            pytest.param({"top_p": 0}, "Invalid parameter 'top_p': must be > 0 and <= 1, got 0", id="top_p-zero"),
            pytest.param(
                {"top_p": 1.5}, "Invalid parameter 'top_p': must be > 0 and <= 1, got 1.5", id="top_p-above-1"
            ),
            pytest.param({"top_k": -2}, "Invalid parameter 'top_k': must be >= 1, got -2", id="top_k-negative"),
            pytest.param(
                {"min_p": 1.5}, "Invalid parameter 'min_p': must be >= 0 and <= 1, got 1.5", id="min_p-above-1"
            ),
            pytest.param(
                {"repetition_penalty": 0},
                "Invalid parameter 'repetition_penalty': must be > 0, got 0",
                id="repetition-zero",
            ),
            pytest.param(
                {"frequency_penalty": 2.5},
                "Invalid parameter 'frequency_penalty': must be >= -2 and <= 2, got 2.5",
                id="frequency-above-2",
            ),
            pytest.param(
                {"presence_penalty": -3},
                "Invalid parameter 'presence_penalty': must be >= -2 and <= 2, got -3",
                id="presence-below-minus-2",
            ),
            pytest.param(
                {"max_tokens": 0}, "Invalid parameter 'max_tokens': must be >= 1, got 0", id="max_tokens-zero"
            ),
            pytest.param(
                {"stop": [""]}, "Invalid parameter 'stop': a stop sequence must not be empty", id="empty-stop"
            ),
            pytest.param(
                {"logit_bias": {"2000": 1}},
                "Invalid parameter 'logit_bias': token id 2000 is not in the vocabulary (size 2000)",
                id="bias-outside-vocabulary",
            ),
            pytest.param(
                {"logit_bias": {str(token): 1 for token in range(1025)}},
                "Invalid parameter 'logit_bias': at most 1024 tokens with the vllm backend, got 1025",
                id="bias-too-many-tokens",
            ),
        ],
    )
    def test_refused(self, values, message):
        backend = VLLMBackend(StubEngine(), StubTokenizer(), 64)

        with pytest.raises(InvalidParameter) as error:
            backend.check(GenerationParams.parse(values))

        assert str(error.value) == message

    @pytest.mark.parametrize(
        "values",
        [
            pytest.param({"temperature": 2}, id="temperature-2"),
            pytest.param({"temperature": 0}, id="temperature-0"),
            pytest.param({"top_p": 1, "min_p": 1}, id="probabilities-1"),
            pytest.param({"frequency_penalty": -2, "presence_penalty": 2}, id="penalties-at-bounds"),
            pytest.param({"logit_bias": {str(token): -100 for token in range(1024)}}, id="bias-1024-tokens"),
        ],
    )
    def test_accepted(self, values):
        VLLMBackend(StubEngine(), StubTokenizer(), 64).check(GenerationParams.parse(values))


class TestCaseVLLMStream:
    async def test_deltas(self, fake_vllm):
        engine = StubEngine(output("He", [1]), output("llo", [2, 3]), output("", [4], "stop"))
        backend = VLLMBackend(engine, StubTokenizer(), 64)

        deltas = await drain(backend, GenerationParams(temperature=0.0, stop=("!",)))

        assert deltas == [Delta("He", 1), Delta("llo", 2), Delta("", 1, "stop")]
        [(prompt, sampling, request)] = engine.requests
        assert prompt == {"type": "token", "prompt_token_ids": [104, 101, 108, 108, 111]}  # vLLM's TokensInput
        assert sampling.kwargs == {
            "max_tokens": 59,
            "skip_special_tokens": False,
            "spaces_between_special_tokens": False,
            "temperature": 0.0,
            "stop": ["!"],
            "output_kind": fake_vllm.DELTA,
        }
        assert len(request) == 32
        assert engine.aborted == []

    async def test_length(self, fake_vllm):
        engine = StubEngine(output("a", [1]), output("b", [2], "length"))

        deltas = await drain(VLLMBackend(engine, StubTokenizer(), 64), GenerationParams(max_tokens=2))

        assert deltas == [Delta("a", 1), Delta("b", 1, "length")]
        assert engine.requests[0][1].kwargs["max_tokens"] == 2

    @pytest.mark.parametrize(
        "reason",
        [
            pytest.param("abort", id="abort"),
            pytest.param("error", id="error"),
            pytest.param("repetition", id="repetition"),
        ],
    )
    async def test_failure(self, fake_vllm, reason):
        engine = StubEngine(output("a", [1]), output("", [], reason))
        backend = VLLMBackend(engine, StubTokenizer(), 64)

        with pytest.raises(RuntimeError) as error:
            await drain(backend, GenerationParams())

        request = engine.requests[0][2]
        assert str(error.value) == f"vLLM ended request {request} with finish reason {reason!r}"

    async def test_closed_early_aborts(self, fake_vllm):
        engine = StubEngine(output("a", [1]), output("b", [2]), output("c", [3], "stop"))
        stream = VLLMBackend(engine, StubTokenizer(), 64).generate("hi", GenerationParams())

        first = await anext(stream)
        await stream.aclose()  # type: ignore[attr-defined]  # an async generator

        assert first == Delta("a", 1)
        assert engine.aborted == [engine.requests[0][2]]

    async def test_close(self):
        engine = StubEngine()

        await VLLMBackend(engine, StubTokenizer(), 64).close()

        assert engine.shut


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
