"""A generation's path, dialect-free: canonical request -> prompt -> backend -> stop trimming -> decoder -> events.

Dialects build a :class:`Prepared` generation with :meth:`Pipeline.prepare` (every problem with the request is
raised there, before anything is sent) and then consume :meth:`Pipeline.run`: the decoder's canonical events
(``BlockStart``, ``BlockDelta``, ``BlockStop``) followed by one :class:`Finish` with the stop reason and exact token
usage. :func:`collect` folds the events into the blocks of a buffered answer.

Stop sequences are trimmed here (with :class:`~flama.llm.stops.StopMatcher`) rather than in the backends, so every
backend honours them the same way and the stop reason says ``stop_sequence``: text is held back while it could still be
the start of a stop sequence (stop sequences split across deltas are caught), and the backend's iterator is closed the
moment one is found, which stops its work.
"""

import dataclasses
import functools
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypedDict

import anyio.to_thread
import jinja2
from flama.llm.backends.base import MAX_LOGPROBS, Backend, GenerationParams, TokenLogprob
from flama.llm.constraints import Constraint, bind
from flama.llm.decoder import Decoder, DecoderSpec
from flama.llm.events import BlockDelta, BlockStart, BlockStop, Event
from flama.llm.exceptions import InvalidParameter, InvalidRequest
from flama.llm.prompts import Prompt
from flama.llm.stops import StopMatcher
from flama.models.admission import Admission

if TYPE_CHECKING:  # typing.Unpack is 3.11+; only type checkers read it here
    from typing_extensions import Unpack

__all__ = [
    "DEFAULT_OFFLOAD_QUEUE",
    "DEFAULT_OFFLOAD_SIZE",
    "Block",
    "Completion",
    "Finish",
    "Pipeline",
    "PrepareOptions",
    "Prepared",
    "StopReason",
    "Usage",
    "collect",
]

StopReason = Literal["end", "length", "stop_sequence", "tool_use", "cancelled"]

DEFAULT_OFFLOAD_SIZE = 16 * 1024
"""`Pipeline.prepare_async` prepares a prompt of more characters than this in a worker thread.

Tokenizing 16,000 characters takes the demo model's tokenizer 4 to 5 ms of one CPU core here, about as long as the event
loop should ever stop for; a hop to a worker thread and back costs more than a short prompt's whole preparation."""

DEFAULT_OFFLOAD_QUEUE = 8
"""Long prompts allowed to wait per model while another one is prepared in the worker thread (`Pipeline.prepare_async`).

Each one is a request holding its body (16 MiB at most by default) and waiting its turn behind prompts that take
seconds each to tokenize when they are megabytes long; one beyond these is turned away at once (`QueueFull`, a 429 with
``Retry-After``) rather than left waiting for minutes."""


@dataclasses.dataclass(frozen=True, slots=True)
class Usage:
    """Tokens read from the prompt and generated.

    Attributes:
        input_tokens: Prompt tokens.
        output_tokens: Tokens generated.
        cached_input_tokens: Prompt tokens taken from the model's prefix cache (part of ``input_tokens``).
    """

    input_tokens: int
    output_tokens: int
    cached_input_tokens: int = 0

    def to_dict(self) -> dict[str, int]:
        """The JSON form of the counts every dialect reports: ``input_tokens`` and ``output_tokens``."""
        return {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens}


@dataclasses.dataclass(frozen=True, slots=True)
class Finish:
    """The end of a generation.

    Attributes:
        stop_reason: ``tool_use`` when a tool call was emitted, ``stop_sequence`` when a stop sequence was met,
            ``length`` when ``max_tokens`` ran out, ``end`` when the model ended its turn; ``cancelled`` (given only
            to `Pipeline.run`'s ``stopped`` callback) when the generation was stopped before its end.
        usage: Token counts.
        first_token: Seconds from the start of the generation to the first delta (``None`` when none came).
        duration: Seconds from the start of the generation to its end.
    """

    stop_reason: StopReason
    usage: Usage
    first_token: float | None
    duration: float


@dataclasses.dataclass(frozen=True, slots=True)
class Prepared:
    """A validated generation, ready to run.

    Attributes:
        logprobs: When log probabilities were asked for, the generated tokens' ones, appended by `Pipeline.run` as
            they come (a dialect reads them beside the events); ``None`` otherwise.
        ids: The prompt's token ids, when known (the backend encodes the prompt otherwise).
    """

    prompt: str
    params: GenerationParams
    stop: tuple[str, ...]
    input_tokens: int
    logprobs: list[TokenLogprob] | None = None
    ids: list[int] | None = None


class PrepareOptions(TypedDict, total=False):
    """The keyword options of `Pipeline.prepare`, for the layers that hand them on.

    Attributes:
        logprobs: Report the generated tokens' log probabilities with this many alternatives (0 to 20).
        logprobs_field: The request field that asked for them, named in errors.
        constraint: What the output must be (see :mod:`flama.llm.constraints`).
    """

    logprobs: int | None
    logprobs_field: str
    constraint: Constraint | None


class Pipeline:
    """One model's generation pipeline: its backend, decoder spec and default parameters.

    Args:
        backend: The loaded backend.
        spec: The decoder spec for the model's output format.
        defaults: Default generation parameters, validated like a request's.
        offload_size: `prepare_async` prepares a prompt of more characters than this in a worker thread (``None``:
            never); see `DEFAULT_OFFLOAD_SIZE`.
        offload_queue: Such prompts allowed to wait while another one is prepared (``None``: no bound); see
            `DEFAULT_OFFLOAD_QUEUE`.

    Raises:
        InvalidParameter: A default parameter is invalid or not supported by the backend.
        ValueError: ``offload_size`` or ``offload_queue`` is negative.
    """

    __slots__ = (
        "_defaults",
        "_encoded",
        "_offloaded",
        "backend",
        "offload_queue",
        "offload_size",
        "spec",
    )

    # Seconds an offloaded prompt is guessed to take before one has been timed (for Retry-After).
    FIRST_OFFLOAD_GUESS = Admission.FIRST_GUESS

    def __init__(
        self,
        backend: Backend,
        spec: DecoderSpec,
        defaults: Mapping[str, Any] | None = None,
        offload_size: int | None = DEFAULT_OFFLOAD_SIZE,
        offload_queue: int | None = DEFAULT_OFFLOAD_QUEUE,
    ) -> None:
        if offload_size is not None and offload_size < 0:
            raise ValueError(f"offload_size must be a non-negative number of characters, got {offload_size}")
        if offload_queue is not None and offload_queue < 0:
            raise ValueError(f"offload_queue must be a non-negative number of prompts, got {offload_queue}")
        self.backend = backend
        self.spec = spec
        self.offload_size = offload_size
        self.offload_queue = offload_queue
        # The worker thread's one place, and the long prompts' line to it (first come, first served).
        self._offloaded = Admission(1, offload_queue)
        self._encoded: tuple[str, list[int]] | None = None  # the last prompt and its token ids
        self._defaults: dict[str, Any] = {}
        self.defaults = dict(defaults or {})

    @property
    def defaults(self) -> dict[str, Any]:
        """The default generation parameters, as given."""
        return dict(self._defaults)

    @defaults.setter
    def defaults(self, values: Mapping[str, Any]) -> None:
        self.backend.check(GenerationParams.parse(values))
        self._defaults = dict(values)

    def prepare(
        self,
        source: Prompt,
        params: Mapping[str, Any],
        template: Mapping[str, Any],
        *,
        logprobs: int | None = None,
        logprobs_field: str = "logprobs",
        constraint: Constraint | None = None,
    ) -> Prepared:
        """Render the prompt and validate the parameters.

        Args:
            source: What to generate from.
            params: The request's generation parameters (over the defaults).
            template: Chat template keyword arguments.
            logprobs: Report the generated tokens' log probabilities with this many alternatives (0 to 20) in
                `Prepared.logprobs`; ``None`` reports none.
            logprobs_field: The request field that asked for them, named in errors.
            constraint: What the output must be (see :mod:`flama.llm.constraints`); its grammar is written here, for
                the rendered prompt.

        Raises:
            InvalidParameter: A parameter is invalid or unsupported (log probabilities included); ``max_tokens``
                beyond the context left.
            InvalidRequest: The chat template cannot render the request, or the prompt fills the model's context.
        """
        parsed = GenerationParams.parse(params, defaults=self._defaults)
        if logprobs is not None:
            if not 0 <= logprobs <= MAX_LOGPROBS:
                raise InvalidParameter(logprobs_field, f"must be between 0 and {MAX_LOGPROBS}, got {logprobs}")
            if "logprobs" not in self.backend.supported:
                raise InvalidParameter(
                    logprobs_field, f"log probabilities are not available on the {self.backend.name} backend"
                )
            parsed = dataclasses.replace(parsed, logprobs=logprobs)
        self.backend.check(parsed)
        try:
            prompt = source.render(self.backend, template)
        except (ValueError, jinja2.TemplateError) as exc:  # no chat template, or the template refused the messages
            raise InvalidRequest(source.field, str(exc)) from exc
        if constraint is not None:
            if "constraint" not in self.backend.supported:
                raise InvalidParameter(constraint.field, f"not enforced by the {self.backend.name} backend")
            parsed = dataclasses.replace(
                parsed, constraint=bind(constraint, self.spec.for_prompt(prompt), self.backend.tokenizer)
            )
        last = self._encoded  # choices of one request (OpenAI's ``n``) share their prompt
        ids = list(last[1]) if last is not None and last[0] == prompt else self.backend.encode(prompt)
        input_tokens = len(ids)
        left = self.backend.context_length - input_tokens
        if left <= 0:
            raise InvalidRequest(
                "prompt", f"takes {input_tokens} tokens; the model's context holds {self.backend.context_length}"
            )
        self._encoded = (prompt, ids)  # kept only when it fits: a prompt of any size is never held on to
        max_tokens = parsed.max_tokens
        if max_tokens is None:
            max_tokens = left
        elif max_tokens > left:
            raise InvalidParameter("max_tokens", f"{max_tokens} exceeds the {left} tokens left in the context")
        backend_params = dataclasses.replace(parsed, max_tokens=max_tokens, stop=())
        return Prepared(prompt, backend_params, parsed.stop, input_tokens, None if logprobs is None else [], ids)

    async def prepare_async(
        self,
        source: Prompt,
        params: Mapping[str, Any],
        template: Mapping[str, Any],
        **options: "Unpack[PrepareOptions]",
    ) -> Prepared:
        """`prepare`, without holding the event loop up for a long prompt.

        A prompt of more than `offload_size` characters is rendered and tokenized in a worker thread, one such prompt
        at a time per model (first come, first served), so the streams the event loop serves meanwhile go on: the
        tokenizer lets other threads run while it works (a 4 MB prompt takes it 1.3 to 2 s here). At most
        `offload_queue` wait while one is prepared. A shorter prompt is prepared right away, since a hop to a thread
        would cost it more than it saves. Takes `prepare`'s arguments and raises what it raises.

        Raises:
            QueueFull: `offload_queue` long prompts wait already (``Retry-After``: the time a long prompt has taken
                lately, times the line; the model's admission primitive, `flama.models.admission.Admission`).
        """
        if self.offload_size is None or source.size <= self.offload_size:
            return self.prepare(source, params, template, **options)
        prepare = functools.partial(self.prepare, source, params, template, **options)
        async with self._offloaded.slot():
            return await anyio.to_thread.run_sync(prepare)

    async def run(
        self, prepared: Prepared, stopped: Callable[[Finish], None] | None = None
    ) -> AsyncGenerator[Event | Finish, None]:
        """Generate: the decoder's events as text arrives, then one :class:`Finish`.

        Closing this iterator (or cancelling its consumer) closes the backend's stream, which stops its work.

        Args:
            prepared: The generation.
            stopped: Called with a ``cancelled`` finish (the tokens made so far) when the generation is closed or
                cancelled before its end, so that what it cost is counted too.
        """
        decoder = Decoder(self.spec.for_prompt(prepared.prompt))
        stops = StopMatcher(prepared.stop)
        started = time.perf_counter()
        first_token: float | None = None
        output_tokens = cached = 0
        reason: StopReason = "end"
        deltas = self.backend.generate(prepared.prompt, prepared.params, ids=prepared.ids)
        over = False
        try:
            async for delta in deltas:
                if first_token is None:
                    first_token = time.perf_counter() - started
                    cached = delta.cached_input_tokens
                output_tokens += delta.tokens
                if delta.logprobs and prepared.logprobs is not None:
                    prepared.logprobs.extend(delta.logprobs)
                if delta.finish_reason == "length":
                    reason = "length"
                text = stops.feed(delta.text)
                if text:
                    for event in decoder.feed(text):
                        yield event
                if stops.stopped:
                    reason = "stop_sequence"
                    break
            over = True
        finally:
            close = getattr(deltas, "aclose", None)
            if close is not None:
                await close()
            if not over and stopped is not None:
                usage = Usage(prepared.input_tokens, output_tokens, cached)
                stopped(Finish("cancelled", usage, first_token, time.perf_counter() - started))
        held = stops.flush()
        if held:
            for event in decoder.feed(held):
                yield event
        for event in decoder.finish():
            yield event
        if decoder.tool_called:
            reason = "tool_use"
        usage = Usage(prepared.input_tokens, output_tokens, cached)
        yield Finish(reason, usage, first_token, time.perf_counter() - started)


@dataclasses.dataclass(slots=True)
class Block:
    """One block of a buffered answer: text, thinking, or a tool call (whose text is its arguments JSON)."""

    type: Literal["text", "thinking", "tool_call"]
    text: str = ""
    id: str | None = None
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``{"type", "text"}``, or for a tool call ``{"type", "id", "name", "arguments"}``."""
        if self.type != "tool_call":
            return {"type": self.type, "text": self.text}
        try:
            arguments: Any = json.loads(self.text) if self.text else {}
        except ValueError:
            arguments = self.text
        return {"type": self.type, "id": self.id, "name": self.name, "arguments": arguments}


@dataclasses.dataclass(frozen=True, slots=True)
class Completion:
    """A whole answer: its blocks in order and how it ended."""

    blocks: list[Block]
    finish: Finish

    @property
    def text(self) -> str:
        """The answer's text: its text blocks, joined."""
        return "".join(block.text for block in self.blocks if block.type == "text")


async def collect(events: AsyncIterator[Event | Finish]) -> Completion:
    """Fold a generation's events into a :class:`Completion`.

    Raises:
        RuntimeError: The events ended without a :class:`Finish`.
    """
    blocks: dict[int, Block] = {}
    async for event in events:
        if isinstance(event, BlockStart):
            blocks[event.index] = Block(event.kind, id=event.tool_id, name=event.tool_name)
        elif isinstance(event, BlockDelta):
            blocks[event.index].text += event.text
        elif isinstance(event, Finish):
            return Completion([blocks[index] for index in sorted(blocks)], event)
        else:
            assert isinstance(event, BlockStop)
    raise RuntimeError("the generation ended without a finish")
