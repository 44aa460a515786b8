"""A bare ASGI callable answering the hello JSON: the server's own limit in the load test."""

from typing import Any

from benchmarks.asgi import Message, Receive, Send

BODY = b'{"message":"hello"}'
START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())],
}


async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """Answer every HTTP request with the hello JSON; acknowledge every lifespan event."""
    if scope["type"] != "http":
        message: Message = await receive()
        while message["type"] != "lifespan.shutdown":
            await send({"type": message["type"] + ".complete"})
            message = await receive()
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send(START)
    await send({"type": "http.response.body", "body": BODY})
