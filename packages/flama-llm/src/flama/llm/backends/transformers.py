"""The transformers backend: a causal LM run by torch (CPU or CUDA) with our own step loop over its KV cache."""

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flama.llm.backends.base import PARAMETERS, GenerationParams, ThreadedBackend, context_length

__all__ = ["TransformersBackend"]


class TransformersBackend(ThreadedBackend):
    """Runs a checkpoint with ``transformers.AutoModelForCausalLM`` and torch.

    Each token is one forward pass over the previous token with the cached keys and values, then sampling:
    logit bias, repetition penalty (over prompt and output), frequency and presence penalties, temperature, top-k,
    top-p and min-p, drawing from a `torch.Generator` seeded per generation. Options of `load`: ``device``
    (``"cpu"``, ``"cuda"``, ...; default CUDA when available) and ``dtype`` (a torch dtype name such as
    ``"bfloat16"``; default the checkpoint's).
    """

    name = "transformers"
    requirement = "the transformers and torch packages (pip install 'flama-llm[transformers]')"
    supported = PARAMETERS
    libraries = ("transformers", "torch")

    @classmethod
    async def load(cls, directory: Path, **options: Any) -> "TransformersBackend":
        """Load the checkpoint in the model's worker thread.

        Args:
            directory: A HuggingFace-layout checkpoint.
            **options: ``device``: torch device, default ``"cuda"`` when available, else ``"cpu"``; ``dtype``: torch
                dtype name, default the checkpoint's own. Any other is a `TypeError`.
        """
        cls.reject_options(options, "device", "dtype")
        cls.require()
        device, dtype = options.get("device"), options.get("dtype")
        executor = cls.worker(cls.name)

        def build() -> "TransformersBackend":
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer

            target = device or ("cuda" if torch.cuda.is_available() else "cpu")
            model = AutoModelForCausalLM.from_pretrained(directory, dtype=dtype or "auto").to(target).eval()
            tokenizer = AutoTokenizer.from_pretrained(directory)
            configured = model.generation_config.eos_token_id
            eos = {*(configured if isinstance(configured, list) else [configured]), tokenizer.eos_token_id} - {None}
            return cls(model, tokenizer, context_length(directory, tokenizer), eos, executor)

        try:
            return await asyncio.get_running_loop().run_in_executor(executor, build)
        except BaseException:
            executor.shutdown(wait=False)
            raise

    def steps(self, ids: list[int], params: GenerationParams, limit: int, seed: int) -> Iterator[int]:
        """Forward passes over the KV cache, one sampled token per step."""
        import torch

        device = self.model.device
        generator = torch.Generator(device=device).manual_seed(seed)
        history = torch.tensor(ids, device=device)
        bias = self._bias(params, device)
        cache = None
        step = history[None]
        with torch.inference_mode():
            for _ in range(limit):
                output = self.model(input_ids=step, past_key_values=cache, use_cache=True)
                cache = output.past_key_values
                logits = output.logits[0, -1].float()
                token = self._sample(logits, history, len(ids), params, bias, generator)
                history = torch.cat((history, token))
                step = token[None]
                yield int(token)

    def _bias(self, params: GenerationParams, device: Any) -> Any:
        """The logit bias as a dense vector, or ``None``."""
        if not params.logit_bias:
            return None
        import torch

        bias = torch.zeros(self.model.config.get_text_config().vocab_size, device=device)
        bias[list(params.logit_bias)] = torch.tensor(list(params.logit_bias.values()), device=device)
        return bias

    @staticmethod
    def _sample(logits: Any, history: Any, prompt: int, params: GenerationParams, bias: Any, generator: Any) -> Any:
        """Pick the next token (a one-element tensor) from the last position's logits."""
        import torch

        if bias is not None:
            logits = logits + bias[: logits.shape[0]]
        if params.repetition_penalty is not None:
            seen = history.unique()
            scores = logits[seen]
            logits[seen] = torch.where(
                scores > 0, scores / params.repetition_penalty, scores * params.repetition_penalty
            )
        if params.frequency_penalty or params.presence_penalty:
            counts = torch.bincount(history[prompt:], minlength=logits.shape[0])[: logits.shape[0]].float()
            logits = logits - (params.frequency_penalty or 0.0) * counts
            logits = logits - (params.presence_penalty or 0.0) * (counts > 0).float()
        temperature = 1.0 if params.temperature is None else params.temperature
        if temperature == 0:
            return logits.argmax()[None]
        logits = logits / temperature
        if params.top_k is not None and params.top_k < logits.shape[0]:
            threshold = logits.topk(params.top_k).values[-1]
            logits = logits.masked_fill(logits < threshold, -torch.inf)
        probs = logits.softmax(-1)
        if params.top_p is not None and params.top_p < 1:
            ordered, order = probs.sort(descending=True)
            # Drop a token when the tokens more likely than it already reach top_p.
            drop = ordered.cumsum(-1) - ordered >= params.top_p
            probs = probs.scatter(0, order, ordered.masked_fill(drop, 0.0))
        if params.min_p:
            probs = probs.masked_fill(probs < params.min_p * probs.max(), 0.0)
        return torch.multinomial(probs, 1, generator=generator)
