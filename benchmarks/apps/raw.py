"""A bare ASGI callable answering the hello JSON.

It is the server's own limit in the load test, and the floor subtracted from every instruction count of the HTTP
suite: what the driver, the event loop and reading the request body cost before any framework code runs.
"""

from typing import Any

from benchmarks.asgi import Message, Receive, Send

BODY = b'{"message":"hello"}'
START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())],
}


async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """Read the body (when the method has one) and answer the hello JSON; acknowledge every lifespan event."""
    if scope["type"] != "http":
        message: Message = await receive()
        while message["type"] != "lifespan.shutdown":
            await send({"type": message["type"] + ".complete"})
            message = await receive()
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["method"] != "GET":
        message = await receive()
        while message.get("more_body", False):
            message = await receive()
    await send(START)
    await send({"type": "http.response.body", "body": BODY})
