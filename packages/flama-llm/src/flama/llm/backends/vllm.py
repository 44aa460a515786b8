"""The vLLM backend: a thin adapter over vLLM's async engine (CUDA), which batches generations continuously."""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from flama.llm.backends.base import PARAMETERS, Backend, Delta, FinishReason, GenerationParams

__all__ = ["VLLMBackend", "sampling_options"]


def sampling_options(params: GenerationParams, limit: int) -> dict[str, Any]:
    """Keyword arguments of ``vllm.SamplingParams`` for checked parameters and a token limit.

    vLLM defaults to 16 tokens, so the limit is always given; special tokens stay in the text because the decoder
    reads markers such as ``<tool_call>`` from it, and stop sequences are trimmed by vLLM itself.
    """
    options: dict[str, Any] = {
        "max_tokens": limit,
        "skip_special_tokens": False,
        "spaces_between_special_tokens": False,
    }
    for name, value in params.given().items():
        if name == "stop":
            options["stop"] = list(value)
        elif name != "max_tokens":
            options[name] = value
    return options


class VLLMBackend(Backend):
    """Runs a checkpoint with ``vllm.v1.engine.async_llm.AsyncLLM``.

    Options of `load` are ``AsyncEngineArgs`` fields (``gpu_memory_utilization=0.5``, ``max_model_len=4096``, ...).
    """

    name = "vllm"
    requirement = "the vllm package and a CUDA GPU (pip install 'flama-llm[vllm]')"
    supported = PARAMETERS
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

        Args:
            directory: A HuggingFace-layout checkpoint.
            **options: ``AsyncEngineArgs`` fields.
        """
        cls.require()
        from transformers import AutoTokenizer
        from vllm.engine.arg_utils import AsyncEngineArgs
        from vllm.v1.engine.async_llm import AsyncLLM

        engine = await asyncio.to_thread(AsyncLLM.from_engine_args, AsyncEngineArgs(model=str(directory), **options))
        tokenizer = await asyncio.to_thread(AutoTokenizer.from_pretrained, directory)
        return cls(engine, tokenizer, int(engine.model_config.max_model_len))

    async def stream(self, ids: list[int], params: GenerationParams, limit: int) -> AsyncIterator[Delta]:
        """One engine request; leaving the iteration early aborts it."""
        from vllm import SamplingParams
        from vllm.sampling_params import RequestOutputKind

        sampling = SamplingParams(**sampling_options(params, limit), output_kind=RequestOutputKind.DELTA)
        request = uuid.uuid4().hex
        outputs = self.engine.generate({"prompt_token_ids": ids}, sampling, request)
        async with contextlib.aclosing(outputs):
            async for output in outputs:
                completion = output.outputs[0]
                reason = completion.finish_reason
                finish: FinishReason | None = None if reason is None else "length" if reason == "length" else "stop"
                yield Delta(completion.text, len(completion.token_ids), finish)
                if output.finished:
                    return

    async def close(self) -> None:
        """Shut the engine down (its requests end with it)."""
        self.engine.shutdown()
