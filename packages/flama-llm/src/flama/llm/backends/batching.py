"""Continuous batching for the backends whose library runs a blocking token loop (MLX, transformers).

One worker thread per model runs a step loop over a :class:`Batch`. Between two decode steps, the generations that
arrived join the batch and those that finished or were cancelled leave it, so every generation admitted makes progress
at every step (or every other one, where a backend prefills joiners first) and none waits for another to end. Each
generation keeps its own parameters, random seed, stop handling and token count; what depends on the library (prefill,
one batched forward, sampling per row, the prefix cache) lives in a `Batch`.

A stream that is closed or cancelled sets its generation's cancel flag; the loop drops it from the batch before the
next step, so at most the step under way still computes a token for it, and the other rows are untouched.
"""

import abc
import asyncio
import contextlib
import dataclasses
import gc
import itertools
import math
import random
import threading
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from flama.llm.backends.base import Backend, Delta, Detokenizer, FinishReason, GenerationParams, TokenLogprob
from flama.llm.constraints import Guides
from flama.llm.stops import StopMatcher

__all__ = ["BATCH_OPTIONS", "Batch", "BatchOptions", "BatchedBackend", "Handoff", "Member", "Score", "batch_options"]

Score = tuple[float, list[tuple[int, float]]]
"""A chosen token's log probability and the most likely ``(token id, log probability)`` pairs, most likely first."""

BATCH_OPTIONS = ("cache_size", "cache_bytes", "delta_interval")
"""The load options shared by the batched backends."""
DEFAULT_CACHE_SIZE = 8
DEFAULT_CACHE_BYTES = 1 << 30
DEFAULT_DELTA_INTERVAL = 0.01


@dataclasses.dataclass(frozen=True)
class BatchOptions:
    """The batched backends' shared load options.

    Attributes:
        cache_size: Prompt caches kept for prefix reuse, and recent prompts whose token ids a next turn reuses (0:
            prefix caching off).
        cache_bytes: Most memory the prompt caches take.
        delta_interval: Shortest time, in seconds, between two deltas handed to one stream; tokens made meanwhile
            travel together (0: each token's text goes alone). The first and the last delta are never held.
    """

    cache_size: int = DEFAULT_CACHE_SIZE
    cache_bytes: int = DEFAULT_CACHE_BYTES
    delta_interval: float = DEFAULT_DELTA_INTERVAL


def batch_options(options: Mapping[str, Any]) -> BatchOptions:
    """The `BatchOptions` among load options (missing ones take their defaults).

    Raises:
        TypeError: A cache bound is not a non-negative integer, or ``delta_interval`` not a non-negative number.
    """
    for name in ("cache_size", "cache_bytes"):
        value = options.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise TypeError(f"The {name} option must be a non-negative integer, got {value!r}")
    interval = options.get("delta_interval", 0.0)
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not 0 <= interval < math.inf:
        raise TypeError(f"The delta_interval option must be a non-negative number of seconds, got {interval!r}")
    return BatchOptions(**{name: options[name] for name in BATCH_OPTIONS if name in options})


class Batch(abc.ABC):
    """The library's side of the step loop: rows that join, advance together and leave (used by the worker only).

    Attributes:
        processed: Prompt tokens run through the model so far (cached prefixes are not processed again).
    """

    processed: int = 0
    guides: Guides | None = None
    """Starts the constrained rows' guides (set by the backend)."""

    @abc.abstractmethod
    def insert(self, key: int, ids: list[int], params: GenerationParams, limit: int, seed: int) -> int:
        """Add a generation as a new row; its prompt is processed by the next `step`.

        Args:
            key: The row's key, used by `step` and `remove`.
            ids: Prompt token ids.
            params: Checked parameters.
            limit: Most tokens to generate.
            seed: Seeds this row's sampling.

        Returns:
            How many prompt tokens were taken from the prefix cache.
        """

    @abc.abstractmethod
    def step(self) -> list[tuple[int, int]]:
        """Advance the batch by one token: ``(key, token id)`` for each row that produced one."""

    @abc.abstractmethod
    def remove(self, key: int, *, keep: bool) -> None:
        """Drop a row (unknown keys are ignored); with ``keep``, its cache may be kept for prefix reuse."""

    def scores(self) -> dict[int, Score]:
        """The log probabilities of the tokens the last `step` chose, by key, for the rows that asked for them.

        Rows ask with `GenerationParams.logprobs`; a batch that cannot report them returns none (its backend leaves
        ``logprobs`` out of its `supported` set).
        """
        return {}


def merged(first: Delta, second: Delta) -> Delta:
    """One delta carrying two consecutive ones of a generation."""
    return Delta(
        first.text + second.text,
        first.tokens + second.tokens,
        second.finish_reason,
        first.cached_input_tokens + second.cached_input_tokens,
        first.logprobs + second.logprobs,
    )


class Handoff:
    """Hands a generation's deltas from the worker thread to its stream's event loop, at most one per ``interval``.

    Waking the event loop costs the serving process more than the text of one token of a small model, and both
    threads take turns holding the interpreter. The first delta, the last one and errors go at once; others made
    within ``interval`` seconds of the last one sent are held and travel together, at the latest when the worker
    calls `flush` (before each step, and before a prefill).

    Args:
        loop: The stream's event loop.
        queue: The stream's queue (fed from the loop's thread).
        interval: Seconds (0: every delta goes at once).
        cancel: Set when the event loop is gone (nobody listens any more).
    """

    __slots__ = ("_cancel", "_held", "_interval", "_loop", "_queue", "_sent")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        queue: "asyncio.Queue[Delta | Exception]",
        interval: float,
        cancel: threading.Event,
    ) -> None:
        self._loop = loop
        self._queue = queue
        self._interval = interval
        self._cancel = cancel
        self._held: Delta | None = None
        self._sent = -math.inf

    def __call__(self, item: Delta | Exception) -> None:
        """Hand on a delta (held while the interval runs, unless it is the last) or the error that ended it."""
        held, self._held = self._held, None
        if isinstance(item, Delta):
            item = item if held is None else merged(held, item)
            if item.finish_reason is None and time.monotonic() - self._sent < self._interval:
                self._held = item
                return
        elif held is not None:
            self._send(held)
        self._send(item)

    def flush(self, *, due: bool = True) -> None:
        """Send the held delta, if any; with ``due``, only once ``interval`` has passed since the last one sent."""
        if self._held is not None and (not due or time.monotonic() - self._sent >= self._interval):
            held, self._held = self._held, None
            self._send(held)

    def _send(self, item: Delta | Exception) -> None:
        self._sent = time.monotonic()
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)
        except RuntimeError:  # the event loop is closed
            self._cancel.set()


class Member:
    """One generation in the batch, on the worker's side: its tokens turned into deltas.

    Args:
        key: Its row key.
        ids: Prompt token ids.
        params: Checked parameters.
        limit: Most tokens to generate.
        seed: Seeds its sampling.
        text: Its detokenizer.
        emit: Hands a delta (or the error that ended the generation) to the stream's consumer.
        cancel: Set by the stream's consumer when it leaves.
    """

    __slots__ = (
        "cached",
        "cancel",
        "emit",
        "ids",
        "key",
        "limit",
        "logprobs",
        "made",
        "params",
        "pending",
        "seed",
        "stops",
        "text",
    )

    def __init__(
        self,
        key: int,
        ids: list[int],
        params: GenerationParams,
        limit: int,
        seed: int,
        text: Detokenizer,
        emit: Handoff,
        cancel: threading.Event,
    ) -> None:
        self.key = key
        self.ids = ids
        self.params = params
        self.limit = limit
        self.seed = seed
        self.text = text
        self.stops = StopMatcher(params.stop)
        self.emit = emit
        self.cancel = cancel
        self.made = 0
        self.pending = 0
        self.cached = 0
        self.logprobs: list[TokenLogprob] = []

    def _delta(self, text: str, finish_reason: FinishReason | None = None) -> Delta:
        delta = Delta(text, self.pending, finish_reason, self.cached, tuple(self.logprobs))
        self.pending = self.cached = 0  # the cached count travels with the first delta only
        self.logprobs.clear()
        return delta

    def advance(self, token: int, eos: frozenset[int], logprob: TokenLogprob | None = None) -> bool:
        """Take the next token; emit the text it completes, and the last delta when it ends the generation.

        Args:
            token: The token id.
            eos: The ids that end the generation.
            logprob: The token's log probabilities, when they were asked for (not kept for an end-of-sequence token).

        Returns:
            Whether the generation is over.
        """
        self.made += 1
        self.pending += 1
        if logprob is not None and token not in eos:
            self.logprobs.append(logprob)
        if token in eos:
            self._finish("", "stop")
            return True
        piece = self.stops.feed(self.text.push(token))
        if self.stops.stopped or self.made == self.limit:
            self._finish(piece, "length")  # the finish reason travels with the last piece of text
            return True
        if piece:
            self.emit(self._delta(piece))
        return False

    def _finish(self, piece: str, reason: FinishReason) -> None:
        last = piece + self.stops.feed(self.text.flush())
        last += self.stops.flush()
        self.emit(self._delta(last, "stop" if self.stops.stopped else reason))


B = TypeVar("B", bound="BatchedBackend")


class BatchedBackend(Backend):
    """A backend whose generations run batched in the model's own worker thread.

    Args:
        model: The library's model object.
        tokenizer: The checkpoint's HuggingFace tokenizer.
        context_length: The model's context length.
        eos: Token ids that end a generation.
        executor: The single-thread executor that loaded the model and runs its step loop.
        batch: The library's batch (made in the worker thread).
        options: The shared load options: ``delta_interval``, the shortest time between two deltas of one stream, and
            ``cache_size``, which also bounds the recent prompts whose ids a next turn reuses (`Backend.encode`).

    Attributes:
        steps: Decode steps taken so far (one step advances every row of the batch by a token).
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        context_length: int,
        eos: Iterable[int],
        executor: ThreadPoolExecutor,
        batch: Batch,
        options: BatchOptions = BatchOptions(),
    ) -> None:
        super().__init__(tokenizer, context_length, recent_prompts=options.cache_size)
        self.model = model
        self.batch = batch
        batch.guides = Guides(tokenizer, sorted(eos))
        self.steps = 0
        self._eos = frozenset(eos)
        self._executor = executor
        self._keys = itertools.count()
        self._lock = threading.Condition()
        self._inbox: list[Member] = []
        self._members: dict[int, Member] = {}
        self._serving = False
        self._closed = False
        self.delta_interval = float(options.delta_interval)

    @classmethod
    async def start(cls: type[B], build: Callable[[ThreadPoolExecutor], B]) -> B:
        """Build the backend in a new worker thread of its own, the thread that then runs its step loop.

        One thread per model, since some libraries tie model state to the thread that made it.

        Args:
            build: Loads the model and makes the backend, given its worker (run in that worker).

        Raises:
            BaseException: Whatever ``build`` raised; the worker is shut down first.
        """
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"flama-llm-{cls.name}")
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, build, executor)
        except BaseException:
            executor.shutdown(wait=False)
            raise

    @property
    def running(self) -> int:
        """Generations in the batch or about to join it."""
        with self._lock:
            return len(self._members) + len(self._inbox)

    async def stream(self, ids: list[int], params: GenerationParams, limit: int) -> AsyncIterator[Delta]:
        """Join the batch and stream this generation's deltas; leaving the iteration early drops it from the batch."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Delta | Exception] = asyncio.Queue()
        cancel = threading.Event()
        emit = Handoff(loop, queue, self.delta_interval, cancel)
        seed = params.seed if params.seed is not None else random.getrandbits(63)
        member = Member(next(self._keys), ids, params, limit, seed, Detokenizer(self._decode, ids), emit, cancel)
        with self._lock:
            if self._closed:
                raise RuntimeError(f"the {self.name} backend is closed")
            self._inbox.append(member)
            start, self._serving = not self._serving, True
            self._lock.notify()
        if start:
            _RUNNING.add(self)
            self._executor.submit(self._serve)
        try:
            while True:
                item = await queue.get()
                if isinstance(item, Exception):
                    raise item
                yield item
                if item.finish_reason is not None:
                    return
        finally:
            member.cancel.set()

    def _serve(self) -> None:
        """The step loop (the worker thread): admit, drop the cancelled, step, hand tokens to their generations."""
        members = self._members
        while True:
            with self._lock:
                while not self._inbox and not members and not self._closed:
                    self._lock.wait()
                if self._closed:
                    # Dropped here, in the worker: a library's per-row state (mlx-lm's generate_step and its stream
                    # context) must be released by the thread that made it.
                    for key in list(members):
                        with contextlib.suppress(Exception):
                            self._leave(key, keep=False)
                    return
                joining, self._inbox = self._inbox, []
            try:
                for key in [key for key, member in members.items() if member.cancel.is_set()]:
                    # A generation closed by its consumer (a stop sequence met, a client gone) keeps its cache: the
                    # tokens it was fed are a valid prefix of whatever the conversation goes on with.
                    self._leave(key, keep=True)
                if self.delta_interval:  # otherwise nothing is ever held
                    for member in members.values():
                        member.emit.flush(due=not joining)  # a prefill may take longer than the interval
                for member in joining:
                    if not member.cancel.is_set():
                        self._join(member)
                if members:
                    self._step()
            except Exception as error:  # the loop never dies: what was in the batch ends with the error
                self._fail(error)

    def _join(self, member: Member) -> None:
        try:
            member.cached = self.batch.insert(member.key, member.ids, member.params, member.limit, member.seed)
        except Exception as error:
            member.emit(error)
            return
        self._members[member.key] = member

    def _leave(self, key: int, *, keep: bool) -> None:
        del self._members[key]
        self.batch.remove(key, keep=keep)

    def _step(self) -> None:
        produced = self.batch.step()
        scores = self.batch.scores()
        self.steps += 1
        for key, token in produced:
            current = self._members.get(key)
            if current is None:
                continue
            try:
                score = scores.get(key)
                over = current.advance(token, self._eos, None if score is None else self._logprob(token, score))
            except Exception as error:
                current.emit(error)
                over = False
                self._leave(key, keep=False)
            if over:
                self._leave(key, keep=True)

    def _fail(self, error: Exception) -> None:
        """End every generation in the batch with ``error`` and drop them (the batch cannot go on with them)."""
        for key, failed in list(self._members.items()):
            failed.emit(error)
            with contextlib.suppress(Exception):
                self._leave(key, keep=False)
        self._members.clear()

    def _logprob(self, token: int, score: Score) -> TokenLogprob:
        top = tuple((self._decode([choice]), logprob) for choice, logprob in score[1])
        return TokenLogprob(self._decode([token]), score[0], top)

    def _decode(self, ids: list[int]) -> str:
        if self._rust is not None:  # a fast tokenizer: its Rust tokenizer decodes the same, without the Python layers
            return str(self._rust.decode(ids, skip_special_tokens=False))
        return str(self.tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False))

    async def close(self) -> None:
        """Cancel every generation, then wait for the worker to finish its current step and stop."""
        self._stop()
        await asyncio.to_thread(self._executor.shutdown, wait=True, cancel_futures=True)

    def _stop(self) -> None:
        """Cancel every generation and tell the worker to stop after its current step."""
        with self._lock:
            self._closed = True
            for member in [*self._inbox, *self._members.values()]:
                member.cancel.set()
            self._lock.notify()


_RUNNING: "weakref.WeakSet[BatchedBackend]" = weakref.WeakSet()
"""The batched backends whose worker runs its step loop (see `_stop_at_exit`)."""


def _stop_at_exit() -> None:
    """Stop every step loop still running when the interpreter exits (a program that never closed its backend).

    The interpreter waits for worker threads before it exits, and a step loop waits for work: without this, such a
    program would never end. Registered with ``threading``'s own exit hooks, which run before threads are waited for
    (``concurrent.futures`` stops its idle workers the same way). Each model and batch is then dropped and collected
    while the interpreter is whole: MLX freed as the interpreter ends aborts the process on Python 3.12 ("terminate
    called without an active exception", 8 exits in 10 here; mlx-lm alone, generating in a worker thread, 4 in 6).
    """
    for backend in list(_RUNNING):
        backend._stop()
        backend._executor.shutdown(wait=True, cancel_futures=True)
        backend.batch = None  # type: ignore[assignment]
        backend.model = None
    gc.collect()


threading._register_atexit(_stop_at_exit)  # type: ignore[attr-defined]
