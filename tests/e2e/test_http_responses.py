"""The request/response layer of flama.http served by a real uvicorn and driven by real clients (httpx, websockets)."""

import re
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import anyio.to_thread
import httpx
import pytest
from flama.core.forms import FormLimits, UploadedFile
from flama.http import (
    BackgroundTask,
    EventSourceResponse,
    FileResponse,
    HTTPException,
    JSONResponse,
    NDJSONResponse,
    PlainTextResponse,
    Request,
    Response,
    ServerSentEvent,
    WebSocket,
    error_response,
)
from flama.http.types import Receive, Scope, Send
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.servers import ServerFactory

Endpoint = Callable[[Request], Awaitable[Response]]
DATA = b"".join(f"{line:04d}\n".encode() for line in range(1000))  # 5000 bytes


class Site:
    """A tiny ASGI app: one endpoint per path, HTTP errors rendered as JSON, requests closed after each response."""

    def __init__(self) -> None:
        self.endpoints: dict[str, Endpoint] = {}
        self.websockets: dict[str, Callable[[WebSocket], Awaitable[None]]] = {}
        self.closed = threading.Event()

    def route(self, path: str) -> Callable[[Endpoint], Endpoint]:
        def register(endpoint: Endpoint) -> Endpoint:
            self.endpoints[path] = endpoint
            return endpoint

        return register

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self.websockets[scope["path"]](WebSocket(scope, receive, send))
            return
        request = Request(scope, receive, send)
        try:
            response = await self.endpoints[scope["path"]](request)
        except HTTPException as exc:
            response = error_response(exc)
        try:
            await response(scope, request.receive, send)
        finally:
            await request.close()
            self.closed.set()


@pytest.fixture
def site() -> Site:
    return Site()


class Gate:
    """A signal from the test thread to a producer on the server's event loop."""

    def __init__(self) -> None:
        self.event = threading.Event()

    async def wait(self) -> None:
        await anyio.to_thread.run_sync(self.event.wait, 10)


class TestCaseJSON:
    def test_hello(self, server_factory: ServerFactory, site: Site):
        @site.route("/")
        async def hello(request: Request) -> Response:
            return JSONResponse({"hello": "world", "name": request.query_params.get("name")})

        response = httpx.get(server_factory(site) + "/?name=%C3%A9")

        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.headers["content-length"] == "29"
        assert response.content == '{"hello":"world","name":"é"}'.encode()

    def test_echo(self, server_factory: ServerFactory, site: Site):
        @site.route("/echo")
        async def echo(request: Request) -> Response:
            return JSONResponse({"received": await request.json()}, status_code=201)

        response = httpx.post(server_factory(site) + "/echo", content=b'{"items": [1, 2.5, null]}')

        assert response.status_code == 201
        assert response.content == b'{"received":{"items":[1,2.5,null]}}'

    def test_malformed_json(self, server_factory: ServerFactory, site: Site):
        @site.route("/echo")
        async def echo(request: Request) -> Response:
            return JSONResponse(await request.json())

        response = httpx.post(server_factory(site) + "/echo", content=b'{"a": ')

        assert response.status_code == 400
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {
            "detail": "Malformed JSON body: invalid JSON: EOF while parsing a value at line 1 column 6",
            "error": "HTTPException",
            "status_code": 400,
        }

    def test_background_after_response(self, server_factory: ServerFactory, site: Site):
        done = threading.Event()

        @site.route("/")
        async def endpoint(request: Request) -> Response:
            return PlainTextResponse("queued", background=BackgroundTask(done.set))

        response = httpx.get(server_factory(site) + "/")

        assert response.text == "queued"
        assert done.wait(10)


class TestCaseStreams:
    def test_server_sent_events_arrive_one_by_one(self, server_factory: ServerFactory, site: Site):
        gate = Gate()

        @site.route("/events")
        async def events(request: Request) -> Response:
            async def produce() -> AsyncIterator[object]:
                yield ServerSentEvent({"step": 1}, event="progress", id="1")
                await gate.wait()
                yield ServerSentEvent("two\nlines", id="2")
                yield "plain"

            return EventSourceResponse(produce())

        with httpx.stream("GET", server_factory(site) + "/events", timeout=10) as response:
            assert response.status_code == 200
            assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
            assert response.headers["cache-control"] == "no-cache"
            assert response.headers["x-accel-buffering"] == "no"
            assert response.headers["transfer-encoding"] == "chunked"
            lines = response.iter_lines()
            first = [next(lines) for _ in range(4)]
            # The producer is still blocked on the gate: this event came out before the stream could end.
            assert first == ["event: progress", "id: 1", 'data: {"step":1}', ""]
            gate.event.set()
            rest = list(lines)

        assert rest == ["id: 2", "data: two", "data: lines", "", "data: plain", ""]

    def test_server_sent_events_producer_closed_on_disconnect(self, server_factory: ServerFactory, site: Site):
        closed = threading.Event()

        @site.route("/events")
        async def events(request: Request) -> Response:
            async def produce() -> AsyncIterator[str]:
                try:
                    yield "first"
                    await anyio.sleep_forever()
                finally:
                    closed.set()

            return EventSourceResponse(produce())

        with httpx.stream("GET", server_factory(site) + "/events", timeout=10) as response:
            assert next(response.iter_lines()) == "data: first"

        assert closed.wait(10)

    def test_ndjson(self, server_factory: ServerFactory, site: Site):
        gate = Gate()

        @site.route("/rows")
        async def rows(request: Request) -> Response:
            async def produce() -> AsyncIterator[object]:
                yield {"row": 1}
                await gate.wait()
                yield {"row": 2, "tags": ["é"]}

            return NDJSONResponse(produce())

        with httpx.stream("GET", server_factory(site) + "/rows", timeout=10) as response:
            assert response.headers["content-type"] == "application/x-ndjson"
            lines = response.iter_lines()
            assert next(lines) == '{"row":1}'
            gate.event.set()
            assert list(lines) == ['{"row":2,"tags":["é"]}']


class TestCaseFiles:
    @pytest.fixture
    def base_url(self, server_factory: ServerFactory, site: Site, tmp_path: Path) -> str:
        path = tmp_path / "lines.txt"
        path.write_bytes(DATA)

        @site.route("/file")
        async def file(request: Request) -> Response:
            return FileResponse(path)

        return server_factory(site)

    def test_whole(self, base_url: str):
        response = httpx.get(base_url + "/file")

        assert response.status_code == 200
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        assert response.headers["content-length"] == "5000"
        assert response.headers["accept-ranges"] == "bytes"
        assert re.fullmatch(r'"[0-9a-f]+-1388"', response.headers["etag"])
        assert response.content == DATA

    def test_head(self, base_url: str):
        response = httpx.head(base_url + "/file")

        assert response.status_code == 200
        assert response.headers["content-length"] == "5000"
        assert response.content == b""

    def test_range(self, base_url: str):
        response = httpx.get(base_url + "/file", headers={"Range": "bytes=10-19"})

        assert response.status_code == 206
        assert response.headers["content-range"] == "bytes 10-19/5000"
        assert response.content == b"0002\n0003\n"

    def test_multiple_ranges(self, base_url: str):
        response = httpx.get(base_url + "/file", headers={"Range": "bytes=0-4, -5"})

        assert response.status_code == 206
        boundary = response.headers["content-type"].removeprefix("multipart/byteranges; boundary=")
        part = "--{}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes {}/5000\r\n\r\n{}\r\n"
        expected = part.format(boundary, "0-4", "0000\n") + part.format(boundary, "4995-4999", "0999\n")
        assert response.content == (expected + f"--{boundary}--\r\n").encode()

    def test_not_modified(self, base_url: str):
        etag = httpx.head(base_url + "/file").headers["etag"]

        response = httpx.get(base_url + "/file", headers={"If-None-Match": etag})

        assert response.status_code == 304
        assert response.headers["etag"] == etag
        assert response.content == b""

    def test_range_not_satisfiable(self, base_url: str):
        response = httpx.get(base_url + "/file", headers={"Range": "bytes=6000-"})

        assert response.status_code == 416
        assert response.headers["content-range"] == "bytes */5000"
        assert response.content == b""


class TestCaseCookies:
    def test_read_and_set(self, server_factory: ServerFactory, site: Site):
        @site.route("/login")
        async def login(request: Request) -> Response:
            response = JSONResponse({"cookies": request.cookies})
            response.set_cookie("sid", "s3cr3t", max_age=3600, httponly=True)
            response.delete_cookie("old")
            return response

        response = httpx.get(server_factory(site) + "/login", headers={"Cookie": "theme=dark; lang=es"})

        assert response.json() == {"cookies": {"theme": "dark", "lang": "es"}}
        assert response.headers.get_list("set-cookie") == [
            "sid=s3cr3t; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax",
            "old=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax",
        ]
        assert dict(response.cookies) == {"sid": "s3cr3t"}


class TestCaseForms:
    def test_upload(self, server_factory: ServerFactory, site: Site):
        uploads: list[UploadedFile] = []

        @site.route("/upload")
        async def upload(request: Request) -> Response:
            form = await request.form(limits=FormLimits(spool_max_size=1024))
            files = [value for value in form.values() if isinstance(value, UploadedFile)]
            uploads.extend(files)
            return JSONResponse(
                {
                    "title": form["title"],
                    "files": [[file.filename, file.content_type, file.size, file.read(4).decode()] for file in files],
                }
            )

        response = httpx.post(
            server_factory(site) + "/upload",
            data={"title": "Report"},
            files={"small": ("a.txt", b"tiny", "text/plain"), "large": ("b.bin", DATA, "application/octet-stream")},
        )

        assert response.status_code == 200
        assert response.json() == {
            "title": "Report",
            "files": [["a.txt", "text/plain", 4, "tiny"], ["b.bin", "application/octet-stream", 5000, "0000"]],
        }
        # Closed once the response was sent: the spooled temporary file is gone.
        assert site.closed.wait(10)
        assert [file.file.closed for file in uploads] == [True, True]

    def test_too_large(self, server_factory: ServerFactory, site: Site):
        @site.route("/upload")
        async def upload(request: Request) -> Response:
            await request.form(limits=FormLimits(max_file_size=100))
            return Response()

        response = httpx.post(server_factory(site) + "/upload", files={"file": ("b.bin", DATA)})

        assert response.status_code == 413
        assert response.json() == {
            "detail": "payload too large: max_file_size exceeds 100",
            "error": "HTTPException",
            "status_code": 413,
        }


class TestCaseWebSocket:
    def test_echo(self, server_factory: ServerFactory, site: Site):
        finished = threading.Event()

        async def echo(websocket: WebSocket) -> None:
            await websocket.accept(subprotocol="json")
            async for message in websocket.iter_json():
                await websocket.send_json({"echo": message, "path": websocket.url.path})
            finished.set()

        site.websockets["/ws"] = echo
        url = server_factory(site).replace("http://", "ws://") + "/ws"

        with connect(url, subprotocols=["json"]) as client:  # type: ignore[list-item]
            assert client.subprotocol == "json"
            client.send('{"n": 1}')
            assert client.recv(timeout=10) == '{"echo":{"n":1},"path":"/ws"}'
            client.send("[true]")
            assert client.recv(timeout=10) == '{"echo":[true],"path":"/ws"}'

        # The client's close ended the server's iteration.
        assert finished.wait(10)

    def test_close_code(self, server_factory: ServerFactory, site: Site):
        async def reject(websocket: WebSocket) -> None:
            await websocket.accept()
            await websocket.receive_text()
            await websocket.close(4001, "go away")

        site.websockets["/ws"] = reject
        url = server_factory(site).replace("http://", "ws://") + "/ws"

        with connect(url) as client:
            client.send("hi")
            with pytest.raises(ConnectionClosed) as info:
                client.recv(timeout=10)

        assert info.value.rcvd is not None
        assert (info.value.rcvd.code, info.value.rcvd.reason) == (4001, "go away")
