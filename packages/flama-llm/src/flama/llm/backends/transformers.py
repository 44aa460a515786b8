"""The transformers backend: a causal LM run by torch (CPU or CUDA) with our own batched step loop over its KV cache.

transformers' own continuous batching (``generate_batch``) is built for GPUs and runs far slower than one plain
``generate()`` on CPU; a batched forward over a left-padded KV cache is fast on both, so that is what runs here.
"""

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from flama.llm.backends.base import PARAMETERS, GenerationParams, context_length
from flama.llm.backends.batching import BATCH_OPTIONS, Batch, BatchedBackend, Score, batch_options
from flama.llm.backends.prefix import Layers, PrefixCache
from flama.llm.constraints import Guide

__all__ = ["TransformersBackend"]

REUSED_SHARE = 8
"""A cached prefix is reused when it holds at least this share (1/8) of the prompt.

A prompt that runs after a cached prefix is attended to through an explicit mask, which torch's attention runs slower
than a plain causal prefill from the start: on CPU, a 1,500-token prompt of the demo model takes 18 ms after a 4-token
prefix (a chat template's header, which conversations share) and 9 ms alone. A prefix under an eighth of the prompt
saves too little to pay for that."""


@dataclasses.dataclass(slots=True)
class Row:
    """One generation's state in the batch: its sampling settings, the tokens so far, and what to feed next."""

    key: int
    params: GenerationParams
    prompt: int
    history: Any
    bias: Any
    generator: Any
    pending: list[int]
    length: int = 0
    guide: Guide | None = None


class TorchBatch(Batch):
    """Generations advancing together: one forward pass per step over a left-padded, batched KV cache.

    The rows that joined since the last step are prefilled together in one forward pass: each starts from the longest
    cached prefix of its prompt (one that holds at least an eighth of it, see `REUSED_SHARE`), the cached keys and
    values are padded on the left to the longest cached part and the tokens still to run on the left to the longest
    rest, and the resulting keys and values are padded on the left to the batch's length and stacked with the others.
    The attention mask hides every padding (at the left or in the middle of a row) and position ids count each row's
    own tokens, so a row's logits do not depend on the other rows. Under torch's SDPA attention the mask is handed to
    the model whole (see `_attention`), which spares transformers building it again at every step. A row that leaves
    is dropped from the cache, and the columns of padding no row needs any more are cut. Each row samples with its own
    parameters and `torch.Generator`.

    Args:
        model: The causal LM.
        vocabulary: The size of its output layer.
        cache: The prefix cache, or ``None``.
    """

    def __init__(self, model: Any, vocabulary: int, cache: PrefixCache | None) -> None:
        self.model = model
        self.vocabulary = vocabulary
        self.cache = cache
        self.whole_masks = whole_masks(model.config.get_text_config())
        """Whether the model is given whole boolean masks (`_attention`) rather than one flag per column."""
        self.rows: list[Row] = []
        self._joining: list[tuple[Row, list[int], int, Layers | None]] = []
        self._layers: Layers = []
        self._cache: Any = None
        self._mask: Any = None
        self._scores: dict[int, Score] = {}
        self._decoded = True  # whether the last step decoded the rows under way, if any (see `step`)

    def insert(self, key: int, ids: list[int], params: GenerationParams, limit: int, seed: int) -> int:
        """Set the row up; its prompt runs at the next step (cached prefix first)."""
        import numpy as np
        import torch

        device = self.model.device
        # Through numpy: torch.tensor reads a long list of ints five times slower (0.2 ms for 1,500 tokens).
        prompt = np.array(ids, dtype=np.int64)
        row = Row(
            key,
            params,
            len(ids),
            torch.from_numpy(prompt).to(device),
            _bias(params, self.vocabulary, device),
            torch.Generator(device=device).manual_seed(seed),
            ids,
            guide=self.guides.start(params.constraint, len(ids)) if self.guides else None,
        )
        cached, layers = (0, None) if self.cache is None else self.cache.take(prompt, least=len(ids) // REUSED_SHARE)
        self._joining.append((row, ids, cached, layers))
        return cached

    def step(self) -> list[tuple[int, int]]:
        """Run the rows under way and the rows that joined, or the joiners alone; each row that ran yields a token.

        Joiners go first: when rows are under way, a step runs only the joiners' prefill, so their first tokens are
        handed over a decode step earlier, and the rows under way take their next token with them at the next step, in
        one forward. A step that only prefilled is never followed by another, so arrivals at every step cannot hold the
        rows under way back by more than every other step.
        """
        import torch

        produced = []
        first = bool(self.rows and self._joining and self._decoded)
        with torch.inference_mode():
            if self.rows and not first:
                produced = self._decode()
            self._decoded = not first
            if self._joining:
                joining, self._joining = self._joining, []
                produced += self._prefill(joining)
        return produced

    def _decode(self) -> list[tuple[int, int]]:
        import torch
        from transformers import DynamicCache

        device = self.model.device
        inputs = torch.tensor([row.pending for row in self.rows], device=device)
        positions = torch.tensor([[row.length] for row in self.rows], device=device)
        self._mask = torch.cat((self._mask, self._mask.new_ones((len(self.rows), 1))), dim=1)
        # The cache object is kept from step to step, and rebuilt only when rows joined or left.
        cache = self._cache if self._cache is not None else DynamicCache(ddp_cache_data=self._layers)
        output = self.model(
            input_ids=inputs,
            attention_mask=self._attention(self._mask, 1),
            position_ids=positions,
            past_key_values=cache,
            use_cache=True,
            logits_to_keep=1,
        )
        self._cache = output.past_key_values
        self._layers = [(layer.keys, layer.values) for layer in self._cache.layers]
        logits = output.logits[:, -1].float()
        produced = []
        for index, row in enumerate(self.rows):
            row.length += 1
            produced.append((row.key, self._choose(row, logits[index])))
        return produced

    def _prefill(self, joining: list[tuple[Row, list[int], int, Layers | None]]) -> list[tuple[int, int]]:
        """Run the prompts of all the rows that joined in one forward, then add them to the batch.

        Row ``i`` has ``start`` tokens cached and ``rest`` to run. The cached keys and values are padded on the left
        to the longest cached part, the tokens to run on the left to the longest rest, so a row's sequence may have
        padding in the middle: the attention mask hides it, and position ids count the row's own tokens.
        """
        import torch
        from transformers import DynamicCache

        device = self.model.device
        width = max(start for _, _, start, _ in joining)
        span = max(len(ids) - start for _, ids, start, _ in joining)
        inputs = torch.zeros((len(joining), span), dtype=torch.long, device=device)
        positions = torch.zeros((len(joining), span), dtype=torch.long, device=device)
        # Boolean, as the batch's mask is kept: `_attention` hands the model views of it.
        mask = torch.zeros((len(joining), width + span), dtype=torch.bool, device=device)
        for index, (row, ids, start, _) in enumerate(joining):
            rest = len(ids) - start
            inputs[index, span - rest :] = row.history[start:]  # the prompt, until the row's first token
            positions[index, span - rest :] = torch.arange(start, len(ids), device=device)
            mask[index, width - start : width] = True
            mask[index, width + span - rest :] = True
            row.length = len(ids)
            self.processed += rest
        cache = DynamicCache(ddp_cache_data=_stacked([layers for *_, layers in joining], width)) if width else None
        output = self.model(
            input_ids=inputs,
            attention_mask=self._attention(mask, span),
            position_ids=positions,
            past_key_values=cache if cache is not None else DynamicCache(),
            use_cache=True,
            logits_to_keep=1,
        )
        self._stack(
            [row for row, *_ in joining], [(layer.keys, layer.values) for layer in output.past_key_values.layers], mask
        )
        logits = output.logits[:, -1].float()
        return [(row.key, self._choose(row, logits[index])) for index, (row, *_) in enumerate(joining)]

    def _attention(self, mask: Any, queries: int) -> Any:
        """The mask the model is given for ``queries`` new tokens, from a boolean per-column mask (rows x columns).

        Under SDPA, the whole boolean mask (rows x 1 x queries x columns): a query sees the unmasked columns up to its
        own, the last query the last column. transformers builds the same one from the per-column mask at each forward,
        at a cost that a small model's step feels (a tenth to a sixth of a batched decode step of the demo model on
        CPU). A prompt without padding nor cached prefix keeps the per-column mask, so that transformers runs its
        causal attention without any mask.
        """
        import torch

        columns = mask.shape[1]
        if not self.whole_masks or (queries == columns and bool(mask.all())):
            return mask
        whole = mask[:, None, None, :]  # a view: the batch's mask is boolean
        if queries == 1:
            return whole
        return whole & torch.ones((queries, columns), dtype=torch.bool, device=mask.device).tril(columns - queries)

    def _stack(self, rows: list[Row], layers: Layers, mask: Any) -> None:
        """Add rows (their keys, values and mask) to the batch, padding on the left to a common length."""
        import torch

        self._cache = None
        if not self.rows:
            self._layers, self._mask = layers, mask
        else:
            width = max(mask.shape[1], self._mask.shape[1])
            self._layers = [
                (
                    torch.cat((_pad(keys, width), _pad(new_keys, width))),
                    torch.cat((_pad(values, width), _pad(new_values, width))),
                )
                for (keys, values), (new_keys, new_values) in zip(self._layers, layers, strict=True)
            ]
            self._mask = torch.cat((_pad(self._mask, width, dim=1), _pad(mask, width, dim=1)))
        self.rows.extend(rows)

    def _kept(self, index: int) -> Layers:
        """A leaving row's keys and values, for the prefix cache.

        A row alone in the batch, without padding, leaves with the batch's own tensors when nothing else shares their
        memory (the batch lets go of them, so the entry's bytes are what it holds). Otherwise its unmasked columns
        (padding may sit on the left and, after a batched prefill, in the middle) are copied out of the batch's
        tensors, so the entry does not keep those alive.
        """
        mask = self._mask[index]
        alone = self._mask.shape[0] == 1 and bool(mask.all())
        if alone and all(
            tensor.untyped_storage().nbytes() == tensor.nbytes for layer in self._layers for tensor in layer
        ):
            return list(self._layers)
        columns = mask.nonzero().squeeze(1)
        return [(k[index : index + 1, :, columns], v[index : index + 1, :, columns]) for k, v in self._layers]

    def _choose(self, row: Row, logits: Any) -> int:
        import torch

        logits = _adjust(logits, row.history, row.prompt, row.params, row.bias)
        if row.guide is not None:
            allowed = torch.from_numpy(row.guide.allowed(row.history, logits.shape[-1])).to(logits.device)
            logits = logits.masked_fill(~allowed, -torch.inf)
        token = _sample(logits, row.params, row.generator)
        row.history = torch.cat((row.history, token))
        row.pending = [int(token)]
        if row.params.logprobs is not None:
            self._scores[row.key] = _score(logits, row.pending[0], row.params.logprobs)
        return row.pending[0]

    def scores(self) -> dict[int, Score]:
        """The log probabilities of the last step's tokens (after the logit bias and penalties)."""
        scores, self._scores = self._scores, {}
        return scores

    def remove(self, key: int, *, keep: bool) -> None:
        """Drop the row; with ``keep``, its keys and values are offered to the prefix cache."""
        import torch

        self._joining = [joining for joining in self._joining if joining[0].key != key]
        index = next((index for index, row in enumerate(self.rows) if row.key == key), None)
        if index is None:
            return
        row = self.rows.pop(index)
        self._cache = None
        if keep and self.cache is not None:
            # The cache holds every token fed so far (all but the last one sampled).
            self.cache.put(row.history[:-1].tolist(), self._kept(index))
        if not self.rows:
            self._layers, self._mask = [], None
            return
        keep = torch.tensor([i for i in range(len(self.rows) + 1) if i != index], device=self.model.device)
        mask = self._mask[keep]
        # Columns that are padding in every remaining row are cut.
        first = int(mask.any(dim=0).nonzero()[0])
        self._mask = mask[:, first:]
        self._layers = [(k[keep, :, first:], v[keep, :, first:]) for k, v in self._layers]


def whole_masks(config: Any) -> bool:
    """Whether a model (its text config) can be given whole boolean attention masks: SDPA attention, every layer causal.

    A model with sliding-window or chunked attention layers gets one flag per column, from which transformers builds
    each kind of layer its own mask; a whole mask would be used as it is by every layer.
    """
    if getattr(config, "_attn_implementation", None) != "sdpa":
        return False
    kinds = getattr(config, "layer_types", None)
    if kinds is not None:
        return set(kinds) <= {"full_attention"}
    return getattr(config, "sliding_window", None) is None and getattr(config, "attention_chunk_size", None) is None


def _stacked(caches: list[Layers | None], width: int) -> Layers:
    """Cached prefixes of several rows as one batch, each padded on the left to ``width`` (zeros for no prefix)."""
    import torch

    if len(caches) == 1 and caches[0] is not None:
        return caches[0]  # one row, all of it cached prefix: nothing to pad
    shaped = next(layers for layers in caches if layers)
    stacked = []
    for index, (keys, values) in enumerate(shaped):
        empty = (keys[:, :, :0], values[:, :, :0])
        parts = [layers[index] if layers else empty for layers in caches]
        stacked.append(
            (torch.cat([_pad(part, width) for part, _ in parts]), torch.cat([_pad(part, width) for _, part in parts]))
        )
    return stacked


def _pad(tensor: Any, width: int, dim: int = 2) -> Any:
    """Zeros on the left of ``dim`` up to ``width``."""
    import torch

    missing = width - tensor.shape[dim]
    if not missing:
        return tensor
    shape = list(tensor.shape)
    shape[dim] = missing
    return torch.cat((tensor.new_zeros(shape), tensor), dim=dim)


def _bias(params: GenerationParams, vocabulary: int, device: Any) -> Any:
    """The logit bias as a dense vector, or ``None``."""
    if not params.logit_bias:
        return None
    import torch

    bias = torch.zeros(vocabulary, device=device)
    bias[list(params.logit_bias)] = torch.tensor(list(params.logit_bias.values()), device=device)
    return bias


class TransformersBackend(BatchedBackend):
    """Runs a checkpoint with ``transformers.AutoModelForCausalLM`` and torch, generations batched (see `TorchBatch`).

    Sampling per row: logit bias, repetition penalty (over prompt and output), frequency and presence penalties,
    temperature, top-k, top-p and min-p, drawing from a `torch.Generator` seeded per generation. Options of `load`:
    ``device`` (``"cpu"``, ``"cuda"``, ...; default CUDA when available), ``dtype`` (a torch dtype name such as
    ``"bfloat16"``; default the checkpoint's), ``cache_size`` (prompt caches kept for prefix reuse, default 8; 0 turns
    it off), ``cache_bytes`` (their memory bound, default 1 GiB) and ``delta_interval`` (see `BatchOptions`, default
    10 ms).
    """

    name = "transformers"
    requirement = "the transformers and torch packages (pip install 'flama-llm[transformers]')"
    supported = PARAMETERS | {"logprobs", "constraint"}
    libraries = ("transformers", "torch")

    @classmethod
    async def load(cls, directory: Path, **options: Any) -> "TransformersBackend":
        """Load the checkpoint in the model's worker thread.

        Args:
            directory: A HuggingFace-layout checkpoint.
            **options: ``device``: torch device, default ``"cuda"`` when available, else ``"cpu"``; ``dtype``: torch
                dtype name, default the checkpoint's own; ``cache_size``, ``cache_bytes``, ``delta_interval`` (see the
                class). Any other is a `TypeError`.
        """
        cls.reject_options(options, "device", "dtype", *BATCH_OPTIONS)
        shared = batch_options(options)
        cls.require()
        device, dtype = options.get("device"), options.get("dtype")

        def build(executor: ThreadPoolExecutor) -> "TransformersBackend":
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer

            target = device or ("cuda" if torch.cuda.is_available() else "cpu")
            model = AutoModelForCausalLM.from_pretrained(directory, dtype=dtype or "auto").to(target).eval()
            tokenizer = AutoTokenizer.from_pretrained(directory)
            configured = model.generation_config.eos_token_id
            eos = {*(configured if isinstance(configured, list) else [configured]), tokenizer.eos_token_id} - {None}
            cache = PrefixCache(shared.cache_size, shared.cache_bytes) if shared.cache_size else None
            batch = TorchBatch(model, model.config.get_text_config().vocab_size, cache)
            length = context_length(directory, tokenizer)
            return cls(model, tokenizer, length, eos, executor, batch, shared)

        return await cls.start(build)


def _score(logits: Any, token: int, top: int) -> Score:
    """A token's log probability and the ``top`` most likely tokens, from adjusted logits."""
    logprobs = logits.log_softmax(-1)
    best = logprobs.topk(top) if top else None
    ranked = [] if best is None else list(zip(best.indices.tolist(), best.values.tolist(), strict=True))
    return float(logprobs[token]), ranked


def _adjust(logits: Any, history: Any, prompt: int, params: GenerationParams, bias: Any) -> Any:
    """The last position's logits after the logit bias and the repetition, frequency and presence penalties."""
    import torch

    if bias is not None:
        logits = logits + bias[: logits.shape[0]]
    if params.repetition_penalty is not None:
        seen = history.unique()
        scores = logits[seen]
        logits[seen] = torch.where(scores > 0, scores / params.repetition_penalty, scores * params.repetition_penalty)
    if params.frequency_penalty or params.presence_penalty:
        counts = torch.bincount(history[prompt:], minlength=logits.shape[0])[: logits.shape[0]].float()
        logits = logits - (params.frequency_penalty or 0.0) * counts
        logits = logits - (params.presence_penalty or 0.0) * (counts > 0).float()
    return logits


def _sample(logits: Any, params: GenerationParams, generator: Any) -> Any:
    """Pick the next token (a one-element tensor) from adjusted logits."""
    import torch

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
