import datetime
import re
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from typing import Any

import anyio
import pytest
from flama.http import (
    BackgroundTask,
    HTMLResponse,
    JSONResponse,
    NDJSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from flama.http.types import Message, Send

from tests.http.conftest import CallApp


class TestCaseResponse:
    @pytest.mark.parametrize(
        ("response", "headers", "body"),
        [
            pytest.param(Response(), [(b"content-length", b"0")], b"", id="empty"),
            pytest.param(Response(b"raw"), [(b"content-length", b"3")], b"raw", id="bytes"),
            pytest.param(Response(bytearray(b"ab")), [(b"content-length", b"2")], b"ab", id="bytearray"),
            pytest.param(
                Response("é", media_type="text/csv"),
                [(b"content-length", b"2"), (b"content-type", b"text/csv; charset=utf-8")],
                "é".encode(),
                id="text-charset-added",
            ),
            pytest.param(
                Response("x", media_type="text/plain; charset=latin-1"),
                [(b"content-length", b"1"), (b"content-type", b"text/plain; charset=latin-1")],
                b"x",
                id="charset-kept",
            ),
            pytest.param(
                Response(b"{}", media_type="application/json"),
                [(b"content-length", b"2"), (b"content-type", b"application/json")],
                b"{}",
                id="no-charset-for-non-text",
            ),
            pytest.param(
                Response(b"x", headers={"Content-Type": "image/png", "X-Id": "7"}, media_type="text/plain"),
                [(b"content-type", b"image/png"), (b"x-id", b"7"), (b"content-length", b"1")],
                b"x",
                id="given-content-type-kept",
            ),
            pytest.param(
                Response(b"abc", headers={"content-length": "10"}),
                [(b"content-length", b"10")],
                b"abc",
                id="given-content-length-kept",
            ),
            pytest.param(Response(status_code=204), [], b"", id="no-content"),
            pytest.param(Response(status_code=304), [], b"", id="not-modified"),
            pytest.param(
                PlainTextResponse("hi"),
                [(b"content-length", b"2"), (b"content-type", b"text/plain; charset=utf-8")],
                b"hi",
                id="plain-text",
            ),
            pytest.param(
                HTMLResponse("<p>é</p>"),
                [(b"content-length", b"9"), (b"content-type", b"text/html; charset=utf-8")],
                "<p>é</p>".encode(),
                id="html",
            ),
        ],
    )
    async def test_send(self, call_app: CallApp, response: Response, headers: list[tuple[bytes, bytes]], body: bytes):
        sent = await call_app(response)

        assert sent.messages == [
            {"type": "http.response.start", "status": response.status_code, "headers": headers},
            {"type": "http.response.body", "body": body},
        ]

    def test_render_rejects(self):
        with pytest.raises(TypeError, match=r"^Response cannot render 'int' content$"):
            Response(3)

    async def test_headers_view_changes_what_is_sent(self, call_app: CallApp):
        response = PlainTextResponse("ok", headers={"x-a": "1"})
        response.headers["X-A"] = "2"
        response.headers.append("vary", "accept")
        del response.headers["content-length"]

        sent = await call_app(response)

        assert sent.raw_headers == [
            (b"x-a", b"2"),
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"vary", b"accept"),
        ]

    async def test_background_runs_after_body(self, call_app: CallApp):
        order: list[str] = []

        async def on_send(message: Message) -> None:
            order.append(message["type"])

        response = Response(b"x", background=BackgroundTask(order.append, "task"))

        await call_app(response, on_send=on_send)

        assert order == ["http.response.start", "http.response.body", "task"]

    def test_repr(self):
        assert repr(JSONResponse({}, status_code=201)) == "JSONResponse(status_code=201)"


class TestCaseCookies:
    def test_set_cookie(self):
        response = Response()
        response.set_cookie("sid", "abc", max_age=60, secure=True, httponly=True, samesite="strict")

        assert response.raw_headers[-1] == (
            b"set-cookie",
            b"sid=abc; Max-Age=60; Path=/; Secure; HttpOnly; SameSite=Strict",
        )

    def test_set_cookie_expires_datetime(self):
        response = Response()
        response.set_cookie("a", "1", expires=datetime.datetime(2030, 1, 2, 3, 4, 5), path=None, samesite=None)

        assert response.headers.getlist("set-cookie") == ["a=1; Expires=Wed, 02 Jan 2030 03:04:05 GMT"]

    def test_delete_cookie(self):
        response = Response()
        response.delete_cookie("sid", path="/app", domain="example.com")

        assert response.headers.getlist("set-cookie") == [
            "sid=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Domain=example.com; Path=/app; SameSite=Lax"
        ]

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            pytest.param({"key": "bad name"}, 'invalid cookie name "bad name"', id="name-not-a-token"),
            pytest.param({"key": "a", "value": "x;y"}, 'invalid cookie value "x;y"', id="value-with-semicolon"),
            pytest.param({"key": "a", "samesite": "none"}, "samesite='none' requires secure=True", id="samesite-none"),
        ],
    )
    def test_set_cookie_rejects(self, kwargs, message):
        with pytest.raises(ValueError, match=re.escape(message)):
            Response().set_cookie(**kwargs)


class TestCaseJSONResponse:
    async def test_send(self, call_app: CallApp):
        sent = await call_app(JSONResponse({"name": "é", "items": [1, None, True]}, status_code=201))

        assert sent.status == 201
        assert sent.raw_headers == [(b"content-length", b"35"), (b"content-type", b"application/json")]
        assert sent.body == '{"name":"é","items":[1,null,true]}'.encode()

    def test_media_type_override(self):
        response = JSONResponse([], media_type="application/problem+json")

        assert response.headers["content-type"] == "application/problem+json"
        assert response.body == b"[]"

    def test_none_is_null(self):
        assert JSONResponse(None).body == b"null"


class TestCaseRedirectResponse:
    @pytest.mark.parametrize(
        ("url", "location"),
        [
            pytest.param("/next", b"/next", id="plain"),
            pytest.param("/a b/ü?q=x y", b"/a%20b/%C3%BC?q=x%20y", id="quoted"),
            pytest.param("/a%20b?x=1&y=2#top", b"/a%20b?x=1&y=2#top", id="escapes-kept"),
            pytest.param("https://example.com:8443/p", b"https://example.com:8443/p", id="absolute"),
        ],
    )
    async def test_location(self, call_app: CallApp, url: str, location: bytes):
        sent = await call_app(RedirectResponse(url))

        assert sent.status == 307
        assert sent.raw_headers == [(b"content-length", b"0"), (b"location", location)]
        assert sent.body == b""

    def test_status(self):
        assert RedirectResponse("/", status_code=303).status_code == 303


class TestCaseStreamingResponse:
    async def test_async_iterable(self, call_app: CallApp):
        async def produce() -> AsyncIterator[str | bytes]:
            yield "a"
            yield b"b"
            yield memoryview(b"c")  # type: ignore[misc]

        sent = await call_app(StreamingResponse(produce(), media_type="text/plain"))

        assert sent.messages[0] == {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain; charset=utf-8")],
        }
        assert sent.messages[1:] == [
            {"type": "http.response.body", "body": b"a", "more_body": True},
            {"type": "http.response.body", "body": b"b", "more_body": True},
            {"type": "http.response.body", "body": b"c", "more_body": True},
            {"type": "http.response.body", "body": b"", "more_body": False},
        ]

    async def test_sync_iterable_runs_in_thread(self, call_app: CallApp):
        import threading

        threads: list[int] = []

        def produce() -> Iterator[bytes]:
            for chunk in (b"1", b"2"):
                threads.append(threading.get_ident())
                yield chunk

        sent = await call_app(StreamingResponse(produce()))

        assert sent.bodies == [b"1", b"2", b""]
        assert threading.get_ident() not in threads

    async def test_list(self, call_app: CallApp):
        sent = await call_app(StreamingResponse(["x", "y"]))

        assert sent.bodies == [b"x", b"y", b""]
        assert sent.raw_headers == []

    async def test_companions_run_beside_the_stream_and_end_with_it(self, call_app: CallApp):
        started = anyio.Event()
        cancelled: list[bool] = []

        async def produce() -> AsyncIterator[bytes]:
            await started.wait()  # the companion runs while the stream is under way
            yield b"data"

        class Watched(StreamingResponse):
            def companions(self, send: Send) -> Sequence[Callable[[], Coroutine[Any, Any, None]]]:
                async def companion() -> None:
                    started.set()
                    try:
                        await anyio.sleep_forever()
                    except anyio.get_cancelled_exc_class():
                        cancelled.append(True)
                        raise

                return (companion,)

        sent = await call_app(Watched(produce()))

        assert sent.bodies == [b"data", b""]
        assert cancelled == [True]

    async def test_the_body_ends_before_the_companions_are_stopped(self, call_app: CallApp):
        order: list[str] = []

        class Watched(StreamingResponse):
            def companions(self, send: Send) -> Sequence[Callable[[], Coroutine[Any, Any, None]]]:
                async def companion() -> None:
                    try:
                        await anyio.sleep_forever()
                    except anyio.get_cancelled_exc_class():
                        order.append("companion stopped")
                        raise

                return (companion,)

        async def on_send(message: Message) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                order.append("body ended")

        sent = await call_app(Watched([b"data"]), on_send=on_send)

        assert sent.bodies == [b"data", b""]
        assert order == ["body ended", "companion stopped"]

    async def test_a_companion_sends_nothing_after_the_end(self, call_app: CallApp):
        ended = anyio.Event()

        class Late(StreamingResponse):
            def companions(self, send: Send) -> Sequence[Callable[[], Coroutine[Any, Any, None]]]:
                async def companion() -> None:
                    await ended.wait()
                    await send({"type": "http.response.body", "body": b"late", "more_body": True})

                return (companion,)

        async def on_send(message: Message) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                ended.set()
                await anyio.sleep(0.01)  # the server is still writing the end: the companion runs meanwhile

        sent = await call_app(Late([b"data"]), on_send=on_send)

        assert sent.bodies == [b"data", b""]

    async def test_disconnect_closes_async_producer(self, call_app: CallApp):
        disconnect = anyio.Event()
        closed = anyio.Event()

        async def produce() -> AsyncIterator[bytes]:
            try:
                yield b"first"
                await anyio.sleep_forever()
                yield b"never"
            finally:
                closed.set()

        async def on_send(message: Message) -> None:
            if message.get("body") == b"first":
                disconnect.set()

        sent = await call_app(StreamingResponse(produce()), disconnect=disconnect, on_send=on_send)

        assert closed.is_set()
        assert sent.bodies == [b"first"]

    async def test_disconnect_closes_sync_producer(self, call_app: CallApp):
        disconnect = anyio.Event()
        closed: list[bool] = []

        def produce() -> Iterator[bytes]:
            try:
                yield b"first"
                yield b"second"
            finally:
                closed.append(True)

        async def on_send(message: Message) -> None:
            if message.get("body") == b"first":
                disconnect.set()
                await anyio.sleep(0.05)

        sent = await call_app(StreamingResponse(produce()), disconnect=disconnect, on_send=on_send)

        assert closed == [True]
        assert sent.bodies == [b"first"]

    async def test_rejects_item(self, call_app: CallApp):
        with pytest.raises(TypeError, match=r"^StreamingResponse cannot send 'int' items$"):
            await call_app(StreamingResponse([1]))

    async def test_background(self, call_app: CallApp):
        done: list[str] = []

        async def task() -> None:
            done.append("done")

        await call_app(StreamingResponse([b"x"], background=BackgroundTask(task)))

        assert done == ["done"]


class TestCaseNDJSONResponse:
    async def test_lines(self, call_app: CallApp):
        async def produce() -> AsyncIterator[object]:
            yield {"n": 1}
            yield [1, "é"]
            yield None

        sent = await call_app(NDJSONResponse(produce()))

        assert sent.raw_headers == [(b"content-type", b"application/x-ndjson")]
        assert sent.bodies == [b'{"n":1}\n', '[1,"é"]\n'.encode(), b"null\n", b""]

    async def test_sync(self, call_app: CallApp):
        sent = await call_app(NDJSONResponse(iter([{"a": 1}, {"b": 2}])))

        assert sent.body == b'{"a":1}\n{"b":2}\n'
