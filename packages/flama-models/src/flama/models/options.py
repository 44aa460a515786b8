"""The options ``app.models.add_model`` takes beyond the path, model and name, one typed set per model family.

The families' resource classes live in their own distributions (predictive models here, language models in
flama-llm); these sets are what type checkers and editors see, and a test keeps each one equal to its resource
class's keyword parameters.
"""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypedDict

__all__ = ["LanguageModelOptions", "ModelOptions", "PredictiveOptions"]


class PredictiveOptions(TypedDict, total=False):
    """Options of a predictive (``ml``) model.

    Attributes:
        workers: Predictions of this model running at once (the application's ``workers`` by default).
        max_queued: Requests allowed to wait for a worker; beyond it 429 with ``Retry-After``. ``None``: unbounded.
        trusted_types: Type names a skops payload may hold beyond those skops trusts by default.
    """

    workers: int | None
    max_queued: int | None
    trusted_types: Sequence[str]


class LanguageModelOptions(TypedDict, total=False):
    """Options of a language model (``llm``, served by flama-llm; see its README for each one in full).

    Attributes:
        serving: The dialects mounted: ``native``, ``openai``, ``anthropic``, ``ollama`` (all by default).
        params: Default generation parameters (``temperature``, ``max_tokens``...).
        backend: ``mlx``, ``transformers``, ``vllm`` or a backend class; chosen for the platform when omitted.
        decoder: The output format's decoder spec (``qwen3``, ``harmony``...); read from the model when omitted.
        api_keys: Keys a client must send (``Authorization: Bearer`` or ``x-api-key``); none: open.
        max_running: Generations in flight at once (the continuous batch's size).
        max_queued: Requests allowed to wait for a place in the batch; beyond it 429 with ``Retry-After``.
        keep_streams: Seconds a finished stream stays readable for resuming clients.
        resume_window: Seconds a stream with no reader keeps generating before it is cancelled.
        heartbeat: Seconds between keep-alive comments on an idle stream.
        cache_size: Prompts kept in the prefix cache.
        cache_bytes: Bytes the prefix cache may hold.
        delta_interval: Shortest time between two deltas of one stream, in seconds (tokens made meanwhile travel
            together).
        prompt_offload_size: Prompts of more characters are rendered and tokenized off the event loop.
        prompt_offload_queue: Such prompts allowed to wait for that; beyond it 429 with ``Retry-After``.
        max_messages: Messages and content parts one request may hold; beyond it 400.
        backend_options: Options passed to the backend as they are (vLLM engine arguments...).
        chat: The chat UI's options for this model (a ``flama.chat_ui.ChatUI``).
        any_model_name: Accept any model name in vendor-dialect requests, for clients that send fixed names.
    """

    serving: Sequence[str] | None
    params: Mapping[str, Any] | None
    backend: str | type[Any] | None
    decoder: str | None
    api_keys: Iterable[str] | None
    max_running: int
    max_queued: int | None
    keep_streams: float
    resume_window: float
    heartbeat: float
    cache_size: int | None
    cache_bytes: int | None
    delta_interval: float | None
    prompt_offload_size: int | None
    prompt_offload_queue: int | None
    max_messages: int | None
    backend_options: Mapping[str, Any] | None
    chat: Any
    any_model_name: bool


class ModelOptions(PredictiveOptions, LanguageModelOptions, total=False):
    """Options of a model whose family is read from its file: those of either family."""
