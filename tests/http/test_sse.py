import re
from collections.abc import AsyncIterator, Iterator

import anyio
import pytest
from flama.http import EventSourceResponse, ServerSentEvent
from flama.http.sse import frame
from flama.http.types import Message

from tests.http.conftest import CallApp


class TestCaseServerSentEvent:
    @pytest.mark.parametrize(
        ("event", "encoded"),
        [
            pytest.param(ServerSentEvent("hello"), b"data: hello\n\n", id="text"),
            pytest.param(ServerSentEvent(""), b"data: \n\n", id="empty-text"),
            pytest.param(ServerSentEvent("a\nb\r\nc\rd"), b"data: a\ndata: b\ndata: c\ndata: d\n\n", id="multi-line"),
            pytest.param(ServerSentEvent("x\u2028y"), "data: x\u2028y\n\n".encode(), id="only-cr-lf-split"),
            pytest.param(ServerSentEvent({"a": [1, "é"]}), 'data: {"a":[1,"é"]}\n\n'.encode(), id="json"),
            pytest.param(ServerSentEvent({"t": "a\nb"}), b'data: {"t":"a\\nb"}\n\n', id="json-escapes-newline"),
            pytest.param(ServerSentEvent(0), b"data: 0\n\n", id="json-number"),
            pytest.param(
                ServerSentEvent("x", event="update", id="7", retry=3000),
                b"event: update\nid: 7\nretry: 3000\ndata: x\n\n",
                id="all-fields",
            ),
            pytest.param(ServerSentEvent(comment="keep\nalive"), b": keep\n: alive\n\n", id="comment"),
            pytest.param(ServerSentEvent(event="ping"), b"event: ping\n\n", id="no-data"),
        ],
    )
    def test_encode(self, event: ServerSentEvent, encoded: bytes):
        assert event.encode() == encoded

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            pytest.param(
                {"event": "a\nb"}, "a server-sent event's event cannot contain CR, LF or NUL: 'a\\nb'", id="event"
            ),
            pytest.param({"id": "1\r"}, "a server-sent event's id cannot contain CR, LF or NUL: '1\\r'", id="id"),
            pytest.param({"id": "1\0"}, "a server-sent event's id cannot contain CR, LF or NUL: '1\\x00'", id="id-nul"),
            pytest.param({"retry": -1}, "a server-sent event's retry cannot be negative: -1", id="retry"),
        ],
    )
    def test_rejects(self, kwargs, message):
        with pytest.raises(ValueError, match=re.escape(message)):
            ServerSentEvent("x", **kwargs)

    def test_equality_and_repr(self):
        assert ServerSentEvent("a", event="e") == ServerSentEvent("a", event="e")
        assert ServerSentEvent("a") != ServerSentEvent("b")
        assert ServerSentEvent("a").__eq__("a") is NotImplemented
        assert repr(ServerSentEvent({"k": 1}, id="3")) == "ServerSentEvent(data={'k': 1}, id='3')"


class TestCaseEventSourceResponse:
    async def test_headers_and_events(self, call_app: CallApp):
        async def produce() -> AsyncIterator[object]:
            yield ServerSentEvent("one", event="first", id="1")
            yield "two"
            yield {"three": 3}

        response = EventSourceResponse(produce(), headers={"X-Stream": "yes", "Cache-Control": "no-store"})

        sent = await call_app(response)

        assert sent.raw_headers == [
            (b"cache-control", b"no-store"),
            (b"x-accel-buffering", b"no"),
            (b"connection", b"keep-alive"),
            (b"x-stream", b"yes"),
            (b"content-type", b"text/event-stream; charset=utf-8"),
        ]
        assert sent.bodies == [b"event: first\nid: 1\ndata: one\n\n", b"data: two\n\n", b'data: {"three":3}\n\n', b""]

    async def test_encoded_bytes_are_sent_as_they_are(self, call_app: CallApp):
        async def produce() -> AsyncIterator[bytes]:
            yield b"event: a\ndata: 1\n\nevent: b\ndata: 2\n\n"

        sent = await call_app(EventSourceResponse(produce(), ping=None))

        assert sent.bodies == [b"event: a\ndata: 1\n\nevent: b\ndata: 2\n\n", b""]

    async def test_sync_producer(self, call_app: CallApp):
        def produce() -> Iterator[ServerSentEvent]:
            yield ServerSentEvent("a")
            yield ServerSentEvent("b")

        sent = await call_app(EventSourceResponse(produce(), ping=None))

        assert sent.bodies == [b"data: a\n\n", b"data: b\n\n", b""]

    async def test_heartbeat_while_idle(self, call_app: CallApp):
        pinged = anyio.Event()

        async def produce() -> AsyncIterator[str]:
            yield "before"
            await pinged.wait()
            yield "after"

        async def on_send(message: Message) -> None:
            if message.get("body") == b": ping\n\n":
                pinged.set()

        sent = await call_app(EventSourceResponse(produce(), ping=0.01), on_send=on_send)

        bodies = sent.bodies
        assert bodies[0] == b"data: before\n\n"
        assert bodies[-2:] == [b"data: after\n\n", b""]
        assert set(bodies[1:-2]) == {b": ping\n\n"}

    async def test_no_heartbeat_when_disabled(self, call_app: CallApp):
        async def produce() -> AsyncIterator[str]:
            yield "a"
            await anyio.sleep(0.05)
            yield "b"

        sent = await call_app(EventSourceResponse(produce(), ping=None))

        assert sent.bodies == [b"data: a\n\n", b"data: b\n\n", b""]

    async def test_disconnect_closes_producer(self, call_app: CallApp):
        disconnect = anyio.Event()
        closed = anyio.Event()

        async def produce() -> AsyncIterator[str]:
            try:
                yield "first"
                await anyio.sleep_forever()
            finally:
                closed.set()

        async def on_send(message: Message) -> None:
            if message.get("body") == b"data: first\n\n":
                disconnect.set()

        sent = await call_app(EventSourceResponse(produce()), disconnect=disconnect, on_send=on_send)

        assert closed.is_set()
        assert sent.bodies == [b"data: first\n\n"]

    async def test_producer_error_propagates(self, call_app: CallApp):
        async def produce() -> AsyncIterator[str]:
            yield "first"
            raise LookupError("gone")

        with pytest.raises(LookupError, match=r"^gone$"):
            await call_app(EventSourceResponse(produce()))

    @pytest.mark.parametrize("ping", [pytest.param(0, id="zero"), pytest.param(-1.0, id="negative")])
    def test_rejects_ping(self, ping: float):
        with pytest.raises(
            ValueError, match=re.escape(f"ping must be a positive number of seconds or None, got {ping}")
        ):
            EventSourceResponse([], ping=ping)


class TestCaseFrame:
    @pytest.mark.parametrize(
        ("event", "id", "expected"),
        [
            pytest.param(None, None, b'data: {"a":1}\n\n', id="data"),
            pytest.param("block.delta", 7, b'event: block.delta\nid: 7\ndata: {"a":1}\n\n', id="event-and-number"),
            pytest.param(None, "x-1", b'id: x-1\ndata: {"a":1}\n\n', id="text-id"),
            pytest.param("error", None, b'event: error\ndata: {"a":1}\n\n', id="event"),
        ],
    )
    def test_frame(self, event, id, expected):
        assert frame(b'{"a":1}', event, id) == expected
        assert ServerSentEvent({"a": 1}, event=event, id=None if id is None else str(id)).encode() == expected

    @pytest.mark.parametrize(
        ("event", "id"),
        [
            pytest.param("a\nb", 1, id="event-lf"),
            pytest.param("a\rb", None, id="event-cr"),
            pytest.param(None, "1\n2", id="id-lf"),
            pytest.param("ok", "1\x002", id="id-nul"),
        ],
    )
    def test_refuses_line_breaks(self, event, id):
        with pytest.raises(ValueError, match="cannot contain CR, LF or NUL"):
            frame(b"1", event, id)
