"""The MLX backend: mlx-lm's continuous batching (Apple Silicon, or Linux CPU through ``mlx[cpu]``)."""

import asyncio
from pathlib import Path
from typing import Any, cast

from flama.llm.backends.base import PARAMETERS, GenerationParams, context_length
from flama.llm.backends.batching import CACHE_OPTIONS, Batch, BatchedBackend, Score, cache_limits

__all__ = ["MLXBackend"]

# Rows mlx-lm's batch generator may hold: admission (the model's ``max_running``) is what bounds the batch.
MAX_ROWS = 1 << 16


class MLXBatch(Batch):
    """Rows of mlx-lm's ``BatchGenerator`` (the batching its own server uses), with a prefix cache of recent prompts.

    Each row gets its own sampler (a random key seeded per generation, so a seed gives the same output whatever else
    is in the batch) and logits processors; greedy rows share mlx-lm's batched argmax. A finished row's KV cache goes
    into mlx-lm's ``LRUPromptCache``; a new prompt starts from the longest cached prefix of it.

    Args:
        model: The MLX model.
        eos: Token ids that end a generation.
        context: The model's context length (the window of the repetition penalty).
        cache_size: Prompt caches kept (0 turns prefix caching off).
        cache_bytes: Most bytes the prompt caches take together.
    """

    def __init__(self, model: Any, eos: set[int], context: int, cache_size: int, cache_bytes: int) -> None:
        from mlx_lm.generate import BatchGenerator
        from mlx_lm.models.cache import LRUPromptCache

        self.model = model
        self.context = context
        self.generator = BatchGenerator(
            model,
            stop_tokens=[[token] for token in sorted(eos)],
            completion_batch_size=MAX_ROWS,
            prefill_batch_size=MAX_ROWS,
        )
        self.cache = LRUPromptCache(max_size=cache_size, max_bytes=cache_bytes) if cache_size else None
        self._uids: dict[int, int] = {}
        self._keys: dict[int, int] = {}
        self._top: dict[int, int] = {}  # rows that report log probabilities: how many alternatives
        self._scores: dict[int, Score] = {}

    def insert(self, key: int, ids: list[int], params: GenerationParams, limit: int, seed: int) -> int:
        """Queue the row in the generator, after the longest cached prefix of its prompt."""
        import mlx.core as mx
        from mlx_lm.models.cache import trim_prompt_cache
        from mlx_lm.sample_utils import make_logits_processors

        cache, rest = None, ids
        if self.cache is not None:
            cache, rest = self.cache.fetch_nearest_cache(None, ids)
            if cache is not None and not rest:  # the whole prompt is cached: run its last token again
                trim_prompt_cache(cache, 1)
                rest = ids[-1:]
        cached = len(ids) - len(rest)
        processors = make_logits_processors(
            logit_bias=params.logit_bias,
            repetition_penalty=params.repetition_penalty,
            repetition_context_size=self.context,
        )
        if params.frequency_penalty or params.presence_penalty:
            processors.append(_penalties(len(ids), params.frequency_penalty, params.presence_penalty))
        (uid,) = self.generator.insert(
            [rest],
            max_tokens=[limit],
            caches=[cache] if cache is not None else None,
            all_tokens=[ids[:cached]],
            samplers=[_sampler(params, mx.random.key(seed))],
            logits_processors=[processors],
        )
        self._uids[key], self._keys[uid] = uid, key
        if params.logprobs is not None:
            self._top[key] = params.logprobs
        self.processed += len(rest)
        return cached

    def step(self) -> list[tuple[int, int]]:
        """One call of the generator (a decode step, and the prefill of rows that joined)."""
        _, responses = self.generator.next()
        produced = []
        self._scores = {}
        for response in responses:
            key = self._keys[response.uid]
            produced.append((key, int(response.token)))
            if key in self._top:
                self._scores[key] = _score(response.logprobs, int(response.token), self._top[key])
            if response.finish_reason is not None:  # the generator has dropped the row itself
                self._top.pop(key, None)
                del self._keys[response.uid], self._uids[key]
                self._keep(response.all_tokens, response.prompt_cache)
        return produced

    def scores(self) -> dict[int, Score]:
        """The log probabilities mlx-lm computed for the last step's tokens (after the logits processors)."""
        return self._scores

    def remove(self, key: int, *, keep: bool) -> None:
        """Drop the row from the generator (unless it has left already); with ``keep``, its cache is kept."""
        self._top.pop(key, None)
        uid = self._uids.pop(key, None)
        if uid is None:
            return
        del self._keys[uid]
        caches = self.generator.remove([uid], return_prompt_caches=keep and self.cache is not None)
        for cache, tokens in caches.values():
            if cache and tokens:  # a row still waiting for its prefill holds nothing new
                self._keep(tokens, cache)

    def _keep(self, tokens: list[int], cache: list[Any]) -> None:
        if self.cache is not None:
            self.cache.insert_cache(None, list(tokens), cache)


def _score(logprobs: Any, token: int, top: int) -> Score:
    """A token's log probability and the ``top`` most likely tokens from a row's log probabilities."""
    import mlx.core as mx

    if not top:
        return float(logprobs[token].item()), []
    best = mx.argpartition(-logprobs, kth=top - 1)[:top]
    ids = cast(list[int], best.tolist())  # a 1-d array gives a list
    values = cast(list[float], logprobs[best].tolist())
    ranked = sorted(zip(ids, values, strict=True), key=lambda pair: -pair[1])
    return float(logprobs[token].item()), [(int(choice), float(value)) for choice, value in ranked]


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


def _sampler(params: GenerationParams, key: Any) -> Any:
    """A sampler drawing from its own random key; ``None`` (mlx-lm's shared batched argmax) at temperature 0."""
    import mlx.core as mx
    from mlx_lm.sample_utils import apply_min_p, apply_top_k, apply_top_p

    temperature = 1.0 if params.temperature is None else params.temperature
    if temperature == 0:
        return None
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


class MLXBackend(BatchedBackend):
    """Runs a checkpoint with ``mlx_lm.load`` and mlx-lm's ``BatchGenerator``.

    Sampling uses mlx-lm's filters (top-p, min-p, top-k) and logits processors (logit bias, repetition penalty
    over the whole sequence), our own frequency and presence penalties (over the output, as OpenAI defines them),
    and draws from a random key seeded per generation, so seeds never depend on MLX's global random state nor on the
    batch. Options of `load`: ``cache_size`` (prompt caches kept for prefix reuse, default 8; 0 turns it off) and
    ``cache_bytes`` (their memory bound, default 1 GiB).
    """

    name = "mlx"
    requirement = "the mlx and mlx-lm packages (pip install 'flama-llm[mlx]')"
    supported = PARAMETERS | {"logprobs"}
    libraries = ("mlx", "mlx_lm")

    @classmethod
    async def load(cls, directory: Path, **options: Any) -> "MLXBackend":
        """Load the checkpoint in the model's worker thread (MLX streams belong to the thread that uses them).

        Args:
            directory: A HuggingFace-layout checkpoint.
            **options: ``cache_size`` and ``cache_bytes`` (see the class); any other is a `TypeError`.
        """
        cls.reject_options(options, *CACHE_OPTIONS)
        cache_size, cache_bytes = cache_limits(options)
        cls.require()
        executor = cls.worker(cls.name)

        def build() -> "MLXBackend":
            import mlx_lm

            model, wrapper = mlx_lm.load(str(directory))
            tokenizer = wrapper._tokenizer  # the HuggingFace tokenizer inside mlx-lm's wrapper
            eos = set(wrapper.eos_token_ids)
            length = context_length(directory, tokenizer)
            batch = MLXBatch(model, eos, length, cache_size, cache_bytes)
            return cls(model, tokenizer, length, eos, executor, batch)

        try:
            return await asyncio.get_running_loop().run_in_executor(executor, build)
        except BaseException:
            executor.shutdown(wait=False)
            raise
