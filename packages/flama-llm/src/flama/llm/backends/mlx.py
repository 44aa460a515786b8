"""The MLX backend: mlx-lm's token loop (Apple Silicon, or Linux CPU through ``mlx[cpu]``)."""

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flama.llm.backends.base import PARAMETERS, GenerationParams, ThreadedBackend, context_length

__all__ = ["MLXBackend"]


class MLXBackend(ThreadedBackend):
    """Runs a checkpoint with ``mlx_lm.load`` and ``mlx_lm.generate.generate_step``.

    Sampling uses mlx-lm's filters (top-p, min-p, top-k) and logits processors (logit bias, repetition penalty
    over the whole sequence), our own frequency and presence penalties (over the output, as OpenAI defines them),
    and draws from a random key seeded per generation, so seeds never depend on MLX's global random state.
    `load` takes no options.
    """

    name = "mlx"
    requirement = "the mlx and mlx-lm packages (pip install 'flama-llm[mlx]')"
    supported = PARAMETERS
    libraries = ("mlx", "mlx_lm")

    @classmethod
    async def load(cls, directory: Path, **options: Any) -> "MLXBackend":
        """Load the checkpoint in the model's worker thread (MLX streams belong to the thread that uses them).

        Args:
            directory: A HuggingFace-layout checkpoint.
            **options: None are known; any is a `TypeError`.
        """
        cls.reject_options(options)
        cls.require()
        executor = cls.worker(cls.name)

        def build() -> "MLXBackend":
            import mlx_lm

            model, wrapper = mlx_lm.load(str(directory))
            tokenizer = wrapper._tokenizer  # the HuggingFace tokenizer inside mlx-lm's wrapper
            return cls(model, tokenizer, context_length(directory, tokenizer), set(wrapper.eos_token_ids), executor)

        try:
            return await asyncio.get_running_loop().run_in_executor(executor, build)
        except BaseException:
            executor.shutdown(wait=False)
            raise

    def steps(self, ids: list[int], params: GenerationParams, limit: int, seed: int) -> Iterator[int]:
        """mlx-lm's generate_step with our sampler and logits processors."""
        import mlx.core as mx
        from mlx_lm.generate import generate_step
        from mlx_lm.sample_utils import make_logits_processors

        processors = make_logits_processors(
            logit_bias=params.logit_bias,
            repetition_penalty=params.repetition_penalty,
            repetition_context_size=self.context_length,
        )
        if params.frequency_penalty or params.presence_penalty:
            processors.append(self._penalties(len(ids), params.frequency_penalty, params.presence_penalty))
        sampler = self._sampler(params, mx.random.key(seed))
        for token, _ in generate_step(
            mx.array(ids), self.model, max_tokens=limit, sampler=sampler, logits_processors=processors
        ):
            yield int(token)

    @staticmethod
    def _penalties(prompt: int, frequency: float | None, presence: float | None) -> Any:
        """A logits processor subtracting frequency and presence penalties for tokens already generated."""

        def penalize(tokens: Any, logits: Any) -> Any:
            generated = tokens[prompt:]
            if generated.size:
                if frequency:
                    logits = logits.at[:, generated].subtract(frequency)
                if presence:
                    logits[:, generated] -= presence
            return logits

        return penalize

    @staticmethod
    def _sampler(params: GenerationParams, key: Any) -> Any:
        """A sampler drawing from its own random key; greedy at temperature 0."""
        import mlx.core as mx
        from mlx_lm.sample_utils import apply_min_p, apply_top_k, apply_top_p

        temperature = 1.0 if params.temperature is None else params.temperature
        if temperature == 0:
            return lambda logprobs: mx.argmax(logprobs, axis=-1)
        state = [key]

        def sample(logprobs: Any) -> Any:
            if params.top_p is not None and params.top_p < 1:
                logprobs = apply_top_p(logprobs, params.top_p)
            if params.min_p:
                logprobs = apply_min_p(logprobs, params.min_p)
            if params.top_k is not None and params.top_k < logprobs.shape[-1]:
                logprobs = apply_top_k(logprobs, params.top_k)
            state[0], draw = mx.random.split(state[0])
            return mx.random.categorical(logprobs * (1.0 / temperature), key=draw)

        return sample
