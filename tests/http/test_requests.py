import os
from collections.abc import Callable, Sequence
from typing import Any

import anyio
import pytest
from flama.core import ClientDisconnected
from flama.core.forms import FormLimits, UploadedFile
from flama.http import URL, Address, HTTPConnection, HTTPException, Request, StreamConsumed
from flama.http.types import Message, Scope

from tests.http.conftest import ScopeFactory

Receive = Callable[[], Any]


def receiver(*chunks: bytes, then_disconnect: bool = True) -> Callable[[], Any]:
    """A receive channel that yields the body ``chunks`` and then reports a disconnect (or waits forever)."""
    messages: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
        for index, chunk in enumerate(chunks)
    ]
    calls: list[int] = []

    async def receive() -> Message:
        calls.append(1)
        if messages:
            return messages.pop(0)
        if not then_disconnect:
            await anyio.sleep_forever()
        return {"type": "http.disconnect"}

    receive.calls = calls  # type: ignore[attr-defined]
    return receive


def multipart(boundary: str, parts: Sequence[tuple[str, str | None, bytes]]) -> bytes:
    body = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        if filename is not None:
            body += b"Content-Type: application/octet-stream\r\n"
        body += b"\r\n" + data + b"\r\n"
    return body + f"--{boundary}--\r\n".encode()


class TestCaseHTTPConnection:
    def test_scope_properties(self, scope_factory: ScopeFactory):
        scope = scope_factory(
            path="/items/7",
            query_string=b"a=1&b=2&a=3",
            headers=[("Host", "example.com:8080"), ("Cookie", "sid=abc; theme=dark"), ("Cookie", "lang=es")],
            root_path="",
            path_params={"id": 7},
            app="the app",
        )
        connection = HTTPConnection(scope)

        assert connection.url == URL("http://example.com:8080/items/7?a=1&b=2&a=3")
        assert connection.base_url == URL("http://example.com:8080/")
        assert connection.headers["host"] == "example.com:8080"
        assert connection.query_params.getlist("a") == ["1", "3"]
        assert connection.path_params == {"id": 7}
        assert connection.cookies == {"sid": "abc", "theme": "dark", "lang": "es"}
        assert connection.client == Address("127.0.0.1", 50000)
        assert connection.app == "the app"
        assert connection["method"] == "GET"
        assert len(connection) == len(scope)
        assert set(connection) == set(scope)

    def test_base_url_with_root_path(self, scope_factory: ScopeFactory):
        scope = scope_factory(path="/api/users", root_path="/api", headers=[("host", "h")], query_string=b"x=1")

        connection = HTTPConnection(scope)

        assert str(connection.base_url) == "http://h/api/"
        assert str(connection.url) == "http://h/api/users?x=1"

    def test_defaults(self, scope_factory: ScopeFactory):
        scope = scope_factory(client=None)
        del scope["client"]

        connection = HTTPConnection(scope)

        assert connection.client is None
        assert connection.cookies == {}
        assert connection.path_params == {}
        assert connection.app is None

    def test_state_shared_through_scope(self, scope_factory: ScopeFactory):
        scope = scope_factory()
        HTTPConnection(scope).state.user = "ada"

        assert HTTPConnection(scope).state.user == "ada"
        assert scope["state"] == {"user": "ada"}

    def test_properties_are_cached(self, scope_factory: ScopeFactory):
        connection = HTTPConnection(scope_factory())

        assert connection.headers is connection.headers
        assert connection.url is connection.url
        assert connection.query_params is connection.query_params

    def test_identity_equality(self, scope_factory: ScopeFactory):
        scope = scope_factory()

        assert HTTPConnection(scope) != HTTPConnection(scope)
        assert len({HTTPConnection(scope), HTTPConnection(scope)}) == 2

    async def test_no_receive(self, scope_factory: ScopeFactory):
        with pytest.raises(RuntimeError, match="built without a receive channel"):
            await Request(scope_factory()).body()


class TestCaseRequestBody:
    async def test_body_joined_and_kept(self, scope_factory: ScopeFactory):
        receive = receiver(b"ab", b"", b"cd")
        request = Request(scope_factory(method="POST"), receive)

        assert request.method == "POST"
        assert await request.body() == b"abcd"
        assert await request.body() == b"abcd"
        assert len(receive.calls) == 3  # type: ignore[attr-defined]

    async def test_stream(self, scope_factory: ScopeFactory):
        request = Request(scope_factory(), receiver(b"a", b"b", b""))

        assert [chunk async for chunk in request.stream()] == [b"a", b"b"]

    async def test_stream_twice(self, scope_factory: ScopeFactory):
        request = Request(scope_factory(), receiver(b"a"))
        [chunk async for chunk in request.stream()]

        with pytest.raises(StreamConsumed, match=r"^the request body was already streamed$"):
            await request.body()

    async def test_stream_after_body(self, scope_factory: ScopeFactory):
        request = Request(scope_factory(), receiver(b"a", b"b"))
        await request.body()

        assert [chunk async for chunk in request.stream()] == [b"ab"]

    async def test_disconnect_while_reading(self, scope_factory: ScopeFactory):
        request = Request(scope_factory(), receiver())

        with pytest.raises(ClientDisconnected, match="disconnected before the whole body arrived"):
            await request.body()
        assert await request.is_disconnected() is True

    async def test_receive_replays_body(self, scope_factory: ScopeFactory):
        request = Request(scope_factory(), receiver(b"x", b"y"))
        await request.body()
        receive = request.receive

        assert await receive() == {"type": "http.request", "body": b"xy", "more_body": False}
        assert await receive() == {"type": "http.disconnect"}

    async def test_receive_before_read(self, scope_factory: ScopeFactory):
        request = Request(scope_factory(), receiver(b"x"))

        assert await request.receive() == {"type": "http.request", "body": b"x", "more_body": False}

    async def test_is_disconnected(self, scope_factory: ScopeFactory):
        request = Request(scope_factory(), receiver(b"kept", then_disconnect=False))

        assert await request.is_disconnected() is False
        assert await request.is_disconnected() is False
        assert await request.body() == b"kept"

    async def test_is_disconnected_after_disconnect(self, scope_factory: ScopeFactory):
        messages: list[Message] = [{"type": "http.disconnect"}]

        async def receive() -> Message:
            return messages.pop(0)

        request = Request(scope_factory(), receive)

        assert await request.is_disconnected() is True
        assert messages == []


class TestCaseRequestJSON:
    async def test_json(self, scope_factory: ScopeFactory):
        request = Request(scope_factory(), receiver(b'{"a": [1, ', b'"\xc3\xa9"]}'))

        assert await request.json() == {"a": [1, "é"]}
        assert await request.json() == {"a": [1, "é"]}

    @pytest.mark.parametrize(
        ("body", "detail"),
        [
            pytest.param(
                b'{"a":', "Malformed JSON body: invalid JSON: EOF while parsing a value at line 1 column 5", id="eof"
            ),
            pytest.param(
                b"", "Malformed JSON body: invalid JSON: EOF while parsing a value at line 1 column 0", id="empty"
            ),
        ],
    )
    async def test_malformed(self, scope_factory: ScopeFactory, body: bytes, detail: str):
        request = Request(scope_factory(), receiver(body))

        with pytest.raises(HTTPException) as info:
            await request.json()

        assert info.value.status_code == 400
        assert info.value.detail == detail


class TestCaseRequestForm:
    async def test_urlencoded(self, scope_factory: ScopeFactory):
        scope = scope_factory(method="POST", headers=[("content-type", "application/x-www-form-urlencoded")])
        request = Request(scope, receiver(b"name=Ada+L&tag=a", b"&tag=%C3%A9"))

        form = await request.form()

        assert form.multi_items() == [("name", "Ada L"), ("tag", "a"), ("tag", "é")]
        assert await request.form() is form
        with pytest.raises(StreamConsumed):  # The form is parsed as it streams in: the body is not kept.
            await request.body()

    async def test_form_after_body(self, scope_factory: ScopeFactory):
        scope = scope_factory(headers=[("content-type", "application/x-www-form-urlencoded; charset=utf-8")])
        request = Request(scope, receiver(b"a=1"))
        await request.body()

        assert dict(await request.form()) == {"a": "1"}

    async def test_multipart_files_removed_on_close(self, scope_factory: ScopeFactory):
        body = multipart("XyZ", [("title", None, b"Report"), ("upload", "data.bin", b"\x00" * 300)])
        scope = scope_factory(headers=[("content-type", "multipart/form-data; boundary=XyZ")])
        request = Request(scope, receiver(body[:50], body[50:]))

        form = await request.form(limits=FormLimits(spool_max_size=100))

        assert form["title"] == "Report"
        upload = form["upload"]
        assert isinstance(upload, UploadedFile)
        assert (upload.filename, upload.size) == ("data.bin", 300)
        assert upload.read() == b"\x00" * 300
        # Past spool_max_size the data went to an anonymous temporary file: closing it is what frees the disk.
        assert upload.file._rolled  # type: ignore[attr-defined]
        descriptor = upload.file.fileno()
        os.fstat(descriptor)
        await request.close()
        with pytest.raises(OSError, match="Bad file descriptor"):
            os.fstat(descriptor)
        assert upload.file.closed

    async def test_close_without_form(self, scope_factory: ScopeFactory):
        received: list[Message] = []

        async def receive() -> Message:
            received.append({"type": "http.request", "body": b"x=1", "more_body": False})
            return received[-1]

        request = Request(scope_factory(), receive)
        await request.close()
        await request.close()
        assert received == []  # closing reads nothing: no form was parsed, so there is nothing to release

    @pytest.mark.parametrize(
        ("content_type", "body", "limits", "status", "detail"),
        [
            pytest.param(
                "application/json",
                b"{}",
                None,
                415,
                "Expected a form (application/x-www-form-urlencoded or multipart/form-data), got 'application/json'",
                id="not-a-form",
            ),
            pytest.param(
                "application/x-www-form-urlencoded",
                b"a=1&b=2",
                FormLimits(max_fields=1),
                413,
                None,
                id="too-many-fields",
            ),
            pytest.param(
                "multipart/form-data; boundary=B",
                multipart("B", [("f", "f.txt", b"0123456789")]),
                FormLimits(max_file_size=4),
                413,
                "payload too large: max_file_size exceeds 4",
                id="file-too-large",
            ),
            pytest.param("multipart/form-data", b"--B--\r\n", None, 400, None, id="missing-boundary"),
            pytest.param("multipart/form-data; boundary=B", b"garbage", None, 400, None, id="malformed-multipart"),
        ],
    )
    async def test_errors(
        self,
        scope_factory: ScopeFactory,
        content_type: str,
        body: bytes,
        limits: FormLimits | None,
        status: int,
        detail: str | None,
    ):
        request = Request(scope_factory(headers=[("content-type", content_type)]), receiver(body))

        with pytest.raises(HTTPException) as info:
            await request.form(limits=limits)

        assert info.value.status_code == status
        if detail is not None:
            assert info.value.detail == detail
        assert isinstance(info.value.detail, str)
        assert info.value.detail

    async def test_after_stream(self, scope_factory: ScopeFactory):
        request = Request(
            scope_factory(headers=[("content-type", "application/x-www-form-urlencoded")]), receiver(b"a=1")
        )
        [chunk async for chunk in request.stream()]

        with pytest.raises(StreamConsumed):
            await request.form()

    async def test_disconnect(self, scope_factory: ScopeFactory):
        request = Request(scope_factory(headers=[("content-type", "application/x-www-form-urlencoded")]), receiver())

        with pytest.raises(ClientDisconnected):
            await request.form()


class TestCaseUrlFor:
    def test_outside_a_flama_app(self):
        from flama.http import Request

        request = Request({"type": "http", "method": "GET", "path": "/", "headers": []})
        with pytest.raises(RuntimeError, match=r"^url_for\(\) needs a connection served by a Flama application$"):
            request.url_for("anything")


def endless_body(chunk_size: int, chunks: int, read: list[int]) -> Callable[[], Any]:
    """A receive channel streaming ``chunks`` chunks of JSON-ish bytes, generated as read; ``read`` counts them."""

    async def receive() -> Message:
        read.append(1)
        more = len(read) < chunks
        body = b"[" if len(read) == 1 else b"1," * (chunk_size // 2)
        return {"type": "http.request", "body": body, "more_body": more}

    return receive


class TestCaseBodyLimit:
    """Issue 9, item 4: every buffered read has a default limit, enforced while the body streams in."""

    def app(self, **options: Any) -> Any:
        from flama.http import Flama

        app = Flama(schema=None, docs=None, discover_modules=False, **options)

        @app.route("/json", methods=["POST"])
        async def echo(request: Request) -> dict[str, int]:
            return {"items": len(await request.json())}

        @app.route("/form", methods=["POST"])
        async def form(request: Request) -> dict[str, int]:
            return {"fields": len(await request.form())}

        return app

    async def call(self, app: Any, scope: Scope, receive: Callable[[], Any]) -> tuple[int, Any]:
        from flama.core import json_decode

        sent: list[Message] = []

        async def send(message: Message) -> None:
            sent.append(message)

        with anyio.fail_after(30):
            await app(scope, receive, send)
        return sent[0]["status"], json_decode(b"".join(message.get("body", b"") for message in sent[1:]))

    async def test_default_stops_reading_at_16_mib(self, scope_factory: ScopeFactory):
        import tracemalloc

        from flama.http.requests import DEFAULT_MAX_BODY_SIZE

        assert DEFAULT_MAX_BODY_SIZE == 16 * 1024 * 1024
        read: list[int] = []
        # 50 MB announced by nobody (chunked): the read must stop once 16 MiB have arrived.
        receive = endless_body(64 * 1024, 800, read)
        tracemalloc.start()
        try:
            status, body = await self.call(self.app(), scope_factory("POST", "/json"), receive)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

        assert status == 413
        assert body["detail"] == "Request body larger than 16777216 bytes (max_body_size)"
        assert len(read) <= DEFAULT_MAX_BODY_SIZE // (64 * 1024) + 2
        assert peak < DEFAULT_MAX_BODY_SIZE + 8 * 1024 * 1024, peak

    async def test_content_length_is_refused_before_reading(self, scope_factory: ScopeFactory):
        read: list[int] = []
        scope = scope_factory("POST", "/json", headers=[("content-length", str(50 * 1024 * 1024))])

        status, _ = await self.call(self.app(), scope, endless_body(64 * 1024, 800, read))

        assert status == 413
        assert read == []

    @pytest.mark.parametrize(
        ("options", "size", "status"),
        [
            pytest.param({"max_body_size": 1024}, 1025, 413, id="app-limit"),
            pytest.param({"max_body_size": 1024}, 1000, 200, id="app-limit-under"),
            pytest.param({"max_body_size": None}, 20 * 1024 * 1024, 200, id="no-limit"),
        ],
    )
    async def test_app_limit(self, scope_factory: ScopeFactory, options: dict[str, Any], size: int, status: int):
        body = b"[" + b"1," * ((size - 3) // 2) + b"1]"
        body += b" " * (size - len(body))

        got, answer = await self.call(self.app(**options), scope_factory("POST", "/json"), receiver(body))

        assert got == status, answer

    async def test_route_limit(self, scope_factory: ScopeFactory):
        from flama.http import Route

        app = self.app()

        async def small(request: Request) -> Any:
            return await request.json()

        app.router.add(Route("/small", small, methods=["POST"], max_body_size=8))

        too_big, body = await self.call(app, scope_factory("POST", "/small"), receiver(b'"123456789"'))
        fits, _ = await self.call(app, scope_factory("POST", "/small"), receiver(b'"12345"'))
        elsewhere, _ = await self.call(app, scope_factory("POST", "/json"), receiver(b'"123456789"'))

        assert (too_big, fits, elsewhere) == (413, 200, 200)
        assert "8 bytes" in body["detail"]

    async def test_form_uses_the_limit(self, scope_factory: ScopeFactory):
        scope = scope_factory("POST", "/form", headers=[("content-type", "application/x-www-form-urlencoded")])

        status, body = await self.call(self.app(max_body_size=100), scope, receiver(b"a=" + b"x" * 200))

        assert status == 413
        assert "max_total_size" in body["detail"]

    def test_negative_limit(self):
        from flama.http import Flama, Route

        with pytest.raises(ValueError, match="max_body_size"):
            Flama(max_body_size=-1)
        with pytest.raises(ValueError, match="max_body_size"):
            Route("/", lambda: None, max_body_size=-1)
