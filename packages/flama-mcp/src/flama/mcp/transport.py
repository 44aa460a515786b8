"""Streamable HTTP, stateless: one POST carries one JSON-RPC message; the answer is JSON, or SSE once it streams."""

from collections.abc import Iterable
from typing import Any

import anyio
from flama.core import json_encode
from flama.http.types import Receive, Send
from flama.mcp.protocol import INVALID_REQUEST, MCPError

__all__ = ["Exchange", "read_body", "respond"]

_JSON = [(b"content-type", b"application/json")]
_SSE = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no")]


async def respond(send: Send, status: int, body: bytes, headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
    """Send a whole response (JSON unless ``headers`` say otherwise)."""
    head = [*headers] if headers else [*_JSON]
    head.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})


class BodyTooLarge(Exception):
    """The request body is larger than the server accepts."""


async def read_body(receive: Receive, limit: int, declared: bytes | None) -> bytes:
    """The request body, refused past ``limit`` bytes (before reading when ``Content-Length`` says so)."""
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        if len(body) > limit:
            raise BodyTooLarge
        return body
    chunks = [body]
    size = len(body)
    while message.get("more_body", False):
        message = await receive()
        if message["type"] == "http.disconnect":
            raise anyio.get_cancelled_exc_class()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def encode_id(request_id: Any) -> bytes:
    """The JSON of a request id (a string, a number or null)."""
    if type(request_id) is int:
        return str(request_id).encode()
    return json_encode(request_id)


def error_body(request_id: Any, error: MCPError) -> bytes:
    """A JSON-RPC error response."""
    return b'{"jsonrpc":"2.0","id":%s,"error":%s}' % (encode_id(request_id), json_encode(error.error()))


def result_body(request_id: Any, result: bytes) -> bytes:
    """A JSON-RPC result response around an encoded result."""
    return b'{"jsonrpc":"2.0","id":%s,"result":%s}' % (encode_id(request_id), result)


class Exchange:
    """One POST being answered: sends its answer as JSON, or as an event stream once a notification is sent.

    Args:
        send: The ASGI send channel.
        sse: Whether the client accepts ``text/event-stream``.
    """

    __slots__ = ("closed", "send", "sse", "streaming")

    def __init__(self, send: Send, sse: bool) -> None:
        self.send = send
        self.sse = sse
        self.streaming = False
        self.closed = False

    async def event(self, message: bytes) -> bool:
        """Send one JSON-RPC message as an event; ``False`` when the client does not take event streams."""
        if not self.sse or self.closed:
            return False
        if not self.streaming:
            self.streaming = True
            await self.send({"type": "http.response.start", "status": 200, "headers": _SSE})
        await self.send(
            {"type": "http.response.body", "body": b"event: message\ndata: %s\n\n" % message, "more_body": True}
        )
        return True

    async def finish(self, status: int, body: bytes) -> None:
        """Send the final answer: an event when streaming, otherwise a JSON response."""
        if self.closed:
            return
        self.closed = True
        if self.streaming:
            await self.send({"type": "http.response.body", "body": b"event: message\ndata: %s\n\n" % body})
        else:
            await respond(self.send, status, body)


def invalid_request(message: str) -> MCPError:
    """An ``INVALID_REQUEST`` error."""
    return MCPError(INVALID_REQUEST, message)
