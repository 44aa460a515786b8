import pytest
from flama.http import (
    HTTPError,
    HTTPException,
    StreamConsumed,
    WebSocketDisconnect,
    WebSocketException,
    WebSocketStateError,
    error_response,
)

from tests.http.conftest import CallApp


class TeapotError(HTTPException):
    pass


class TestCaseHTTPException:
    @pytest.mark.parametrize(
        ("exception", "body"),
        [
            pytest.param(
                HTTPException(404),
                b'{"detail":"Not Found","error":"HTTPException","status_code":404}',
                id="default-detail",
            ),
            pytest.param(
                HTTPException(400, [{"loc": ["q"], "msg": "bad"}]),
                b'{"detail":[{"loc":["q"],"msg":"bad"}],"error":"HTTPException","status_code":400}',
                id="structured-detail",
            ),
            pytest.param(
                HTTPException(599, "odd"), b'{"detail":"odd","error":"HTTPException","status_code":599}', id="unknown"
            ),
            pytest.param(
                TeapotError(418, "short and stout"),
                b'{"detail":"short and stout","error":"TeapotError","status_code":418}',
                id="subclass-named",
            ),
            pytest.param(
                KeyError("secret"),
                b'{"detail":"Internal Server Error","error":"KeyError","status_code":500}',
                id="other-exception",
            ),
        ],
    )
    async def test_error_response(self, call_app: CallApp, exception: BaseException, body: bytes):
        sent = await call_app(error_response(exception))

        assert sent.status == getattr(exception, "status_code", 500)
        assert sent.headers["content-type"] == "application/json"
        assert sent.body == body

    def test_headers(self):
        response = error_response(HTTPException(401, headers={"WWW-Authenticate": "Bearer"}))

        assert response.raw_headers == [
            (b"www-authenticate", b"Bearer"),
            (b"content-length", b"67"),
            (b"content-type", b"application/json"),
        ]
        assert response.body == b'{"detail":"Unauthorized","error":"HTTPException","status_code":401}'

    def test_text(self):
        exception = HTTPException(403, "nope")

        assert str(exception) == "403: nope"
        assert repr(exception) == "HTTPException(status_code=403, detail='nope')"
        assert exception.headers is None

    @pytest.mark.parametrize(
        "exception",
        [
            pytest.param(HTTPException(400), id="http"),
            pytest.param(WebSocketException(1008), id="websocket"),
            pytest.param(WebSocketDisconnect(), id="disconnect"),
            pytest.param(WebSocketStateError("x"), id="state"),
            pytest.param(StreamConsumed("x"), id="consumed"),
        ],
    )
    def test_one_root(self, exception: Exception):
        assert isinstance(exception, HTTPError)

    def test_misuse_is_runtime_error(self):
        assert issubclass(WebSocketStateError, RuntimeError)
        assert issubclass(StreamConsumed, RuntimeError)
