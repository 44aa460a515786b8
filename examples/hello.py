"""The minimal Flama app: a raw ASGI application on flama.core's router and JSON encoder, served by uvicorn.

Run it with `make demo` and open http://127.0.0.1:8000/ (or /items/42, /hello/you). It stands in for the bundled
demo model until the LLM serving issue lands.
"""

import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn
from flama.core import MethodNotAllowed, RouteMatch, Router, json_encode

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

router = Router()
ROUTES = [
    router.add_route("/", methods=["GET"], name="index"),
    router.add_route("/items/{id:int}", methods=["GET"], name="item"),
    router.add_route("/hello/{name}", methods=["GET"], name="hello"),
]


def payload(index: int, params: dict[str, object]) -> object:
    """The body of the route at ``index``."""
    if index == ROUTES[0]:
        return {
            "flama": "ready",
            "routes": [router.url_path_for("item", id=42), router.url_path_for("hello", name="you")],
        }
    if index == ROUTES[1]:
        return {"id": params["id"], "name": f"item-{params['id']}"}
    return {"message": f"Hello, {params['name']}!"}


async def send_json(send: Send, status: int, body: object, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """Send ``body`` as a JSON response."""
    content = json_encode(body)
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": head + (headers or [])})
    await send({"type": "http.response.body", "body": content})


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """The ASGI entry point."""
    if scope["type"] != "http":
        return
    match = router.match("http", scope["method"], scope["path"])
    if type(match) is RouteMatch:
        await send_json(send, 200, payload(match.index, match.params))
    elif isinstance(match, MethodNotAllowed):
        allow = ", ".join(match.allow).encode()
        await send_json(send, 405, {"detail": "Method Not Allowed", "status_code": 405}, [(b"allow", allow)])
    else:
        await send_json(send, 404, {"detail": "Not Found", "status_code": 404})


if __name__ == "__main__":
    uvicorn.run(app, host=os.environ.get("FLAMA_HOST", "127.0.0.1"), port=int(os.environ.get("FLAMA_PORT", "8000")))
