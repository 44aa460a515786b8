"""The vLLM backend: a thin adapter over vLLM's async engine (CUDA), which batches generations continuously.

Names and bounds below were checked against vLLM 0.32.0 (``vllm/sampling_params.py``, ``vllm/v1/engine/async_llm.py``,
``vllm/v1/engine/output_processor.py``, ``vllm/v1/worker/gpu/sample/logit_bias.py``).
"""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from flama.llm.backends.base import PARAMETERS, Backend, Delta, FinishReason, GenerationParams
from flama.llm.backends.batching import BATCH_OPTIONS
from flama.llm.exceptions import InvalidParameter

__all__ = ["VLLMBackend", "engine_options", "sampling_options"]

# vLLM bounds tighter than `GenerationParams`' own: `SamplingParams` refuses a temperature above 2, and the GPU model
# runner refuses more than 1024 biased tokens inside the engine. Checked up front, they are a 400, not an engine error.
MAX_TEMPERATURE = 2.0
MAX_BIASED_TOKENS = 1024
# `CompletionOutput.finish_reason` values that end a generation normally; vLLM also reports "abort", "error" and
# "repetition" (never asked for here), which are failures rather than answers.
FINISH_REASONS: dict[str, FinishReason] = {"stop": "stop", "length": "length"}


def sampling_options(params: GenerationParams, limit: int) -> dict[str, Any]:
    """Keyword arguments of ``vllm.SamplingParams`` for checked parameters and a token limit.

    Every `GenerationParams` field has a ``SamplingParams`` field of the same name, but the constraint: its grammar goes
    to vLLM's structured outputs (``structured_outputs``: the keyword arguments of ``StructuredOutputsParams``), which
    the engine's guidance backend (llguidance, as on MLX and transformers) enforces. vLLM defaults to 16 tokens, so the
    limit is always given; special tokens stay in the text because the decoder reads markers such as ``<tool_call>``
    from it, and stop sequences are trimmed by vLLM itself.
    """
    options: dict[str, Any] = {
        "max_tokens": limit,
        "skip_special_tokens": False,
        "spaces_between_special_tokens": False,
    }
    for name, value in params.given().items():
        if name == "stop":
            options["stop"] = list(value)
        elif name == "constraint":
            options["structured_outputs"] = {"grammar": value.grammar}
        elif name != "max_tokens":
            options[name] = value
    return options


def engine_options(options: dict[str, Any]) -> dict[str, Any]:
    """``AsyncEngineArgs`` fields from load options: prefix caching on unless ``cache_size`` is 0.

    Structured outputs use the guidance backend unless ``structured_outputs_config`` says otherwise: the constraints'
    grammars are written in llguidance's Lark dialect.
    """
    engine = {name: value for name, value in options.items() if name not in BATCH_OPTIONS}
    engine.setdefault("enable_prefix_caching", options.get("cache_size", 1) != 0)
    engine.setdefault("structured_outputs_config", {"backend": "guidance"})
    return engine


class VLLMBackend(Backend):
    """Runs a checkpoint with ``vllm.v1.engine.async_llm.AsyncLLM``.

    Options of `load` are ``AsyncEngineArgs`` fields (``gpu_memory_utilization=0.5``, ``max_model_len=4096``, ...);
    vLLM's own prefix caching is on (``enable_prefix_caching=True``) unless ``cache_size=0`` or the option says
    otherwise; ``cache_bytes`` is ignored (vLLM sizes its KV cache from ``gpu_memory_utilization``), and so is
    ``delta_interval`` (vLLM's engine hands its outputs to the event loop itself).
    """

    name = "vllm"
    requirement = "the vllm package and a CUDA GPU (pip install 'flama-llm[vllm]')"
    supported = PARAMETERS | {"constraint"}
    libraries = ("vllm",)

    def __init__(self, engine: Any, tokenizer: Any, length: int) -> None:
        super().__init__(tokenizer, length)
        self.engine = engine

    @classmethod
    def available(cls) -> bool:
        """Whether vLLM is installed and torch sees a CUDA device (torch is imported only when vLLM is there)."""
        if not super().available():
            return False
        import torch

        return bool(torch.cuda.is_available())

    @classmethod
    async def load(cls, directory: Path, **options: Any) -> "VLLMBackend":
        """Start an engine for the checkpoint.

        The engine is built on a worker thread: vLLM supports building ``AsyncLLM`` outside the event loop and starts
        its output tasks on the first request.

        Args:
            directory: A HuggingFace-layout checkpoint.
            **options: ``AsyncEngineArgs`` fields, and ``cache_size`` / ``cache_bytes`` (see the class).
        """
        cls.require()
        options = engine_options(options)
        from transformers import AutoTokenizer
        from vllm.engine.arg_utils import AsyncEngineArgs
        from vllm.v1.engine.async_llm import AsyncLLM

        if isinstance(options["structured_outputs_config"], dict):
            from vllm.config import StructuredOutputsConfig

            options["structured_outputs_config"] = StructuredOutputsConfig(**options["structured_outputs_config"])
        engine = await asyncio.to_thread(AsyncLLM.from_engine_args, AsyncEngineArgs(model=str(directory), **options))
        tokenizer = await asyncio.to_thread(AutoTokenizer.from_pretrained, directory)
        return cls(engine, tokenizer, int(engine.model_config.max_model_len))

    def check(self, params: GenerationParams) -> None:
        """Reject what vLLM would refuse only once the request reached the engine.

        Raises:
            InvalidParameter: Naming the first offending parameter.
        """
        super().check(params)
        if params.temperature is not None and params.temperature > MAX_TEMPERATURE:
            raise InvalidParameter(
                "temperature", f"must be <= {MAX_TEMPERATURE:g} with the vllm backend, got {params.temperature:g}"
            )
        if params.logit_bias is not None and len(params.logit_bias) > MAX_BIASED_TOKENS:
            raise InvalidParameter(
                "logit_bias", f"at most {MAX_BIASED_TOKENS} tokens with the vllm backend, got {len(params.logit_bias)}"
            )

    async def stream(self, ids: list[int], params: GenerationParams, limit: int) -> AsyncIterator[Delta]:
        """One engine request streamed as deltas.

        Leaving the iteration early aborts the request: vLLM's ``generate`` aborts it when closed or cancelled.

        Raises:
            RuntimeError: vLLM ended the request with neither an end of sequence, a stop sequence nor the limit (it
                was aborted elsewhere, or failed).
        """
        from vllm import SamplingParams
        from vllm.sampling_params import RequestOutputKind

        options = sampling_options(params, limit)
        if "structured_outputs" in options:
            from vllm.sampling_params import StructuredOutputsParams

            options["structured_outputs"] = StructuredOutputsParams(**options["structured_outputs"])
        sampling = SamplingParams(**options, output_kind=RequestOutputKind.DELTA)
        request = uuid.uuid4().hex
        # An engine input (vLLM's `TokensInput`): a plain token prompt would go through vLLM's renderer again, which
        # vLLM logs as deprecated.
        outputs = self.engine.generate({"type": "token", "prompt_token_ids": ids}, sampling, request)
        async with contextlib.aclosing(outputs):
            async for output in outputs:
                completion = output.outputs[0]
                reason = completion.finish_reason
                finish = None if reason is None else FINISH_REASONS.get(reason)
                if reason is not None and finish is None:
                    raise RuntimeError(f"vLLM ended request {request} with finish reason {reason!r}")
                # No early return on the last output: vLLM's generator ends by itself after it, while closing it
                # before that would abort a finished request.
                yield Delta(completion.text, len(completion.token_ids), finish)

    async def close(self) -> None:
        """Shut the engine down (its requests end with it), on a worker thread: vLLM's shutdown blocks."""
        await asyncio.to_thread(self.engine.shutdown)
