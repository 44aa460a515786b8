"""One async interface over the libraries that run a language model: generation parameters, deltas, backends.

A backend loads a HuggingFace-layout checkpoint directory, renders prompts with the model's chat template and
streams generated text as `Delta` objects. The blocking backends (MLX, transformers) batch their generations in one
worker thread per model (see :mod:`flama.llm.backends.batching`).
"""

import abc
import dataclasses
import importlib.util
import json
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar

from flama.llm.backends.encoding import DEFAULT_RECENT_BYTES, DEFAULT_RECENT_PROMPTS, RecentPrompts, boundary_tokens
from flama.llm.backends.params import PARAMETERS_MODEL, validate
from flama.llm.exceptions import BackendUnavailable, InvalidParameter

if TYPE_CHECKING:
    from flama.llm.constraints import Constraint

__all__ = [
    "MAX_LOGPROBS",
    "PARAMETERS",
    "Backend",
    "Delta",
    "Detokenizer",
    "FinishReason",
    "GenerationParams",
    "TokenLogprob",
    "context_length",
]

B = TypeVar("B", bound="Backend")
FinishReason = Literal["stop", "length"]

# The most alternatives a token's log probabilities list (OpenAI's bound).
MAX_LOGPROBS = 20
# Config keys that hold a model's context length, most specific first.
CONTEXT_KEYS = ("max_position_embeddings", "n_positions", "max_seq_len", "seq_length", "n_ctx")


PARAMETERS = frozenset(PARAMETERS_MODEL.model_fields)
"""The name of every generation parameter a client sets (``logprobs`` is asked for by a dialect, not a parameter)."""


@dataclasses.dataclass(frozen=True, slots=True)
class GenerationParams:
    """How to sample one generation. ``None`` (or no stop sequences) leaves a parameter to the backend's default.

    Attributes:
        max_tokens: Most tokens to generate; ``None`` means whatever the context leaves after the prompt.
        temperature: Softmax temperature; 0 is greedy decoding. Default 1.
        top_p: Nucleus sampling: keep the most likely tokens whose probabilities add up to ``top_p``.
        top_k: Keep only the ``top_k`` most likely tokens.
        min_p: Drop tokens less likely than ``min_p`` times the most likely one.
        repetition_penalty: Multiplicative penalty (> 1 discourages) on tokens already in the prompt or output.
        frequency_penalty: Subtracted from a token's logit once per earlier occurrence.
        presence_penalty: Subtracted from a token's logit once if it occurred at all.
        seed: Makes sampling repeatable: the same seed, prompt and parameters give the same output.
        stop: Sequences that end the generation; they are not part of the output.
        logit_bias: Added to the logits of the given token ids (-100 bans a token, +100 all but forces it).
        logprobs: Report each generated token's log probability and this many most likely alternatives (0 to
            `MAX_LOGPROBS`); ``None`` reports none. Set by a dialect that asks for them (`Pipeline.prepare`), not by
            `parse`; a backend whose `supported` set lacks ``logprobs`` refuses it.
        constraint: What the output must be (JSON, a tool call, a thinking budget), with its grammar; set by
            `Pipeline.prepare`, not by `parse`; a backend whose `supported` set lacks ``constraint`` refuses it.
    """

    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    min_p: float | None = None
    repetition_penalty: float | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    seed: int | None = None
    stop: tuple[str, ...] = ()
    logit_bias: dict[int, float] | None = None
    logprobs: int | None = None
    constraint: "Constraint | None" = dataclasses.field(default=None, compare=False)

    @classmethod
    def parse(cls, values: Mapping[str, Any], defaults: Mapping[str, Any] | None = None) -> "GenerationParams":
        """Validate parameters as a client sent them (JSON values), over a model's defaults.

        The values are validated by the pydantic model `flama.llm.backends.params.PARAMETERS_MODEL`.

        Args:
            values: Parameters by name; a ``None`` value counts as absent and keeps the default.
            defaults: The model's default parameters (validated the same way).

        Returns:
            The parameters, each checked and converted.

        Raises:
            InvalidParameter: A name is unknown or a value has the wrong type or lies out of range.
        """
        merged = {**(defaults or {}), **{name: value for name, value in values.items() if value is not None}}
        checked = validate({name: value for name, value in merged.items() if value is not None})
        if "stop" in checked:
            checked["stop"] = tuple(checked["stop"])
        return cls(**checked)

    def given(self) -> dict[str, Any]:
        """The parameters that are set (not left to the backend), by name."""
        return {
            field.name: value
            for field in dataclasses.fields(self)
            if (value := getattr(self, field.name)) is not None and value != ()
        }


@dataclasses.dataclass(frozen=True, slots=True)
class TokenLogprob:
    """A generated token's log probability, and the most likely tokens at its position.

    Log probabilities are those the sampler starts from: after the logit bias and the penalties, before temperature
    and the top-k, top-p and min-p filters, so at temperature 0 the token chosen is the first alternative.

    Attributes:
        token: The token's text (special tokens as written; a piece of a UTF-8 character as U+FFFD).
        logprob: Its log probability.
        top: The most likely tokens with their log probabilities, most likely first.
    """

    token: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class Delta:
    """A piece of generated text.

    Attributes:
        text: New text (whole characters only; may be empty, e.g. on the last delta).
        tokens: How many generated tokens this delta accounts for. Text held back (an unfinished UTF-8 character, a
            possible stop sequence) is counted with the delta that finally carries it; the end-of-sequence token
            counts too, so the deltas of a generation add up to its completion tokens.
        finish_reason: On the last delta only: ``"stop"`` (end of sequence or a stop sequence) or ``"length"``
            (``max_tokens`` or the context was used up).
        cached_input_tokens: On the first delta only: how many prompt tokens were read from a cached prefix rather
            than processed again (not compared: the same text may come from a cached prefix or not).
        logprobs: When asked for (`GenerationParams.logprobs`), the log probabilities of the tokens this delta
            covers, the end-of-sequence token excepted (not compared).
    """

    text: str
    tokens: int
    finish_reason: FinishReason | None = None
    cached_input_tokens: int = dataclasses.field(default=0, compare=False)
    logprobs: tuple[TokenLogprob, ...] = dataclasses.field(default=(), compare=False)


def context_length(directory: Path, tokenizer: Any) -> int:
    """A checkpoint's context length: from ``config.json`` (its text config too), else the tokenizer's limit.

    Raises:
        ValueError: Neither says.
    """
    config = json.loads((directory / "config.json").read_text())
    for section in (config, config.get("text_config") or {}):
        for key in CONTEXT_KEYS:
            if isinstance(section.get(key), int) and section[key] > 0:
                return int(section[key])
    # Tokenizers without a limit report a huge sentinel (about 1e30).
    limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(limit, int) and 0 < limit < 1 << 32:
        return limit
    raise ValueError(f"{directory}: config.json names no context length ({', '.join(CONTEXT_KEYS)})")


class Backend(abc.ABC):
    """A loaded model behind one async interface.

    Subclasses set `name`, `supported`, `requirement` and `libraries`, implement `load` and `stream` (and
    `available` when hardware matters too); prompts are
    rendered and counted with the checkpoint's HuggingFace tokenizer.

    Attributes:
        tokenizer_template: The chat template, or ``None`` when the checkpoint has none.
        special_tokens: The tokenizer's special and added tokens (markers such as ``<think>``), in id order.
        context_length: Most tokens (prompt and output together) the model attends to.
    """

    name: ClassVar[str]
    supported: ClassVar[frozenset[str]]
    requirement: ClassVar[str]
    """What the backend needs, in words (for errors when it is unavailable)."""
    libraries: ClassVar[tuple[str, ...]] = ()
    """The import names the backend needs."""

    def __init__(self, tokenizer: Any, context_length: int, *, recent_prompts: int = DEFAULT_RECENT_PROMPTS) -> None:
        self.tokenizer = tokenizer
        rust = getattr(tokenizer, "_tokenizer", None)  # a fast tokenizer's own (Rust) tokenizer
        self._rust = rust if type(rust).__module__.startswith("tokenizers") else None
        self._encode_batch = getattr(self._rust, "encode_batch_fast", None)  # tokenizers 0.21 and later
        template = tokenizer.chat_template
        self.tokenizer_template: str | None = template if isinstance(template, str) else None
        boundaries = {}
        if self._rust is not None and self._encode_batch is not None:
            boundaries = boundary_tokens(self._rust.get_added_tokens_decoder().items(), self.tokenizer_template)
        self.recent_prompts = RecentPrompts(self._encode_ids, boundaries, recent_prompts, DEFAULT_RECENT_BYTES)
        """Recent prompts' ids, which a conversation's next turn reuses (see `encode`)."""
        added = [token.content for _, token in sorted(tokenizer.added_tokens_decoder.items())]
        self.special_tokens: list[str] = list(dict.fromkeys([*added, *tokenizer.all_special_tokens]))
        self.context_length = context_length

    @classmethod
    def available(cls) -> bool:
        """Whether this backend's `libraries` (and hardware) are present, without importing the heavy ones."""
        return all(importlib.util.find_spec(name) is not None for name in cls.libraries)

    @classmethod
    def require(cls) -> None:
        """Raise `BackendUnavailable` naming what is missing unless the backend is available."""
        if not cls.available():
            raise BackendUnavailable(cls.name, f"it needs {cls.requirement}")

    @classmethod
    def reject_options(cls, options: Mapping[str, Any], *known: str) -> None:
        """Raise `TypeError` for load options this backend does not know (a configuration mistake)."""
        if unknown := sorted(set(options) - set(known)):
            raise TypeError(f"Unknown option(s) of the {cls.name} backend: {', '.join(unknown)}")

    @classmethod
    @abc.abstractmethod
    async def load(cls: type[B], directory: Path, **options: Any) -> B:
        """Load the checkpoint in ``directory`` without blocking the event loop.

        Args:
            directory: A HuggingFace-layout checkpoint (config, weights, tokenizer).
            **options: Backend options (see each backend).
        """

    def encode(self, text: str) -> list[int]:
        """Token ids of a prompt, with the tokenizer's BOS token unless the text already starts with it.

        A prompt that begins like a recent one (a conversation's next turn) reuses that one's ids up to its last chat
        template token in common and encodes only the rest, to the same ids (`RecentPrompts`).
        """
        bos = self.tokenizer.bos_token
        return self.recent_prompts.encode(text, bos is None or not text.startswith(bos))

    def _encode_ids(self, text: str, special: bool) -> list[int]:
        if self._encode_batch is not None:
            # The same ids as the tokenizer's encode, without its Python layers nor the offsets it computes (``ids``
            # is a new list at each read).
            ids: list[int] = self._encode_batch([text], add_special_tokens=special)[0].ids
            return ids
        return list(self.tokenizer.encode(text, add_special_tokens=special))

    def count_tokens(self, text: str) -> int:
        """How many tokens ``text`` takes as a prompt (the same count generation uses)."""
        return len(self.encode(text))

    def render(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        add_generation_prompt: bool = True,
        **template_kwargs: Any,
    ) -> str:
        """Render messages into a prompt with the model's chat template.

        Args:
            messages: Chat messages (``role``, ``content``, and whatever else the template reads).
            tools: Tool definitions for templates that support them.
            add_generation_prompt: Open the assistant's turn at the end.
            **template_kwargs: Passed to the template (``enable_thinking=False``, ...).

        Raises:
            ValueError: The checkpoint has no chat template.
        """
        if self.tokenizer_template is None:
            raise ValueError("The model has no chat template; send a raw prompt instead")
        prompt = self.tokenizer.apply_chat_template(
            messages, tools=tools, add_generation_prompt=add_generation_prompt, tokenize=False, **template_kwargs
        )
        return str(prompt)

    def check(self, params: GenerationParams) -> None:
        """Reject parameters this backend does not honour, and token ids outside the vocabulary.

        Raises:
            InvalidParameter: Naming the first offending parameter.
        """
        for name in params.given():
            if name not in self.supported:
                raise InvalidParameter(name, f"not supported by the {self.name} backend")
        if not params.logit_bias:
            return
        vocabulary = len(self.tokenizer)  # counted each time: transformers' tokenizers count their added tokens anew
        for token in params.logit_bias:
            if token >= vocabulary:
                raise InvalidParameter("logit_bias", f"token id {token} is not in the vocabulary (size {vocabulary})")

    def generate(self, prompt: str, params: GenerationParams, *, ids: list[int] | None = None) -> AsyncIterator[Delta]:
        """Stream the generation for ``prompt``.

        Parameters are checked before anything runs. Closing the iterator, or cancelling the task that consumes it,
        stops the backend's work at once.

        Args:
            prompt: The full prompt text (already rendered through the chat template, if any).
            params: Sampling parameters.
            ids: The prompt's token ids (`encode`'s), when the caller has them already; encoded here otherwise.

        Returns:
            An async iterator of deltas; the last one carries the finish reason.

        Raises:
            InvalidParameter: A parameter is not supported, or the prompt and ``max_tokens`` exceed the context.
        """
        self.check(params)
        if ids is None:
            ids = self.encode(prompt)
        room = self.context_length - len(ids)
        if room <= 0:
            raise InvalidParameter(
                "prompt", f"takes {len(ids)} tokens; the model's context holds {self.context_length}"
            )
        if params.max_tokens is not None and params.max_tokens > room:
            raise InvalidParameter(
                "max_tokens",
                f"{params.max_tokens} do not fit: the prompt takes {len(ids)} of the model's "
                f"{self.context_length}-token context, leaving {room}",
            )
        return self.stream(ids, params, params.max_tokens or room)

    @abc.abstractmethod
    def stream(self, ids: list[int], params: GenerationParams, limit: int) -> AsyncIterator[Delta]:
        """Generate from checked input: prompt token ids, parameters, and the number of tokens allowed."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Stop every generation in progress and release the model."""


class Detokenizer:
    """Turns generated token ids into text incrementally, holding back bytes of an unfinished UTF-8 character.

    Each token is decoded together with a few tokens before it, so tokenizers that drop or add spaces at the start
    of a decoded sequence still give the right text.

    Args:
        decode: Decodes token ids to text (special tokens kept).
        context: The prompt's token ids (only the last few are used).
    """

    __slots__ = ("_decode", "_ids", "_prefix", "_read")

    CONTEXT = 4

    def __init__(self, decode: Callable[[list[int]], str], context: Sequence[int]) -> None:
        self._decode = decode
        self._ids = list(context[-self.CONTEXT :])
        self._prefix = 0
        self._read = len(self._ids)

    def push(self, token: int) -> str:
        """Add one token; return the text it completes (empty while a character is still incomplete)."""
        self._ids.append(token)
        return self._advance(final=False)

    def flush(self) -> str:
        """Return whatever text is still held back (an incomplete character decodes as U+FFFD here)."""
        return self._advance(final=True)

    def _advance(self, *, final: bool) -> str:
        if self._read == len(self._ids):
            return ""
        before = self._decode(self._ids[self._prefix : self._read])
        text = self._decode(self._ids[self._prefix :])
        if text.endswith("\ufffd") and not final:
            return ""
        self._prefix, self._read = self._read, len(self._ids)
        return text[len(before) :]
