"""Server-Sent Events: the event type and the streaming response that sends them (the WHATWG ``text/event-stream``)."""

import functools
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, ClassVar

import anyio
from flama.core import json_encode
from flama.http.background import Background
from flama.http.responses import Content, StreamingResponse
from flama.http.types import Send

__all__ = ["EventSourceResponse", "ServerSentEvent", "frame"]

_HEARTBEAT = b": ping\n\n"


def _lines(text: str) -> list[str]:
    # Only CR, LF and CRLF end a line in an event stream; str.splitlines would also split on U+2028 and others.
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _check_line(field: str, value: str) -> str:
    if "\r" in value or "\n" in value or "\0" in value:
        raise ValueError(f"a server-sent event's {field} cannot contain CR, LF or NUL: {value!r}")
    return value


# The head of an event (its type line, then ``id: ``) by event type: a stream uses a handful of types, each checked
# and formatted once.
_HEADS: dict[str | None, str] = {None: "id: "}


def _head(event: str) -> str:
    head = f"event: {_check_line('event', event)}\nid: "
    if len(_HEADS) < 256:
        _HEADS[event] = head
    return head


def frame(data: bytes, event: str | None = None, id: str | int | None = None) -> bytes:
    """One event whose data is a single line already encoded, such as compact JSON: the one SSE encoder's fast path.

    Args:
        data: The data line, without CR or LF (``flama.core``'s compact JSON never has them).
        event: The event type.
        id: The event id (an ``int`` is written in decimal).

    Raises:
        ValueError: ``event`` or ``id`` contains CR, LF or NUL.
    """
    if id is None:
        head = "" if event is None else f"event: {_check_line('event', event)}\n"
        return f"{head}data: ".encode() + data + b"\n\n"
    head = _HEADS.get(event) or _head(event)  # type: ignore[arg-type]  # None is always in _HEADS
    shown = id if type(id) is int else _check_line("id", str(id))
    return f"{head}{shown}\ndata: ".encode() + data + b"\n\n"


class ServerSentEvent:
    r"""One server-sent event.

    Args:
        data: The payload. A ``str`` is sent as it is, each of its lines as its own ``data:`` line (the client joins
            them back with ``\n``); any other value is encoded as JSON by ``flama.core``, on one line.
        event: The event type (``addEventListener`` name); the client's default is ``message``.
        id: The event id the client sends back as ``Last-Event-ID`` when it reconnects.
        retry: The reconnection delay to ask the client for, in milliseconds.
        comment: A comment, ignored by the client (each line prefixed with ``:``).

    Raises:
        ValueError: ``event`` or ``id`` contains CR, LF or NUL, or ``retry`` is negative.
    """

    __slots__ = ("comment", "data", "event", "id", "retry")

    def __init__(
        self,
        data: Any = None,
        event: str | None = None,
        id: str | None = None,
        retry: int | None = None,
        comment: str | None = None,
    ) -> None:
        if retry is not None and retry < 0:
            raise ValueError(f"a server-sent event's retry cannot be negative: {retry}")
        self.data = data
        self.event = None if event is None else _check_line("event", event)
        self.id = None if id is None else _check_line("id", id)
        self.retry = retry
        self.comment = comment

    def encode(self) -> bytes:
        """The event as it goes on the wire, ending with the blank line that dispatches it."""
        if self.comment is None and self.retry is None and self.data is not None and not isinstance(self.data, str):
            return frame(json_encode(self.data), self.event, self.id)
        lines: list[str] = []
        if self.comment is not None:
            lines.extend(f": {line}" for line in _lines(self.comment))
        if self.event is not None:
            lines.append(f"event: {self.event}")
        if self.id is not None:
            lines.append(f"id: {self.id}")
        if self.retry is not None:
            lines.append(f"retry: {self.retry}")
        if self.data is not None:
            if isinstance(self.data, str):
                lines.extend(f"data: {line}" for line in _lines(self.data))
            else:
                lines.append(f"data: {json_encode(self.data).decode('utf-8')}")
        lines.append("\n")
        return "\n".join(lines).encode("utf-8")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ServerSentEvent):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name}={getattr(self, name)!r}" for name in self.__slots__ if getattr(self, name) is not None
        )
        return f"{type(self).__name__}({fields})"


class EventSourceResponse(StreamingResponse):
    """A stream of server-sent events, each sent as its own message the moment it is produced.

    Items may be :class:`ServerSentEvent` instances, ``bytes`` (one or more events already encoded, sent as they
    are), or any other value, which becomes the ``data`` of an event (a ``str`` as text, anything else as JSON). While
    the producer is idle for ``ping`` seconds a heartbeat comment is sent so proxies keep the connection open. The
    headers turn caching and proxy buffering off. When the client disconnects, the producer is closed.

    Args:
        content: A sync or async iterable of events.
        status_code: The HTTP status.
        headers: Extra headers.
        ping: Seconds of producer silence before a heartbeat comment; ``None`` disables heartbeats.
        background: Work to run once the stream is over.
    """

    media_type = "text/event-stream"
    default_headers: ClassVar[Mapping[str, str]] = {
        "cache-control": "no-cache",
        "x-accel-buffering": "no",
        "connection": "keep-alive",
    }

    __slots__ = ("_last_write", "ping")

    def __init__(
        self,
        content: Content,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        *,
        ping: float | None = 15.0,
        background: Background | None = None,
    ) -> None:
        merged = dict(self.default_headers)
        if headers:
            merged.update({key.lower(): value for key, value in headers.items()})
        super().__init__(content, status_code, merged, None, background)
        if ping is not None and ping <= 0:
            raise ValueError(f"ping must be a positive number of seconds or None, got {ping}")
        self.ping = ping
        self._last_write = 0.0

    def encode(self, item: Any) -> bytes:
        """Encode one produced item as one event."""
        if self.ping is not None:
            self._last_write = time.monotonic()
        if isinstance(item, bytes):
            return item
        if isinstance(item, ServerSentEvent):
            return item.encode()
        if isinstance(item, str):
            return ServerSentEvent(item).encode()
        # The common case, a JSON payload alone: compact JSON never spans lines, so it is one `data:` line.
        return frame(json_encode(item))

    def companions(self, send: Send) -> Sequence[Callable[[], Coroutine[Any, Any, None]]]:
        """The heartbeat, which sends a comment in the producer's silences (none when ``ping`` is ``None``)."""
        return () if self.ping is None else (functools.partial(self._heartbeat, send, self.ping),)

    async def _heartbeat(self, send: Send, ping: float) -> None:
        # Heartbeats and events are whole ASGI messages; the server writes each one atomically, so they may interleave.
        self._last_write = time.monotonic()  # the first heartbeat is due a whole ``ping`` after the stream starts
        while True:
            idle = time.monotonic() - self._last_write
            if idle >= ping:
                self._last_write = time.monotonic()
                await send({"type": "http.response.body", "body": _HEARTBEAT, "more_body": True})
            else:
                await anyio.sleep(ping - idle)
