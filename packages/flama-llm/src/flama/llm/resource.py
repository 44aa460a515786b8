"""The resource that serves a language model (family ``llm``) under ``app.models``.

``app.models.add_model(path="/llm/", model="x.flm", name="assistant", serving=("native",), params={...},
backend=None)`` builds an :class:`LLMResource` (registered as ``llm`` in the ``flama.models.resources`` entry-point
group). At startup it unpacks the checkpoint, loads it with the backend chosen then (``backend`` forces one) and picks
the decoder from the model's chat template and special tokens (``decoder=`` overrides it); each dialect named in
``serving`` mounts its routes under the model's path.
"""

import functools
import pathlib
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, Protocol

import anyio
import anyio.to_thread
from flama.http import Request
from flama.http.routing import BaseRoute, Mount
from flama.llm.anthropic import AnthropicDialect
from flama.llm.backends import select_backend
from flama.llm.backends.base import Backend
from flama.llm.decoder import detect_spec, spec_by_name
from flama.llm.exceptions import ERRORS
from flama.llm.generation import DEFAULT_OFFLOAD_QUEUE, DEFAULT_OFFLOAD_SIZE, Pipeline
from flama.llm.model import LanguageModel
from flama.llm.native import NativeDialect
from flama.llm.ollama import OllamaDialect
from flama.llm.openai import OpenAIDialect
from flama.llm.prompts import DEFAULT_MAX_MESSAGES
from flama.llm.streams import StreamRegistry
from flama.middleware.keys import APIKeys
from flama.models import Limits, Metadata, ModelFile, load, read_meta
from flama.models.admission import DEFAULT_MAX_QUEUED, Admission
from flama.models.exceptions import ModelNotReady, UntrustedModel
from flama.models.resources.base import ModelResource
from flama.models.serializers import serializer_for_lib

__all__ = ["DIALECTS", "LLMResource"]


class Dialect(Protocol):
    """What a dialect gives its model: a name and routes relative to the model's path."""

    name: str

    def routes(self) -> list[BaseRoute]:
        """The routes, relative to the model's path."""
        ...


DIALECTS: Mapping[str, Callable[["LLMResource"], Dialect]] = {
    "native": NativeDialect,
    "openai": OpenAIDialect,
    "anthropic": AnthropicDialect,
    # Ollama serves the OpenAI routes too, under its own /v1.
    "ollama": lambda model: OllamaDialect(model, mirror=OpenAIDialect(model, prefix="/ollama/v1")),
}


class LLMResource(ModelResource):
    """A language model served over HTTP.

    Args:
        path: Where the model is mounted.
        name: The model's name.
        source: A ``.flm`` path, a :class:`~flama.models.ModelFile`, or a checkpoint directory.
        serving: The dialects to serve; every available one by default.
        params: Default generation parameters.
        backend: Force a backend: a name (``mlx``, ``transformers``, ``vllm``) or a :class:`Backend` subclass;
            chosen at load time otherwise.
        decoder: A decoder spec name overriding the one detected from the chat template.
        api_keys: Keys required on the model's routes, as ``Authorization: Bearer`` or ``x-api-key``.
        max_running: Generations run at once (on MLX and transformers, the most rows of the batch they decode
            together); more wait in line, first come first served.
        max_queued: Requests waiting for a slot; beyond, a 429 with ``Retry-After``. ``None``: unbounded.
        keep_streams: Seconds a stream stays readable (resumable) after it ends.
        resume_window: Seconds a stream with no reader keeps generating, for the client to reconnect.
        heartbeat: Seconds of silence before an SSE heartbeat.
        cache_size: Prompt KV caches kept for prefix reuse (a backend option: MLX and transformers keep 8 by default;
            0 turns prefix caching off, on vLLM too).
        cache_bytes: Most memory the prompt caches take (MLX and transformers; default 1 GiB).
        delta_interval: Shortest time, in seconds, between two deltas of one stream (MLX and transformers; default
            0.01): tokens made meanwhile travel together, so a fast model wakes the event loop less often. The first
            and the last delta are never held; 0 hands every token's text on alone.
        prompt_offload_size: A prompt of more characters than this (16,384 by default) is rendered and tokenized in a
            worker thread, one at a time per model, so that the event loop goes on serving other streams meanwhile;
            ``None``: every prompt on the event loop.
        prompt_offload_queue: Such long prompts allowed to wait while another one is prepared (8 by default); one
            beyond is answered 429 with ``Retry-After``. ``None``: no bound.
        max_messages: Messages and content parts one request may hold (10,000 by default), counted before the body
            is validated, which holds the event loop; beyond, a 400 naming ``messages``. The same bound holds for
            ``tools`` and for a ``system`` list, each on its own. ``None``: no bound.
        backend_options: Keyword arguments for the backend's ``load``.
        limiter: Worker threads shared with the application's other models (``app.models``), used to unpack the
            ``.flm`` file.
        trusted: Let a checkpoint that holds pickled weights or Python modules load: ``True``, or the SHA-256 digests
            of the `.flm` files to trust (``["sha256:<hex>"]``). Safetensors checkpoints need no trust.
        limits: Caps on what unpacking the `.flm` file may decompress (:class:`~flama.models.Limits` defaults).
        chat: The chat page at ``chat/`` when flama-chat-ui is installed: its options (a ``flama.chat_ui.ChatUI`` or
            a mapping of its fields), or ``False`` for none.
        any_model_name: Accept any model name in vendor-dialect requests (for clients that send a fixed name);
            otherwise a name other than ``name`` is a 404.

    Raises:
        ValueError: An unknown dialect in ``serving``, or a negative ``prompt_offload_size``,
            ``prompt_offload_queue`` or ``max_messages``.
    """

    errors = ERRORS
    handle_class = LanguageModel

    def __init__(
        self,
        *,
        path: str,
        name: str,
        source: Any,
        serving: Sequence[str] | None = None,
        params: Mapping[str, Any] | None = None,
        backend: str | type[Backend] | None = None,
        decoder: str | None = None,
        api_keys: Iterable[str] | None = None,
        max_running: int = 8,
        max_queued: int | None = DEFAULT_MAX_QUEUED,
        keep_streams: float = 300.0,
        resume_window: float = 5.0,
        heartbeat: float = 15.0,
        cache_size: int | None = None,
        cache_bytes: int | None = None,
        delta_interval: float | None = None,
        prompt_offload_size: int | None = DEFAULT_OFFLOAD_SIZE,
        prompt_offload_queue: int | None = DEFAULT_OFFLOAD_QUEUE,
        max_messages: int | None = DEFAULT_MAX_MESSAGES,
        backend_options: Mapping[str, Any] | None = None,
        limiter: anyio.CapacityLimiter | None = None,
        trusted: bool | Collection[str] = False,
        limits: Limits | None = None,
        chat: Any = None,
        any_model_name: bool = False,
    ) -> None:
        super().__init__(path=path, name=name, source=source, trusted=trusted, limits=limits)
        serving = tuple(DIALECTS) if serving is None else tuple(serving)
        unknown = [dialect for dialect in serving if dialect not in DIALECTS]
        if unknown:
            raise ValueError(f"unknown dialect {unknown[0]!r} for model {name!r}; available: {', '.join(DIALECTS)}")
        self.serving = serving
        self.backend_name = backend
        self.decoder_name = decoder
        self.initial_params = dict(params or {})
        self.keys = None if api_keys is None else APIKeys(api_keys)
        self.scheduler = Admission(max_running, max_queued)
        self.limiter = limiter
        self.streams = StreamRegistry(keep_for=keep_streams, resume_window=resume_window)
        self.heartbeat = heartbeat
        if prompt_offload_size is not None and prompt_offload_size < 0:
            raise ValueError(
                f"prompt_offload_size must be a non-negative number of characters, got {prompt_offload_size}"
            )
        if prompt_offload_queue is not None and prompt_offload_queue < 0:
            raise ValueError(
                f"prompt_offload_queue must be a non-negative number of prompts, got {prompt_offload_queue}"
            )
        if max_messages is not None and max_messages < 0:
            raise ValueError(f"max_messages must be a non-negative number of messages, got {max_messages}")
        self.prompt_offload_size = prompt_offload_size
        self.prompt_offload_queue = prompt_offload_queue
        self.max_messages = max_messages
        self.backend_options = dict(backend_options or {})
        shared = (("cache_size", cache_size), ("cache_bytes", cache_bytes), ("delta_interval", delta_interval))
        for option, value in shared:
            if value is not None:
                self.backend_options.setdefault(option, value)
        self.any_model_name = any_model_name
        self.dialects = [DIALECTS[dialect](self) for dialect in serving]
        self.chat = None if chat is False or "native" not in serving else _chat_page(chat, name, path)
        self.model_file: ModelFile | None = None
        # The header only (cheap): what inspect shows while the model loads.
        self.meta: Metadata | None = None
        if isinstance(source, ModelFile):
            self.meta = source.meta
        elif isinstance(source, (str, pathlib.Path)) and pathlib.Path(source).is_file():
            self.meta = read_meta(source)
        self._pipeline: Pipeline | None = None

    @property
    def pipeline(self) -> Pipeline:
        """The generation pipeline, once loaded.

        Raises:
            ModelNotReady: The model is loading, or failed to load (503).
        """
        if self._pipeline is None:
            raise ModelNotReady(self.name, self.failure)
        return self._pipeline

    @property
    def backend(self) -> Backend | None:
        """The loaded backend."""
        return None if self._pipeline is None else self._pipeline.backend

    def authorize(self, request: Request) -> None:
        """Check the request's API key when the model requires one.

        Raises:
            flama.middleware.Unauthorized: 401 without a valid key.
        """
        if self.keys is not None:
            self.keys.check(request.headers)

    async def _directory(self) -> pathlib.Path:
        """The checkpoint's directory: unpacked from the ``.flm`` file within the resource's limits.

        Raises:
            UntrustedModel: The checkpoint holds files that run code when read (pickled weights, Python modules) and
                neither ``trusted`` nor the file's checksum says to trust it.
        """
        source = self.source
        if isinstance(source, (str, pathlib.Path)) and pathlib.Path(source).is_dir():
            directory, trusted = pathlib.Path(source), self.trusted is True
        else:
            if not isinstance(source, ModelFile):
                unpack = functools.partial(load, pathlib.Path(source), trusted=self.trusted, limits=self.limits)
                source = await anyio.to_thread.run_sync(unpack, limiter=self.limiter)
            self.model_file = source
            if source.directory is None:
                raise ValueError(f"model {self.name!r} is not a checkpoint bundle (family {source.meta.family!r})")
            directory, trusted = pathlib.Path(source.directory), source.trusted
        # Backends read weights with their libraries' loaders, which unpickle `.bin`/`.pt` files: the same gate as
        # a predictive transformers checkpoint.
        reason = serializer_for_lib("transformers").untrusted(directory)
        if reason is not None and not trusted:
            raise UntrustedModel("transformers", reason)
        return directory

    async def load(self) -> None:
        """Unpack the checkpoint, load it with the backend and build the generation pipeline."""
        directory = await self._directory()
        chosen = self.backend_name
        backend_class = chosen if isinstance(chosen, type) else select_backend(chosen)
        backend = await backend_class.load(directory, **self.backend_options)
        if self.decoder_name is not None:
            spec = spec_by_name(self.decoder_name)
        else:
            spec = detect_spec(backend.tokenizer_template, backend.special_tokens)
        offload = {"offload_size": self.prompt_offload_size, "offload_queue": self.prompt_offload_queue}
        self._pipeline = Pipeline(backend, spec, self.initial_params, **offload)
        self.ready = True

    async def unload(self) -> None:
        """Stop every stream, release the backend and the unpacked files."""
        self.ready = False
        await self.streams.close()
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None:
            await pipeline.backend.close()
        if self.model_file is not None and self.model_file is not self.source:
            self.model_file.close()
        self.model_file = None

    def routes(self) -> list[BaseRoute]:
        """The routes of every dialect served, relative to the model's path."""
        routes = [route for dialect in self.dialects for route in dialect.routes()]
        return routes if self.chat is None else [*routes, self.chat]

    def inspect(self) -> dict[str, Any]:
        """Name, metadata, capabilities, backend, context length, default parameters, dialects and model names."""
        meta = self.meta
        pipeline = self._pipeline
        return {
            "name": self.name,
            "family": "llm",
            "ready": pipeline is not None,
            "meta": None if meta is None else meta.to_dict(),
            "capabilities": {} if meta is None else dict(meta.capabilities),
            "backend": None if pipeline is None else pipeline.backend.name,
            "context_length": None if pipeline is None else pipeline.backend.context_length,
            "decoder": None if pipeline is None else self._spec_name(pipeline),
            "params": self.initial_params if pipeline is None else pipeline.defaults,
            "serving": list(self.serving),
            # The model names each vendor dialect accepts in a request ("*": any, with any_model_name).
            "model_names": {
                dialect: ["*"] if self.any_model_name else [self.name]
                for dialect in self.serving
                if dialect != "native"
            },
        }

    @staticmethod
    def _spec_name(pipeline: Pipeline) -> str | None:
        name = getattr(pipeline.spec, "name", None)
        return name if isinstance(name, str) else None


def _chat_page(options: Any, name: str, path: str) -> Mount | None:
    # flama-chat-ui is optional: without it a model serves no chat page, unless options ask for one.
    try:
        from flama.chat_ui import ChatApp
    except ImportError:
        if options is None:
            return None
        raise ValueError(f"the chat options of model {name!r} need flama-chat-ui: pip install flama-chat-ui") from None
    return Mount("/chat", app=ChatApp(options, title=name, storage_key=path), name="chat")
