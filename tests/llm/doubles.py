"""Test doubles that follow the backend interface exactly: a backend that replays scripted deltas."""

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from flama.http import Flama, Mount
from flama.http.metrics import MetricsModule
from flama.llm.backends.base import Backend, Delta, GenerationParams
from flama.llm.resource import LLMResource
from flama.models.exceptions import ERRORS as MODELS_ERRORS

__all__ = ["ModelFactory", "ScriptedBackend", "model_factory", "scripted"]

THINK_AND_ANSWER = ("<think>", "hmm", "</think>", "Hello", " world")


class ScriptedBackend(Backend):
    """Replays ``script`` (texts, one token each) for every prompt, ending with ``finish``; a prompt's tokens are its
    words.

    ``gate``, when set, is awaited before each delta, so a test controls the pace; ``closed`` counts generations
    whose iterator was closed before the end; ``calls`` records ``(prompt token count, params)``.
    """

    name: ClassVar[str] = "scripted"
    supported: ClassVar[frozenset[str]] = frozenset({"max_tokens", "temperature", "seed", "stop"})
    requirement: ClassVar[str] = "nothing"
    script: ClassVar[Sequence[str]] = ()
    finish: ClassVar[str] = "stop"

    def __init__(self) -> None:
        self.tokenizer = range(1000)  # what Backend.check reads: the vocabulary's size
        self.tokenizer_template: str | None = "{{ messages }}"
        self.special_tokens: list[str] = ["<think>", "</think>", "<tool_call>", "</tool_call>"]
        self.context_length = 256
        self.calls: list[tuple[int, GenerationParams]] = []
        self.rendered: list[dict[str, Any]] = []
        self.gate: asyncio.Event | None = None
        self.started = asyncio.Event()
        self.closed = 0
        self.completed = 0
        self.is_closed = False

    @classmethod
    def available(cls) -> bool:
        return True

    @classmethod
    async def load(cls, directory: Path, **options: Any) -> "ScriptedBackend":
        return cls()

    def encode(self, text: str) -> list[int]:
        return list(range(len(text.split())))

    def render(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        add_generation_prompt: bool = True,
        **template_kwargs: Any,
    ) -> str:
        self.rendered.append({"messages": messages, "tools": tools, **template_kwargs})
        return " ".join(f"{m['role']}: {m['content']}" for m in messages) + " assistant:"

    async def stream(self, ids: list[int], params: GenerationParams, limit: int) -> AsyncGenerator[Delta, None]:
        self.calls.append((len(ids), params))
        self.started.set()
        pieces = list(self.script)[:limit]
        finish = "length" if limit < len(self.script) else self.finish
        try:
            for number, text in enumerate(pieces):
                if self.gate is not None:
                    await self.gate.wait()
                await asyncio.sleep(0)
                yield Delta(text, 1, finish if number == len(pieces) - 1 else None)  # type: ignore[arg-type]
        except (GeneratorExit, asyncio.CancelledError):
            self.closed += 1
            raise
        self.completed += 1

    async def close(self) -> None:
        self.is_closed = True


def scripted(*pieces: str, finish: str = "stop") -> type[ScriptedBackend]:
    """A :class:`ScriptedBackend` subclass replaying ``pieces``."""
    return type("Scripted", (ScriptedBackend,), {"script": pieces, "finish": finish})


ModelFactory = Callable[..., AbstractAsyncContextManager[tuple[httpx.AsyncClient, LLMResource]]]


def handlers(resource: LLMResource) -> dict[Any, Any]:
    """The exception handlers ``app.models`` registers for a model, for apps that mount its routes by hand."""
    return {**MODELS_ERRORS, **resource.errors}


@pytest.fixture
def model_factory(client_factory, tmp_path) -> ModelFactory:
    """``async with model_factory(*pieces, **options) as (client, resource)``: a loaded model served at /llm/."""

    @asynccontextmanager
    async def build(*pieces: str, **options: object) -> AsyncIterator[tuple[httpx.AsyncClient, LLMResource]]:
        options.setdefault("backend", scripted(*(pieces or THINK_AND_ANSWER)))
        options.setdefault("decoder", "qwen3")
        resource = LLMResource(path="/llm/", name="assistant", source=tmp_path, **options)  # type: ignore[arg-type]
        app = Flama(
            [Mount("/llm", routes=resource.routes())],
            schema=None,
            docs=None,
            modules=[MetricsModule()],
            exception_handlers=handlers(resource),
        )
        await resource.load()
        try:
            async with client_factory(app) as client:
                yield client, resource
        finally:
            await resource.unload()

    return build
