"""Streams that outlive the request that started them: ids, a replay buffer for ``Last-Event-ID``, cancel, expiry.

A streamed generation is started by one request (``POST …/stream/``) and read by others (``GET …/stream/{id}/``),
possibly several times: a client whose connection dropped reconnects with the id of the last event it saw and
receives the rest. Every event is kept in the stream's buffer until the stream expires, so a reader always gets the
events it missed, in order, each with its number as the SSE ``id``. Each event is encoded as SSE once, however many
readers it has, and a reader that is behind gets every event waiting for it in one batch (one write to the socket).

Generation stops when the stream is cancelled (:meth:`StreamRegistry.cancel`), when nobody starts reading it within
``resume_window`` seconds of its opening (or of :meth:`StreamRegistry.arm`, for a stream opened before it could be
read: one still waiting for its turn), and when its last reader goes away and nobody reads it again within
``resume_window`` seconds (``0`` stops it at once): a stream nobody reads never holds the model. Finished streams stay
readable for ``keep_for`` seconds; expired streams are dropped whenever the registry is used, so no timer runs.

Streams run as asyncio tasks (the server's loop): uvicorn and every ASGI server that serves Flama use asyncio.
"""

import asyncio
import contextlib
import itertools
import math
import secrets
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

from flama.core import json_encode
from flama.http.exceptions import error_body, to_http_exception
from flama.http.sse import frame
from flama.llm.exceptions import ERRORS, GenerationStopped, UnknownEventId

__all__ = ["Stream", "StreamEvent", "StreamRegistry"]


class StreamEvent:
    """One event of a stream: its number (the SSE ``id``), its name and its JSON payload.

    Args:
        number: The position in the stream, from 0.
        name: The event name (``block.delta``, ...): one line of text.
        data: The JSON payload.
    """

    __slots__ = ("_sse", "data", "name", "number")

    def __init__(self, number: int, name: str, data: dict[str, Any]) -> None:
        self.number = number
        self.name = name
        self.data = data
        self._sse: bytes | None = None

    def sse(self) -> bytes:
        """The event as server-sent event bytes (``event``, ``id``, one ``data`` line of compact JSON), made once."""
        if self._sse is None:
            self._sse = frame(json_encode(self.data), self.name, self.number)
        return self._sse

    def __repr__(self) -> str:
        return f"StreamEvent({self.number!r}, {self.name!r}, {self.data!r})"


Producer = Callable[["Stream"], Awaitable[None]]


class Stream:
    """One stream: its buffered events, whether it is over, and the task producing it.

    Args:
        id: The stream id.
    """

    __slots__ = ("_stop_later", "_waiters", "created", "events", "finished_at", "id", "readers", "task")

    def __init__(self, id: str) -> None:
        self.id = id
        self.events: list[StreamEvent] = []
        self.created = time.monotonic()
        self.finished_at: float | None = None
        self.readers = 0
        self.task: asyncio.Task[None] | None = None
        self._waiters: list[asyncio.Future[None]] = []
        self._stop_later: asyncio.TimerHandle | None = None

    @property
    def done(self) -> bool:
        """Whether no more events will come."""
        return self.finished_at is not None

    def push(self, name: str, data: dict[str, Any]) -> None:
        """Append an event and wake the readers (ignored once the stream is over)."""
        if self.finished_at is not None:
            return
        self.events.append(StreamEvent(len(self.events), name, data))
        self._wake()

    def finish(self) -> None:
        """Mark the stream over: readers get what is buffered, then their iteration ends."""
        if self.finished_at is None:
            self.finished_at = time.monotonic()
            self._wake()

    def _wake(self) -> None:
        # Only readers that wait are woken: a reader that is behind finds the new events when it comes back.
        if self._waiters:
            waiters, self._waiters = self._waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    def cancel(self, reason: str = "cancelled") -> None:
        """Stop the producer at once and end the stream with an ``error`` event: :class:`GenerationStopped`'s body."""
        if self.task is not None and not self.task.done():
            self.task.cancel()
        if self.finished_at is None:
            self.push("error", error_body(to_http_exception(GenerationStopped(reason), ERRORS)))
            self.finish()

    async def wait(self) -> None:
        """Wait until the producer's task has ended (after :meth:`cancel`: until the backend has stopped)."""
        if self.task is not None:
            await asyncio.wait((self.task,))

    def start_after(self, last_event_id: str | None) -> int:
        """The index of the first event to send to a reader that last saw ``last_event_id``.

        Raises:
            UnknownEventId: The id is not the number of an event sent so far.
        """
        if last_event_id is None:
            return 0
        try:
            number = int(last_event_id)
        except ValueError:
            number = -1
        if not 0 <= number < len(self.events) or str(number) != last_event_id:
            raise UnknownEventId(f"Last-Event-ID {last_event_id!r} is not an event of stream {self.id!r}")
        return number + 1

    async def batches(self, start: int, resume_window: float) -> AsyncGenerator[list[StreamEvent], None]:
        """Yield the events from index ``start`` in batches (all that are waiting), until the stream is over.

        While at least one reader follows the stream it keeps running; when the last one leaves before the end, the
        producer is cancelled after ``resume_window`` seconds unless a reader comes back.
        """
        self._attach()
        position = start
        try:
            while True:
                if position < len(self.events):
                    batch = self.events[position:]
                    position += len(batch)
                    yield batch
                elif self.finished_at is not None:
                    return
                else:
                    waiter = asyncio.get_running_loop().create_future()
                    self._waiters.append(waiter)
                    await waiter
        finally:
            self._detach(resume_window)

    async def encoded(self, start: int, resume_window: float) -> AsyncGenerator[bytes, None]:
        """Each of :meth:`batches` as one chunk of server-sent events.

        A reader that fell behind the model catches up in one write rather than one per token.
        """
        batches = self.batches(start, resume_window)
        try:
            async for batch in batches:
                yield b"".join([event.sse() for event in batch])
        finally:
            await batches.aclose()

    async def follow(self, start: int, resume_window: float) -> AsyncGenerator[StreamEvent, None]:
        """Yield the events from index ``start`` one by one, as :meth:`batches` gives them."""
        batches = self.batches(start, resume_window)
        try:
            async for batch in batches:
                for event in batch:
                    yield event
        finally:
            await batches.aclose()

    def _attach(self) -> None:
        self.readers += 1
        if self._stop_later is not None:
            self._stop_later.cancel()
            self._stop_later = None

    def _detach(self, resume_window: float) -> None:
        self.readers -= 1
        if self.readers or self.finished_at is not None:
            return
        if resume_window <= 0:
            self.cancel("disconnected")
        else:
            self._stop_later = asyncio.get_running_loop().call_later(resume_window, self.cancel, "disconnected")


class StreamRegistry:
    """The open streams of one model.

    Args:
        keep_for: Seconds a stream stays readable after it ends, or after it was opened when nobody reads it.
        resume_window: Seconds a stream keeps generating with no reader, waiting for one to reconnect.
        max_streams: Streams kept at once; when it is reached, the finished ones opened first are dropped first.

    Expired streams are looked for at most every tenth of ``keep_for`` (and at most every second), not at every
    request: a stream may stay readable that much longer.
    """

    __slots__ = ("_streams", "_swept", "keep_for", "max_streams", "resume_window")

    def __init__(self, *, keep_for: float = 300.0, resume_window: float = 5.0, max_streams: int = 4096) -> None:
        if keep_for < 0 or resume_window < 0 or max_streams < 1:
            raise ValueError("keep_for and resume_window cannot be negative, and max_streams must be 1 or more")
        self.keep_for = keep_for
        self.resume_window = resume_window
        self.max_streams = max_streams
        self._streams: dict[str, Stream] = {}  # in the order they were opened
        self._swept = -math.inf

    def __len__(self) -> int:
        return len(self._streams)

    def open(self, producer: Producer, *, armed: bool = True) -> Stream:
        """Register a new stream and start ``producer(stream)`` as its task; the stream ends when the task does.

        Args:
            producer: What fills the stream.
            armed: Start the window for a first reader now; ``False`` for a stream nobody can read yet, whose opener
                calls :meth:`arm` once it can be (after the generation was admitted).
        """
        self._sweep()
        if (overflow := len(self._streams) - self.max_streams + 1) > 0:
            for stream_id in list(itertools.islice((s.id for s in self._streams.values() if s.done), overflow)):
                del self._streams[stream_id]
        stream = Stream(secrets.token_urlsafe(12))
        self._streams[stream.id] = stream

        async def run() -> None:
            try:
                await producer(stream)
            finally:
                stream.finish()

        stream.task = asyncio.get_running_loop().create_task(run(), name=f"flama-llm stream {stream.id}")
        if armed:
            self.arm(stream)
        return stream

    def arm(self, stream: Stream) -> None:
        """Cancel ``stream`` unless a first reader comes within ``resume_window`` seconds from now."""
        if self.resume_window > 0 and not stream.readers and not stream.done and stream._stop_later is None:
            # A first reader cancels this (with 0, only a reader that leaves stops the stream).
            loop = asyncio.get_running_loop()
            stream._stop_later = loop.call_later(self.resume_window, stream.cancel, "disconnected")

    def get(self, stream_id: str) -> Stream | None:
        """The stream called ``stream_id``, or ``None`` when it is unknown or expired."""
        self._sweep()
        return self._streams.get(stream_id)

    def cancel(self, stream_id: str) -> bool:
        """Stop the stream's generation at once; ``False`` when there is no such stream."""
        stream = self.get(stream_id)
        if stream is None:
            return False
        stream.cancel()
        return True

    def discard(self, stream_id: str) -> None:
        """Forget a stream (cancelling it first if it still runs)."""
        stream = self._streams.pop(stream_id, None)
        if stream is not None:
            stream.cancel()

    async def close(self) -> None:
        """Cancel every stream and wait for their tasks to end."""
        streams = list(self._streams.values())
        self._streams.clear()
        for stream in streams:
            stream.cancel()
        tasks = [stream.task for stream in streams if stream.task is not None]
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def _sweep(self) -> None:
        now = time.monotonic()
        if now - self._swept < min(self.keep_for / 10, 1.0):
            return
        self._swept = now
        expired = [
            stream.id
            for stream in self._streams.values()
            if now - (stream.finished_at if stream.finished_at is not None else stream.created) > self.keep_for
            and (stream.finished_at is not None or not stream.readers)
        ]
        for stream_id in expired:
            self.discard(stream_id)
