"""vLLM's side of constrained decoding: the grammar goes to its structured outputs, enforced by its guidance backend.

No GPU here: what is checked is the mapping onto vLLM's own options (``SamplingParams.structured_outputs``,
``StructuredOutputsParams(grammar=...)`` and the engine's ``structured_outputs_config``), with vLLM stubbed.
"""

import enum
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from flama.llm.backends import GenerationParams
from flama.llm.backends.vllm import VLLMBackend, engine_options, sampling_options
from flama.llm.constraints import Constraint, bind
from flama.llm.decoder import SPECS

from tests.llm.test_backend_vllm import VLLM_OUTPUT_KINDS, VLLM_SAMPLING_DEFAULTS, StubEngine, StubTokenizer, output


@pytest.fixture(scope="module")
def bound(demo_model_dir: Path) -> Constraint:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(demo_model_dir)
    return bind(Constraint.tool_call([("get_time", {"type": "object"}, "tools[0]")]), SPECS["hermes"], tokenizer)


def test_constraint_becomes_structured_outputs(bound: Constraint) -> None:
    options = sampling_options(GenerationParams(temperature=0.0, constraint=bound), 50)

    assert options["structured_outputs"] == {"grammar": bound.grammar}
    assert "constraint" not in options
    assert bound.grammar is not None
    assert bound.grammar.startswith("start: body")
    assert "<[510]>" in bound.grammar  # <tool_call>, matched as the token it is


@pytest.mark.parametrize(
    ("options", "backend"),
    [({}, {"backend": "guidance"}), ({"structured_outputs_config": {"backend": "xgrammar"}}, {"backend": "xgrammar"})],
)
def test_engine_uses_the_guidance_backend_unless_told(options: dict[str, Any], backend: dict[str, str]) -> None:
    assert engine_options(options)["structured_outputs_config"] == backend


async def test_stream_passes_structured_outputs_params(monkeypatch: pytest.MonkeyPatch, bound: Constraint) -> None:
    made: list[dict[str, Any]] = []

    class SamplingParams:
        def __init__(self, **kwargs: Any) -> None:
            unknown = set(kwargs) - set(VLLM_SAMPLING_DEFAULTS) - {"output_kind", "structured_outputs"}
            assert not unknown, f"not SamplingParams fields: {unknown}"
            made.append(kwargs)

    class StructuredOutputsParams:
        def __init__(self, grammar: str) -> None:
            self.grammar = grammar

    package = types.ModuleType("vllm")
    package.SamplingParams = SamplingParams  # type: ignore[attr-defined]
    module = types.ModuleType("vllm.sampling_params")
    module.RequestOutputKind = enum.Enum("RequestOutputKind", VLLM_OUTPUT_KINDS)  # type: ignore[attr-defined,misc]
    module.StructuredOutputsParams = StructuredOutputsParams  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "vllm", package)
    monkeypatch.setitem(sys.modules, "vllm.sampling_params", module)
    backend = VLLMBackend(StubEngine(output("{}", [1, 2], "stop")), StubTokenizer(), 4096)

    deltas = [delta async for delta in backend.generate("hello", GenerationParams(constraint=bound))]

    assert [delta.text for delta in deltas] == ["{}"]
    (kwargs,) = made
    assert isinstance(kwargs["structured_outputs"], StructuredOutputsParams)
    assert kwargs["structured_outputs"].grammar == bound.grammar
