"""The middleware in front of a real uvicorn, driven over loopback by httpx."""

import threading
import zlib
from collections.abc import AsyncIterator, Callable

import anyio.to_thread
import httpx
import pytest
from flama.core import Decompressor
from flama.http.types import ASGIApp, Message, Receive, Scope, Send
from flama.middleware import BodySizeLimitMiddleware, CompressionMiddleware, CORSMiddleware

from tests.servers import ServerFactory

EVENTS = [b"event: tick\ndata: first\n\n", b"event: tick\ndata: second\n\n", b"event: tick\ndata: third\n\n"]
TOO_LARGE = b'{"detail":"Request body larger than 1000 bytes","error":"%s","status_code":413}'


def client_decoder(encoding: str) -> Callable[[bytes], bytes]:
    """An incremental decoder independent of our encoders where one exists: zlib, and brotli when installed."""
    if encoding == "gzip":
        return zlib.decompressobj(wbits=31).decompress
    if encoding == "deflate":
        return zlib.decompressobj().decompress
    if encoding == "br":
        try:
            import brotli  # type: ignore[import-not-found]  # optional: the reference decoder when installed
        except ImportError:
            pass
        else:
            return brotli.Decompressor().process  # type: ignore[no-any-return]
    return Decompressor(encoding).decompress


def event_stream(release: threading.Event) -> ASGIApp:
    """Send the first event, wait for the test to release the rest (at most 10 s), then send them."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-store")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": EVENTS[0], "more_body": True})
        await anyio.to_thread.run_sync(release.wait, 10)
        for event in EVENTS[1:]:
            await send({"type": "http.response.body", "body": event, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    return app


async def echo_size(scope: Scope, receive: Receive, send: Send) -> None:
    size, more = 0, True
    while more:
        message: Message = await receive()
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": str(size).encode()})


class TestCaseCompressedEventStream:
    @pytest.mark.parametrize("encoding", ["br", "zstd", "gzip", "deflate"])
    async def test_first_event_decoded_before_stream_ends(self, server_factory: ServerFactory, encoding):
        release = threading.Event()
        url = server_factory(CompressionMiddleware(event_stream(release)))
        decode = client_decoder(encoding)
        decoded = b""
        first_seen_before_release = False
        try:
            async with (
                httpx.AsyncClient(timeout=10) as client,
                client.stream("GET", url + "/events", headers={"accept-encoding": encoding}) as response,
            ):
                assert response.headers["content-encoding"] == encoding
                assert response.headers["vary"] == "Accept-Encoding"
                assert "content-length" not in response.headers
                async for chunk in response.aiter_raw():
                    decoded += decode(chunk)
                    if not release.is_set() and decoded == EVENTS[0]:
                        first_seen_before_release = True
                        release.set()
        finally:
            release.set()
        assert first_seen_before_release
        assert decoded == b"".join(EVENTS)


class TestCaseBodySizeLimit:
    async def test_limits(self, server_factory: ServerFactory):
        url = server_factory(BodySizeLimitMiddleware(echo_size, max_body_size=1000)) + "/upload"
        expected = TOO_LARGE % b"HTTPException"

        async def chunked() -> AsyncIterator[bytes]:
            yield b"x" * 600
            yield b"x" * 600

        async with httpx.AsyncClient(timeout=10) as client:
            fits = await client.post(url, content=b"x" * 1000)
            announced = await client.post(url, content=b"x" * 1001)
            streamed = await client.post(url, content=chunked())
        assert (fits.status_code, fits.content) == (200, b"1000")
        assert (announced.status_code, announced.content) == (413, expected)
        assert announced.headers["content-type"] == "application/json"
        assert (streamed.status_code, streamed.content) == (413, expected)


class TestCaseCORS:
    async def test_preflight_and_request(self, server_factory: ServerFactory):
        app = CORSMiddleware(
            echo_size, allow_origins=["https://ui.example"], allow_methods=["POST"], allow_headers=["X-Token"]
        )
        url = server_factory(app) + "/upload"
        async with httpx.AsyncClient(timeout=10) as client:
            preflight = await client.options(
                url,
                headers={
                    "origin": "https://ui.example",
                    "access-control-request-method": "POST",
                    "access-control-request-headers": "x-token",
                },
            )
            refused = await client.options(
                url, headers={"origin": "https://other.example", "access-control-request-method": "POST"}
            )
            actual = await client.post(url, content=b"abc", headers={"origin": "https://ui.example"})
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://ui.example"
        assert preflight.headers["access-control-allow-methods"] == "POST"
        assert preflight.headers["access-control-allow-headers"] == (
            "accept, accept-language, content-language, content-type, x-token"
        )
        assert preflight.headers["vary"] == "Origin"
        assert refused.status_code == 400
        assert refused.json() == {"detail": "Disallowed CORS origin", "error": "HTTPException", "status_code": 400}
        assert (actual.status_code, actual.content) == (200, b"3")
        assert actual.headers["access-control-allow-origin"] == "https://ui.example"
