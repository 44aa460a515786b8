"""The demo Flama app: JSON routes, a live Server-Sent Events stream, compression, OpenAPI and the docs page.

Run it with `uv run --no-sync python examples/hello.py` and open http://127.0.0.1:8000/docs/ (or /items/42,
/hello/you, /ticks). `make demo` serves the demo LLM instead.
"""

import asyncio
import os
from collections.abc import AsyncIterator

from flama.http import EventSourceResponse, Flama, Request, ServerSentEvent, run
from flama.middleware import CompressionMiddleware
from pydantic import BaseModel

app = Flama(openapi={"title": "Flama demo", "version": "1.0.0"}, docs="/docs/", discover_modules=False)
app.add_middleware(CompressionMiddleware)


class Item(BaseModel):
    """An item of the demo's catalogue."""

    id: int
    name: str


@app.route("/", name="index")
async def index(request: Request) -> dict[str, object]:
    """Say the app is ready and link a few routes."""
    return {
        "flama": "ready",
        "routes": [app.url_path_for("item", id=42), app.url_path_for("hello", name="you"), "/ticks", "/docs/"],
    }


@app.route("/items/{id:int}", name="item")
async def item(id: int) -> Item:
    """Read one item."""
    return Item(id=id, name=f"item-{id}")


@app.route("/hello/{name}", name="hello")
async def hello(name: str, greeting: str = "Hello") -> dict[str, str]:
    """Greet someone; `greeting` is a query parameter."""
    return {"message": f"{greeting}, {name}!"}


@app.route("/ticks", name="ticks")
async def ticks(count: int = 3) -> EventSourceResponse:
    """Stream `count` events, one every 100 ms."""

    async def events() -> AsyncIterator[ServerSentEvent]:
        for n in range(count):
            yield ServerSentEvent({"tick": n}, event="tick", id=str(n))
            await asyncio.sleep(0.1)

    return EventSourceResponse(events())


if __name__ == "__main__":
    run(
        flama_app=app,
        server_host=os.environ.get("FLAMA_HOST", "127.0.0.1"),
        server_port=int(os.environ.get("FLAMA_PORT", "8000")),
    )
