from collections.abc import Callable

import pytest
from flama.http import WebSocket, WebSocketDisconnect, WebSocketException, WebSocketState, WebSocketStateError
from flama.http.types import Message, Scope

WebSocketFactory = Callable[..., tuple[WebSocket, list[Message]]]


@pytest.fixture
def websocket_factory() -> WebSocketFactory:
    """A WebSocket whose client sends ``incoming`` (after the handshake) and whose sent messages are collected."""

    def build(*incoming: Message, connect: bool = True) -> tuple[WebSocket, list[Message]]:
        scope: Scope = {
            "type": "websocket",
            "path": "/ws",
            "query_string": b"",
            "headers": [(b"host", b"testserver")],
            "scheme": "ws",
            "server": ("testserver", 80),
        }
        messages = ([{"type": "websocket.connect"}] if connect else []) + list(incoming)
        sent: list[Message] = []

        async def receive() -> Message:
            return messages.pop(0)

        async def send(message: Message) -> None:
            sent.append(message)

        return WebSocket(scope, receive, send), sent

    return build


def text(data: str) -> Message:
    return {"type": "websocket.receive", "text": data}


def binary(data: bytes) -> Message:
    return {"type": "websocket.receive", "bytes": data}


DISCONNECT: Message = {"type": "websocket.disconnect", "code": 1001, "reason": "bye"}


class TestCaseWebSocket:
    async def test_echo(self, websocket_factory: WebSocketFactory):
        websocket, sent = websocket_factory(text("hi"), binary(b"\x01"), text('{"n": 1}'), binary(b"[2]"))

        await websocket.accept(subprotocol="chat", headers={"X-Token": "t"})
        await websocket.send_text(await websocket.receive_text())
        await websocket.send_bytes(await websocket.receive_bytes())
        await websocket.send_json(await websocket.receive_json())
        await websocket.send_json(await websocket.receive_json(mode="binary"), mode="binary")
        await websocket.close(4000, "done")

        assert sent == [
            {"type": "websocket.accept", "subprotocol": "chat", "headers": [(b"x-token", b"t")]},
            {"type": "websocket.send", "text": "hi"},
            {"type": "websocket.send", "bytes": b"\x01"},
            {"type": "websocket.send", "text": '{"n":1}'},
            {"type": "websocket.send", "bytes": b"[2]"},
            {"type": "websocket.close", "code": 4000, "reason": "done"},
        ]
        assert websocket.application_state is WebSocketState.DISCONNECTED
        assert websocket.url.path == "/ws"

    async def test_iter_text_until_disconnect(self, websocket_factory: WebSocketFactory):
        websocket, _ = websocket_factory(text("a"), text("b"), DISCONNECT)
        await websocket.accept()

        assert [message async for message in websocket.iter_text()] == ["a", "b"]
        assert websocket.client_state is WebSocketState.DISCONNECTED

    async def test_iter_bytes(self, websocket_factory: WebSocketFactory):
        websocket, _ = websocket_factory(binary(b"a"), DISCONNECT)
        await websocket.accept()

        assert [message async for message in websocket.iter_bytes()] == [b"a"]

    async def test_iter_json(self, websocket_factory: WebSocketFactory):
        websocket, _ = websocket_factory(text("[1]"), text("null"), DISCONNECT)
        await websocket.accept()

        assert [message async for message in websocket.iter_json()] == [[1], None]

    async def test_disconnect(self, websocket_factory: WebSocketFactory):
        websocket, _ = websocket_factory(DISCONNECT)
        await websocket.accept()

        with pytest.raises(WebSocketDisconnect) as info:
            await websocket.receive_text()

        assert (info.value.code, info.value.reason) == (1001, "bye")
        with pytest.raises(WebSocketStateError, match=r"^cannot receive: the WebSocket is disconnected$"):
            await websocket.receive()
        with pytest.raises(WebSocketStateError, match="the WebSocket is closed"):
            await websocket.send_text("late")

    async def test_disconnect_without_code(self, websocket_factory: WebSocketFactory):
        websocket, _ = websocket_factory({"type": "websocket.disconnect"})
        await websocket.accept()

        with pytest.raises(WebSocketDisconnect) as info:
            await websocket.receive_bytes()

        assert (info.value.code, info.value.reason) == (1005, "")

    @pytest.mark.parametrize(
        ("incoming", "method", "code", "reason"),
        [
            pytest.param(binary(b"x"), "receive_text", 1003, "expected a text message", id="text-got-bytes"),
            pytest.param(text("x"), "receive_bytes", 1003, "expected a binary message", id="bytes-got-text"),
            pytest.param(text("{"), "receive_json", 1007, "malformed JSON message", id="malformed-json"),
        ],
    )
    async def test_wrong_message(self, websocket_factory: WebSocketFactory, incoming, method, code, reason):
        websocket, _ = websocket_factory(incoming)
        await websocket.accept()

        with pytest.raises(WebSocketException) as info:
            await getattr(websocket, method)()

        assert (info.value.code, info.value.reason) == (code, reason)
        assert str(info.value) == f"{code}: {reason}"

    async def test_send_before_accept(self, websocket_factory: WebSocketFactory):
        websocket, _ = websocket_factory()

        with pytest.raises(
            WebSocketStateError, match=r"^cannot send 'websocket.send' before the WebSocket is accepted$"
        ):
            await websocket.send_text("x")

    async def test_receive_before_accept(self, websocket_factory: WebSocketFactory):
        websocket, _ = websocket_factory(text("x"))

        with pytest.raises(WebSocketStateError, match=r'^the WebSocket is not accepted: call "accept\(\)" first$'):
            await websocket.receive_text()

    async def test_accept_twice(self, websocket_factory: WebSocketFactory):
        websocket, _ = websocket_factory()
        await websocket.accept()

        with pytest.raises(WebSocketStateError, match=r"^cannot send 'websocket.accept' on an accepted WebSocket$"):
            await websocket.accept()

    async def test_close_before_accept_rejects(self, websocket_factory: WebSocketFactory):
        websocket, sent = websocket_factory()
        assert (await websocket.receive())["type"] == "websocket.connect"

        await websocket.close(1008)

        assert sent == [{"type": "websocket.close", "code": 1008, "reason": ""}]
        assert websocket.application_state is WebSocketState.DISCONNECTED

    async def test_unexpected_first_message(self, websocket_factory: WebSocketFactory):
        websocket, _ = websocket_factory(text("x"), connect=False)

        with pytest.raises(WebSocketStateError, match=r"^expected 'websocket.connect', received 'websocket.receive'$"):
            await websocket.receive()

    async def test_unexpected_message(self, websocket_factory: WebSocketFactory):
        websocket, _ = websocket_factory({"type": "websocket.connect"})
        await websocket.accept()

        with pytest.raises(WebSocketStateError, match=r"received 'websocket.connect'$"):
            await websocket.receive()
