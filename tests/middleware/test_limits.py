import json

import pytest
from flama.http.exceptions import HTTPException
from flama.http.types import ASGIApp
from flama.middleware import BodySizeLimitMiddleware, ConfigurationError

TOO_LARGE = {
    "detail": "Request body larger than 10 bytes",
    "error": "HTTPException",
    "status_code": 413,
}


def reader(read_all: bool = True) -> ASGIApp:
    async def app(scope, receive, send):
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False) and read_all
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    return app


class TestCaseBodySizeLimitMiddleware:
    @pytest.mark.parametrize(
        "chunks",
        [
            pytest.param([b"0123456789"], id="exactly-the-limit"),
            pytest.param([b"01234", b"56789"], id="chunks"),
            pytest.param([b""], id="empty"),
        ],
    )
    async def test_within_limit(self, call_app, scope_factory, chunks):
        sent = await call_app(BodySizeLimitMiddleware(reader(), max_body_size=10), scope_factory("POST"), body=chunks)
        assert (sent.status, sent.body) == (200, b"".join(chunks))

    async def test_announced_length_refused_up_front(self, app_factory, call_app, scope_factory):
        middleware = BodySizeLimitMiddleware(app_factory(), max_body_size=10)
        sent = await call_app(middleware, scope_factory("POST", headers=[("content-length", "11")]), body=[b"x" * 11])
        assert sent.status == 413
        assert sent.headers["content-type"] == "application/json"
        assert json.loads(sent.body) == TOO_LARGE
        assert app_factory.scopes == []

    @pytest.mark.parametrize(
        ("headers", "chunks"),
        [
            pytest.param([], [b"012345", b"678901"], id="chunked"),
            pytest.param([("content-length", "5")], [b"01234", b"567890"], id="more-than-announced"),
        ],
    )
    async def test_streamed_body_refused_midway(self, call_app, scope_factory, headers, chunks):
        middleware = BodySizeLimitMiddleware(reader(), max_body_size=10)
        sent = await call_app(middleware, scope_factory("POST", headers=headers), body=chunks)
        assert sent.status == 413
        assert json.loads(sent.body) == TOO_LARGE

    async def test_app_that_reads_part_is_not_refused(self, call_app, scope_factory):
        middleware = BodySizeLimitMiddleware(reader(read_all=False), max_body_size=10)
        sent = await call_app(middleware, scope_factory("POST"), body=[b"0123456789", b"more"])
        assert (sent.status, sent.body) == (200, b"0123456789")

    async def test_error_after_response_started_propagates(self, call_app, scope_factory):
        async def app(scope, receive, send):
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await receive()

        with pytest.raises(HTTPException) as info:
            await call_app(BodySizeLimitMiddleware(app, max_body_size=1), scope_factory("POST"), body=[b"xx"])
        assert info.value.status_code == 413

    async def test_other_http_exceptions_propagate(self, call_app, scope_factory):
        async def app(scope, receive, send):
            raise HTTPException(413, "mine")

        with pytest.raises(HTTPException, match="413: mine"):
            await call_app(BodySizeLimitMiddleware(app), scope_factory("POST"))

    def test_configuration_error(self):
        with pytest.raises(ConfigurationError, match="max_body_size must be 0 or more, got -1"):
            BodySizeLimitMiddleware(reader(), max_body_size=-1)
