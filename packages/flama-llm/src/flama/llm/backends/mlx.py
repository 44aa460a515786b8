"""The MLX backend: mlx-lm's continuous batching (Apple Silicon, or Linux CPU through ``mlx[cpu]``)."""

import dataclasses
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

from flama.llm.backends.base import PARAMETERS, GenerationParams, context_length
from flama.llm.backends.batching import BATCH_OPTIONS, Batch, BatchedBackend, Score, batch_options
from flama.llm.constraints import Guide

__all__ = ["MLXBackend"]

# Rows mlx-lm's batch generator may hold: admission (the model's ``max_running``) is what bounds the batch.
MAX_ROWS = 1 << 16


@dataclasses.dataclass(slots=True)
class Row:
    """A generation waiting for the next step, or running alone through mlx-lm's ``generate_step``.

    Attributes:
        ids: The prompt.
        rest: The prompt's tokens after its cached prefix (those to run).
        cache: The cached prefix's KV cache, or ``None``; then, alone, the row's own KV cache.
        alone: Whether it may run alone (no logits processor that keeps state from token to token).
        history: Whether its logits processors read the tokens before the last one (the penalties).
        steps: ``generate_step``'s iterator, while it runs alone.
        made: The tokens it made alone (each fed to its KV cache already: ``generate_step`` runs a step ahead).
    """

    key: int
    ids: list[int]
    rest: list[int]
    cache: list[Any] | None
    limit: int
    sampler: "Sampler | None"
    processors: list[Any]
    alone: bool
    history: bool
    steps: Generator[tuple[int, Any], None, None] | None = None
    made: list[int] = dataclasses.field(default_factory=list)


class MLXBatch(Batch):
    """Rows of mlx-lm's ``BatchGenerator`` (the batching its own server uses), with a prefix cache of recent prompts.

    A generation that is alone runs through mlx-lm's plain ``generate_step`` instead (a batch of one costs a third
    more per token); when another joins, its KV cache, tokens and random key move into the batch, which goes on from
    the token it would have made next. Rows with a grammar (stateful logits processors) always run in the batch.

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
        self._waiting: list[Row] = []  # rows inserted since the last step
        self._alone: Row | None = None

    def insert(self, key: int, ids: list[int], params: GenerationParams, limit: int, seed: int) -> int:
        """Queue the row for the next step, after the longest cached prefix of its prompt."""
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
        guide = self.guides.start(params.constraint, len(ids)) if self.guides else None
        if guide is not None:
            processors.append(_guided(guide))
        sampler = _sampler(params, mx.random.key(seed))
        history = bool(params.repetition_penalty or params.frequency_penalty or params.presence_penalty)
        self._waiting.append(Row(key, ids, rest, cache, limit, sampler, processors, guide is None, history))
        if params.logprobs is not None:
            self._top[key] = params.logprobs
        self.processed += len(rest)
        return cached

    def step(self) -> list[tuple[int, int]]:
        """One step of the row running alone, or one call of the generator (a decode step, and rows' prefill)."""
        self._scores = {}
        waiting, self._waiting = self._waiting, []
        if self._alone is None and not self._uids and len(waiting) == 1 and waiting[0].alone:
            self._alone = waiting.pop()
        elif self._alone is not None and waiting:
            self._join(self._moved(self._alone))
            self._alone = None
        for row in waiting:
            self._join(row)
        if self._alone is not None:
            return self._step_alone(self._alone)
        _, responses = self.generator.next()
        produced = []
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

    def _join(self, row: Row) -> None:
        (uid,) = self.generator.insert(
            [row.rest],
            max_tokens=[row.limit],
            caches=[row.cache] if row.cache is not None else None,
            all_tokens=[row.ids[: len(row.ids) - len(row.rest)]],
            samplers=[row.sampler],
            logits_processors=[row.processors],
        )
        self._uids[row.key], self._keys[uid] = uid, row.key

    def _step_alone(self, row: Row) -> list[tuple[int, int]]:
        import mlx.core as mx
        from mlx_lm.generate import generate_step
        from mlx_lm.models.cache import make_prompt_cache

        if row.steps is None:
            row.cache = row.cache if row.cache is not None else make_prompt_cache(self.model)
            # generate_step hands its processors the tokens it ran: the cached prefix goes in front of them for those
            # that read them (one more array operation per token otherwise).
            prefix = mx.array(row.ids[: len(row.ids) - len(row.rest)])
            wrap = prefix.size and row.history
            processors = [_prefixed(prefix, processor) for processor in row.processors] if wrap else []
            row.steps = generate_step(
                mx.array(row.rest),
                self.model,
                max_tokens=row.limit,
                sampler=row.sampler,
                logits_processors=processors or row.processors,
                prompt_cache=row.cache,
            )
        token, logprobs = next(row.steps)
        row.made.append(int(token))
        if row.key in self._top:
            self._scores[row.key] = _score(logprobs, int(token), self._top[row.key])
        return [(row.key, int(token))]

    def _moved(self, row: Row) -> Row:
        """The row that ran alone, as a row for the batch: it runs its last token again, for the next one."""
        from mlx_lm.models.cache import trim_prompt_cache

        assert row.steps is not None
        assert row.cache is not None
        row.steps.close()
        trim_prompt_cache(row.cache, 1)
        if row.sampler is not None:
            row.sampler.rewind()  # generate_step drew the next token already: the batch draws it again
        ids = row.ids + row.made[:-1]
        limit = row.limit - len(row.made)
        return Row(row.key, ids, row.made[-1:], row.cache, limit, row.sampler, row.processors, False, row.history)

    def scores(self) -> dict[int, Score]:
        """The log probabilities mlx-lm computed for the last step's tokens (after the logits processors)."""
        return self._scores

    def remove(self, key: int, *, keep: bool) -> None:
        """Drop the row from the generator (unless it has left already); with ``keep``, its cache is kept."""
        self._top.pop(key, None)
        self._waiting = [row for row in self._waiting if row.key != key]
        if self._alone is not None and self._alone.key == key:
            row, self._alone = self._alone, None
            if row.steps is not None:
                row.steps.close()
                if keep and row.cache is not None:
                    self._keep(row.ids + row.made, row.cache)
            return
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


def _guided(guide: Guide) -> Any:
    """A logits processor leaving only the tokens the row's grammar allows."""
    import mlx.core as mx

    def constrain(tokens: Any, logits: Any) -> Any:
        allowed = mx.array(guide.allowed(tokens, logits.shape[-1]))
        return mx.where(allowed, logits, mx.array(-mx.inf, dtype=logits.dtype))

    return constrain


def _prefixed(prefix: Any, processor: Any) -> Any:
    """A logits processor given ``prefix`` in front of the tokens it is handed."""
    import mlx.core as mx

    def process(tokens: Any, logits: Any) -> Any:
        return processor(mx.concatenate([prefix, tokens]), logits)

    return process


class Sampler:
    """Draws a row's tokens from its own random key (filters: top-p, min-p, top-k; then temperature).

    Args:
        params: The row's parameters (temperature above 0).
        key: The random key it starts from.
    """

    __slots__ = ("key", "params", "previous")

    def __init__(self, params: GenerationParams, key: Any) -> None:
        self.params = params
        self.key = self.previous = key

    def __call__(self, logprobs: Any) -> Any:
        import mlx.core as mx
        from mlx_lm.sample_utils import apply_min_p, apply_top_k, apply_top_p

        params = self.params
        if params.top_p is not None and params.top_p < 1:
            logprobs = apply_top_p(logprobs, params.top_p)
        if params.min_p:
            logprobs = apply_min_p(logprobs, params.min_p)
        if params.top_k is not None and params.top_k < logprobs.shape[-1]:
            logprobs = apply_top_k(logprobs, params.top_k)
        self.previous = self.key
        self.key, draw = mx.random.split(self.key)
        return mx.random.categorical(logprobs * (1.0 / (params.temperature or 1.0)), key=draw)

    def rewind(self) -> None:
        """Undo the last draw's use of the key (the same token is drawn again)."""
        self.key = self.previous


def _sampler(params: GenerationParams, key: Any) -> Sampler | None:
    """The row's sampler; ``None`` (mlx-lm's shared batched argmax) at temperature 0."""
    return None if params.temperature == 0 else Sampler(params, key)


class MLXBackend(BatchedBackend):
    """Runs a checkpoint with ``mlx_lm.load`` and mlx-lm's ``BatchGenerator``.

    Sampling uses mlx-lm's filters (top-p, min-p, top-k) and logits processors (logit bias, repetition penalty
    over the whole sequence), our own frequency and presence penalties (over the output, as OpenAI defines them),
    and draws from a random key seeded per generation, so seeds never depend on MLX's global random state nor on the
    batch. Options of `load`: ``cache_size`` (prompt caches kept for prefix reuse, default 8; 0 turns it off),
    ``cache_bytes`` (their memory bound, default 1 GiB) and ``delta_interval`` (see `BatchOptions`, default 10 ms).
    """

    name = "mlx"
    requirement = "the mlx and mlx-lm packages (pip install 'flama-llm[mlx]')"
    supported = PARAMETERS | {"logprobs", "constraint"}
    libraries = ("mlx", "mlx_lm")

    @classmethod
    async def load(cls, directory: Path, **options: Any) -> "MLXBackend":
        """Load the checkpoint in the model's worker thread (MLX streams belong to the thread that uses them).

        Args:
            directory: A HuggingFace-layout checkpoint.
            **options: ``cache_size``, ``cache_bytes`` and ``delta_interval`` (see the class); any other is a
                `TypeError`.
        """
        cls.reject_options(options, *BATCH_OPTIONS)
        shared = batch_options(options)
        cls.require()

        def build(executor: ThreadPoolExecutor) -> "MLXBackend":
            import mlx_lm

            model, wrapper = mlx_lm.load(str(directory))
            tokenizer = wrapper._tokenizer  # the HuggingFace tokenizer inside mlx-lm's wrapper
            eos = set(wrapper.eos_token_ids)
            length = context_length(directory, tokenizer)
            batch = MLXBatch(model, eos, length, shared.cache_size, shared.cache_bytes)
            return cls(model, tokenizer, length, eos, executor, batch, shared)

        return await cls.start(build)
