from collections.abc import Awaitable, Callable

import pytest
from flama.core import URLBuildError
from flama.http import JSONResponse, Mount, PlainTextResponse, Request, Route, Router, WebSocket, WebSocketRoute
from flama.http.routing import to_response
from flama.http.types import Message
from pydantic import BaseModel


async def hello() -> dict[str, str]:
    return {"hello": "world"}


async def user(id: int) -> dict[str, int]:
    return {"id": id}


async def echo_method(request: Request) -> PlainTextResponse:
    return PlainTextResponse(request.method)


def router_factory(**kwargs) -> Router:
    return Router(
        [
            Route("/", hello),
            Route("/users/{id:int}", user, name="user"),
            Route("/any", echo_method, methods=["GET", "POST", "QUERY", "DELETE"]),
            Mount("/api", routes=[Route("/users/{id:int}", user, name="user")], name="api"),
        ],
        **kwargs,
    )


class TestCaseRouter:
    async def test_route(self, call_app, scope_factory):
        sent = await call_app(router_factory(), scope_factory(path="/"))
        assert sent.status == 200
        assert sent.body == b'{"hello":"world"}'

    async def test_path_params(self, call_app, scope_factory):
        sent = await call_app(router_factory(), scope_factory(path="/users/42"))
        assert sent.body == b'{"id":42}'

    @pytest.mark.parametrize("method", ["GET", "POST", "QUERY", "DELETE"])
    async def test_methods(self, call_app, scope_factory, method):
        sent = await call_app(router_factory(), scope_factory(method=method, path="/any"))
        assert sent.status == 200
        assert sent.body == method.encode()

    async def test_head_for_get(self, call_app, scope_factory):
        sent = await call_app(router_factory(), scope_factory(method="HEAD", path="/"))
        assert sent.status == 200
        assert sent.headers["content-length"] == "17"
        assert sent.body == b""

    async def test_not_found(self, call_app, scope_factory):
        sent = await call_app(router_factory(), scope_factory(path="/nope"))
        assert sent.status == 404
        assert sent.body == b'{"detail":"Not Found","error":"HTTPException","status_code":404}'

    async def test_method_not_allowed(self, call_app, scope_factory):
        sent = await call_app(router_factory(), scope_factory(method="PUT", path="/any"))
        assert sent.status == 405
        assert sent.headers["allow"] == "DELETE, GET, HEAD, POST, QUERY"
        assert sent.body == b'{"detail":"Method Not Allowed","error":"HTTPException","status_code":405}'

    async def test_mount_routes(self, call_app, scope_factory):
        sent = await call_app(router_factory(), scope_factory(path="/api/users/7"))
        assert sent.body == b'{"id":7}'

    async def test_mount_foreign_app_root_path(self, call_app, scope_factory):
        seen: dict[str, object] = {}

        async def app(scope, receive, send):
            seen.update(path=scope["path"], root_path=scope["root_path"], params=scope["path_params"])
            await PlainTextResponse("ok")(scope, receive, send)

        router = Router([Mount("/tenants/{tenant}", app)])
        sent = await call_app(router, scope_factory(path="/tenants/acme/x/y", root_path=""))
        assert sent.body == b"ok"
        assert seen == {"path": "/tenants/acme/x/y", "root_path": "/tenants/acme", "params": {"tenant": "acme"}}

    async def test_root_path_stripped(self, call_app, scope_factory):
        sent = await call_app(router_factory(), scope_factory(path="/prefix/users/3", root_path="/prefix"))
        assert sent.body == b'{"id":3}'

    @pytest.mark.parametrize(
        ("redirect", "path", "status", "location"),
        [
            pytest.param(False, "/users/1/", 404, None, id="off"),
            pytest.param(True, "/users/1/", 308, "http://testserver/users/1", id="strip"),
            pytest.param(True, "/nope/", 404, None, id="unknown"),
        ],
    )
    async def test_redirect_slashes(self, call_app, scope_factory, redirect, path, status, location):
        sent = await call_app(router_factory(redirect_slashes=redirect), scope_factory(path=path))
        assert sent.status == status
        assert sent.headers.get("location") == location

    async def test_websocket(self, scope_factory):
        async def chat(websocket: WebSocket, room: str) -> None:
            await websocket.accept()
            await websocket.send_text(f"{room}:{await websocket.receive_text()}")
            await websocket.close()

        router = Router([WebSocketRoute("/ws/{room}", chat)])
        incoming = [{"type": "websocket.connect"}, {"type": "websocket.receive", "text": "hi"}]
        sent = []

        async def receive():
            return incoming.pop(0)

        async def send(message):
            sent.append(message)

        await router(scope_factory(type="websocket", path="/ws/lobby"), receive, send)
        assert [message["type"] for message in sent] == ["websocket.accept", "websocket.send", "websocket.close"]
        assert sent[1]["text"] == "lobby:hi"

    async def test_websocket_not_found(self, scope_factory):
        sent = []

        async def receive():
            return {"type": "websocket.connect"}

        async def send(message):
            sent.append(message)

        await Router()(scope_factory(type="websocket", path="/ws"), receive, send)
        assert sent == [{"type": "websocket.close", "code": 1000, "reason": ""}]


class TestCaseURLPathFor:
    @pytest.mark.parametrize(
        ("name", "params", "expected"),
        [
            pytest.param("user", {"id": 5}, "/users/5", id="route"),
            pytest.param("api:user", {"id": 5}, "/api/users/5", id="mounted"),
        ],
    )
    def test_url_path_for(self, name, params, expected):
        assert router_factory().url_path_for(name, **params) == expected

    def test_unknown(self):
        with pytest.raises(URLBuildError):
            router_factory().url_path_for("api:nope")


class Item(BaseModel):
    name: str


class TestCaseToResponse:
    @pytest.mark.parametrize(
        ("value", "body"),
        [
            pytest.param({"a": 1}, b'{"a":1}', id="dict"),
            pytest.param([1, 2], b"[1,2]", id="list"),
            pytest.param("text", b'"text"', id="str"),
            pytest.param(None, b"null", id="none"),
            pytest.param(Item(name="x"), b'{"name":"x"}', id="model"),
        ],
    )
    def test_json(self, value, body):
        response = to_response(value)
        assert isinstance(response, JSONResponse)
        assert response.body == body

    def test_response_kept(self):
        response = PlainTextResponse("x")
        assert to_response(response) is response


async def ws_session(endpoint: Callable[..., Awaitable[None]]) -> list[Message]:
    messages: list[Message] = [{"type": "websocket.connect"}]
    sent: list[Message] = []

    async def receive():
        return messages.pop(0)

    async def send(message):
        sent.append(message)

    scope = {"type": "websocket", "path": "/ws", "root_path": "", "query_string": b"", "headers": []}
    await Router([WebSocketRoute("/ws", endpoint)])(scope, receive, send)
    return sent


class TestCaseWebSocketErrors:
    async def test_websocket_exception_closes_with_code(self):
        from flama.http import WebSocketException

        async def endpoint(websocket: WebSocket) -> None:
            await websocket.accept()
            raise WebSocketException(4001, "nope")

        sent = await ws_session(endpoint)
        assert sent[-1] == {"type": "websocket.close", "code": 4001, "reason": "nope"}

    async def test_unhandled_error_closes_1011(self, caplog):
        async def endpoint(websocket: WebSocket) -> None:
            await websocket.accept()
            raise RuntimeError("bug")

        sent = await ws_session(endpoint)
        assert sent[-1] == {"type": "websocket.close", "code": 1011, "reason": ""}
        assert "Unhandled exception in WebSocket /ws" in caplog.text


class TestCaseMount:
    async def test_exact_prefix_serves_root(self, call_app, scope_factory):
        router = Router([Mount("/api", routes=[Route("/", hello)])])
        sent = await call_app(router, scope_factory(path="/api"))
        assert sent.body == b'{"hello":"world"}'

    def test_needs_app_or_routes(self):
        with pytest.raises(ValueError, match="exactly one of app and routes"):
            Mount("/api")

    def test_not_a_route(self):
        with pytest.raises(TypeError, match="not a route"):
            Router().add(object())  # type: ignore[arg-type]
