"""The middleware inside a Starlette application, driven through Starlette's test client and httpx."""

import gzip
import warnings
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from flama.core import decompress
from flama.middleware import (
    BodySizeLimitMiddleware,
    CompressionMiddleware,
    CorrelationIdMiddleware,
    CORSMiddleware,
    HTTPSRedirectMiddleware,
    SessionMiddleware,
    TimingMiddleware,
    TrustedHostMiddleware,
)
from starlette.applications import Starlette
from starlette.exceptions import StarletteDeprecationWarning
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

with warnings.catch_warnings():
    # Starlette 1.x warns that its test client wants `httpx2`; the workspace ships `httpx`, which it still supports.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

TEXT = "lorem ipsum dolor sit amet " * 100


async def text(request: Request) -> Response:
    return PlainTextResponse(TEXT)


async def echo(request: Request) -> Response:
    body = await request.body()
    return JSONResponse({"size": len(body), "id": request.state.correlation_id})


async def counter(request: Request) -> Response:
    request.session["count"] = request.session.get("count", 0) + 1
    return JSONResponse(request.session)


async def events(request: Request) -> Response:
    async def produce() -> AsyncIterator[str]:
        for index in range(3):
            yield f"data: {index}\n\n"

    return StreamingResponse(produce(), media_type="text/event-stream")


def build(*middleware: Middleware) -> Starlette:
    routes = [
        Route("/text", text),
        Route("/echo", echo, methods=["POST"]),
        Route("/counter", counter),
        Route("/events", events),
    ]
    return Starlette(routes=routes, middleware=list(middleware))


@pytest.fixture
def app() -> Starlette:
    return build(
        Middleware(TrustedHostMiddleware, allowed_hosts=["testserver", "*.example.com"]),
        Middleware(CORSMiddleware, allow_origins=["https://ui.example.com"], allow_methods=["GET", "POST"]),
        Middleware(CorrelationIdMiddleware),
        Middleware(TimingMiddleware),
        Middleware(CompressionMiddleware, minimum_size=100),
        Middleware(SessionMiddleware, secret_key="starlette-test-secret"),
        Middleware(BodySizeLimitMiddleware, max_body_size=1000),
    )


class TestCaseStarletteTestClient:
    def test_compressed_text(self, app):
        with TestClient(app) as client:
            response = client.get("/text", headers={"accept-encoding": "gzip"})
        assert response.status_code == 200
        assert response.headers["content-encoding"] == "gzip"
        assert response.headers["vary"] == "Accept-Encoding"
        assert response.text == TEXT
        assert response.headers["server-timing"].startswith("app;dur=")
        assert len(response.headers["x-request-id"]) == 32

    def test_session_counter(self, app):
        with TestClient(app) as client:
            assert client.get("/counter").json() == {"count": 1}
            assert client.get("/counter").json() == {"count": 2}
            value = client.cookies["session"]
            client.cookies.clear()
            client.cookies.set("session", value[:-1] + ("x" if value[-1] != "x" else "y"))
            assert client.get("/counter").json() == {"count": 1}

    def test_cors_preflight_and_simple(self, app):
        with TestClient(app) as client:
            preflight = client.options(
                "/echo", headers={"origin": "https://ui.example.com", "access-control-request-method": "POST"}
            )
            simple = client.get("/text", headers={"origin": "https://ui.example.com"})
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://ui.example.com"
        assert preflight.headers["access-control-allow-methods"] == "GET, POST"
        assert simple.headers["access-control-allow-origin"] == "https://ui.example.com"
        assert simple.headers["vary"] == "Accept-Encoding, Origin"

    def test_body_limits(self, app):
        with TestClient(app) as client:
            small = client.post("/echo", content=b"x" * 1000, headers={"x-request-id": "req-1"})
            large = client.post("/echo", content=b"x" * 1001)

            def stream() -> Iterator[bytes]:
                yield b"x" * 600
                yield b"x" * 600

            chunked = client.post("/echo", content=stream())
        assert small.json() == {"size": 1000, "id": "req-1"}
        assert small.headers["x-request-id"] == "req-1"
        for response in (large, chunked):
            assert response.status_code == 413
            assert response.json()["detail"] == "Request body larger than 1000 bytes"

    def test_untrusted_host(self, app):
        with TestClient(app, base_url="http://evil.com") as client:
            response = client.get("/text")
        assert response.status_code == 400
        assert response.json() == {"detail": "Invalid host header", "error": "HTTPException", "status_code": 400}

    def test_https_redirect(self):
        with TestClient(build(Middleware(HTTPSRedirectMiddleware)), follow_redirects=False) as client:
            response = client.get("/text?a=1")
        assert response.status_code == 307
        assert response.headers["location"] == "https://testserver/text?a=1"


async def fetch_raw(app: Starlette, path: str, encoding: str) -> tuple[httpx.Response, bytes]:
    """GET through httpx's ASGI transport and return the body as sent, still encoded."""
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
        client.stream("GET", path, headers={"accept-encoding": encoding}) as response,
    ):
        return response, b"".join([chunk async for chunk in response.aiter_raw()])


class TestCaseStarletteASGITransport:
    @pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "zstd"])
    async def test_streamed_events_are_compressed(self, app, encoding):
        response, raw = await fetch_raw(app, "/events", encoding)
        assert response.headers["content-encoding"] == encoding
        assert "content-length" not in response.headers
        assert decompress(raw, encoding) == b"data: 0\n\ndata: 1\n\ndata: 2\n\n"

    async def test_gzip_is_standard(self, app):
        response, raw = await fetch_raw(app, "/text", "gzip")
        assert response.headers["content-length"] == str(len(raw))
        assert gzip.decompress(raw).decode() == TEXT
