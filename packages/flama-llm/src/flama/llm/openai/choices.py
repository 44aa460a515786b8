"""Several choices per request (``n``) and log probabilities, in OpenAI's shapes.

``n`` choices are ``n`` generations of the same prompt, run side by side in the model's continuous batch. Each takes
its own scheduler slot (``n`` count against ``max_running`` and the queue, and a request whose choices do not all
find a place is refused whole), its own seed (``seed``, ``seed + 1``, ... when the request gives one) and ends with
its own finish reason. Usage counts the prompt once and the tokens of every choice, as OpenAI does. The choices share
the prompt but not its processing: each is prefilled on its own (from the prefix cache when an earlier request left
the prompt there).

Log probabilities arrive from the backend with each delta (:class:`~flama.llm.backends.base.TokenLogprob`, collected
by the pipeline in :attr:`Prepared.logprobs <flama.llm.generation.Prepared>`); :class:`TokenLog` hands out those not
yet sent, so a streamed chunk carries the tokens generated since the previous one.
"""

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Sequence
from typing import Any

from flama.llm.backends.base import TokenLogprob
from flama.llm.events import Event
from flama.llm.generation import Completion, Finish, Prepared, Usage
from flama.llm.serving import Generation

__all__ = [
    "MAX_SEED",
    "TokenLog",
    "chat_logprobs",
    "complete_all",
    "completion_logprobs",
    "seeded",
    "stream_choices",
    "total_usage",
]

MAX_SEED = 2**63 - 1


def seeded(params: dict[str, Any], index: int) -> dict[str, Any]:
    """The parameters of choice ``index``: the request's seed plus ``index`` (wrapping), so choices differ."""
    if index == 0 or params.get("seed") is None:
        return params
    return {**params, "seed": (params["seed"] + index) % (MAX_SEED + 1)}


async def complete_all(generations: Sequence[Generation]) -> list[Completion]:
    """Every generation's whole answer, generated side by side; the first failure cancels the others.

    Raises:
        DialectError: As `Generation.complete` raises (429 when the queue cannot hold them all, 499, ...).
    """
    if len(generations) == 1:
        return [await generations[0].complete()]
    tasks = [asyncio.ensure_future(generation.complete()) for generation in generations]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def stream_choices(generations: Sequence[Generation]) -> AsyncIterator[tuple[int, Event | Finish]]:
    """The events of every generation as they come, each with its choice's index.

    The first choice waits for its scheduler slot here, so a full queue is answered 429 before the stream starts; the
    others take theirs as the stream runs (a choice never holds a slot it does not use, so two requests waiting for
    each other's slots cannot stall), and one that finds the queue full ends the stream with an error event. Closing
    the result closes every generation.

    Raises:
        DialectError: As `Generation.stream` raises, for the first choice.
    """
    first = await generations[0].stream()
    return _merged(first, generations[1:])


async def _close(stream: AsyncIterator[Any]) -> None:
    close = getattr(stream, "aclose", None)
    if close is not None:
        await close()


async def _merged(
    first: AsyncIterator[Event | Finish], later: Sequence[Generation]
) -> AsyncIterator[tuple[int, Event | Finish]]:
    if not later:  # the common case: no task, no queue
        try:
            async for event in first:
                yield 0, event
        finally:
            await _close(first)
        return
    queue: asyncio.Queue[tuple[int, Event | Finish | None] | BaseException] = asyncio.Queue()

    async def pump(index: int) -> None:
        stream = first
        try:
            if index:
                stream = await later[index - 1].stream()
            async for event in stream:
                await queue.put((index, event))
            await queue.put((index, None))
        except Exception as exc:
            await queue.put(exc)
        finally:
            await _close(stream)

    tasks = [asyncio.ensure_future(pump(index)) for index in range(len(later) + 1)]
    try:
        running = len(tasks)
        while running:
            item = await queue.get()
            if isinstance(item, BaseException):
                raise item
            index, next_event = item
            if next_event is None:
                running -= 1
            else:
                yield index, next_event
    finally:
        for task in tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks, return_exceptions=True)


def total_usage(usages: Sequence[Usage]) -> Usage:
    """The usage of several choices of one prompt: the prompt counted once, the tokens of every choice."""
    first = usages[0]
    output = sum(usage.output_tokens for usage in usages)
    return dataclasses.replace(first, output_tokens=output)


class TokenLog:
    """The log probabilities of one generation not sent yet (none when they were not asked for).

    Args:
        prepared: The generation; the pipeline appends to its ``logprobs`` as tokens come.
    """

    __slots__ = ("_sent", "tokens")

    def __init__(self, prepared: Prepared | None) -> None:
        self.tokens = None if prepared is None else prepared.logprobs
        self._sent = 0

    @property
    def asked(self) -> bool:
        """Whether log probabilities were asked for."""
        return self.tokens is not None

    def take(self) -> list[TokenLogprob]:
        """The tokens that came since the last call."""
        if self.tokens is None:
            return []
        new = self.tokens[self._sent :]
        self._sent = len(self.tokens)
        return new


def _bytes(text: str) -> list[int]:
    return list(text.encode("utf-8"))


def chat_logprobs(tokens: Sequence[TokenLogprob]) -> dict[str, Any]:
    """A chat choice's ``logprobs``: ``{"content": [{token, logprob, bytes, top_logprobs}], "refusal": None}``."""
    content = [
        {
            "token": token.token,
            "logprob": token.logprob,
            "bytes": _bytes(token.token),
            "top_logprobs": [{"token": text, "logprob": value, "bytes": _bytes(text)} for text, value in token.top],
        }
        for token in tokens
    ]
    return {"content": content, "refusal": None}


def completion_logprobs(tokens: Sequence[TokenLogprob], offset: int = 0) -> dict[str, Any]:
    """A completion choice's ``logprobs``: ``tokens``, ``token_logprobs``, ``top_logprobs`` and ``text_offset``.

    Args:
        tokens: The tokens.
        offset: Where the first token starts in the choice's text (streamed chunks continue from the last).
    """
    offsets = []
    for token in tokens:
        offsets.append(offset)
        offset += len(token.token)
    return {
        "tokens": [token.token for token in tokens],
        "token_logprobs": [token.logprob for token in tokens],
        "top_logprobs": [dict(token.top) for token in tokens],
        "text_offset": offsets,
    }
