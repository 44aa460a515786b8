"""A server offering one of everything, and helpers to call it over real HTTP."""

import enum
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pydantic
import pytest
from flama.mcp import Annotations, Context, Image, MCPServer, Message, ToolError
from starlette.applications import Starlette
from starlette.routing import Mount

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")
SECRET = b"test-secret-0123456789abcdef0123"


class Unit(enum.Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


class Point(pydantic.BaseModel):
    x: float
    y: float


class Weather(pydantic.BaseModel):
    city: str
    degrees: float
    unit: Unit


class Name(pydantic.BaseModel):
    name: str


def text_of(item: Any, attribute: str = "text") -> str:
    """An attribute of an SDK model that is a union of shapes (the test knows which shape it holds)."""
    value: str = getattr(item, attribute)
    return value


def build_server(**options: Any) -> MCPServer:
    options.setdefault("secret", SECRET)
    server = MCPServer("test-server", "1.2.3", instructions="Tools for tests", **options)

    @server.tool("add", description="Add two integers", annotations=Annotations(read_only=True, idempotent=True))
    def add(a: int, b: int) -> int:
        return a + b

    @server.tool()
    async def weather(city: str, unit: Unit = Unit.CELSIUS, where: Point | None = None) -> Weather:
        """Tell the weather.

        Args:
            city: The city to look at.
            unit: Degrees in this unit.
            where: Coordinates, when the city is ambiguous.
        """
        return Weather(city=city, degrees=21.5 if unit is Unit.CELSIUS else 70.7, unit=unit)

    @server.tool()
    def divide(a: float, b: float) -> float:
        """Divide a by b."""
        if b == 0:
            raise ToolError("cannot divide by zero")
        return a / b

    @server.tool()
    def broken() -> str:
        """Always fails."""
        raise RuntimeError("the disk is on fire")

    @server.tool()
    def picture() -> Image:
        """A one-pixel picture."""
        return Image(PNG, "image/png")

    @server.tool()
    async def slow(steps: int, ctx: Context) -> str:
        """Count, reporting progress."""
        for step in range(steps):
            await ctx.report_progress(step + 1, steps, f"step {step + 1}")
            await anyio.sleep(0.01)
        return f"counted to {steps}"

    @server.tool()
    async def greet(ctx: Context) -> str:
        """Ask the user's name, then greet them."""
        answer = await ctx.elicit("What is your name?", Name)
        if answer.action != "accept" or answer.content is None:
            return "no name given"
        return f"Hello, {answer.content['name']}!"

    @server.tool(task=True)
    async def long_job(seconds: float, ctx: Context) -> str:
        """A long job, run as a task."""
        await anyio.sleep(seconds)
        return f"slept {seconds}"

    @server.tool(task=True)
    async def approve(ctx: Context) -> str:
        """A task that waits for approval."""
        answer = await ctx.elicit("Approve?", Name)
        return f"approved by {answer.content['name'] if answer.content else 'nobody'}"

    @server.resource("config://app", name="config", description="Configuration", mime_type="application/json")
    def config() -> dict[str, Any]:
        return {"debug": True}

    @server.resource("file://logo.png", mime_type="image/png")
    def logo() -> bytes:
        return PNG

    @server.resource("users://{user}/profile", completions={"user": ["alice", "albert", "bob"]})
    def profile(user: str) -> str:
        """A user's profile."""
        return f"profile of {user}"

    @server.resource("ui://dashboard/app.html")
    def dashboard() -> str:
        return "<html><body>dashboard</body></html>"

    @server.tool(app="ui://dashboard/app.html")
    def show_dashboard() -> str:
        """Show the dashboard."""
        return "dashboard shown"

    @server.prompt("summarise", description="Summarise the given text", completions={"style": ["brief", "bullet"]})
    def summarise(text: str, style: str = "brief") -> str:
        return f"Summarise ({style}):\n\n{text}"

    @server.prompt()
    def dialogue(topic: str) -> list[Message]:
        """A short dialogue."""
        return [Message(f"Tell me about {topic}"), Message("Sure.", role="assistant")]

    return server


@pytest.fixture
def mcp_url(server_factory: Callable[..., str]) -> Callable[..., Any]:
    """``async with mcp_url(**server options) as url``: the test server in Starlette under uvicorn, lifespan on."""

    @asynccontextmanager
    async def start(**options: Any) -> AsyncIterator[str]:
        server = build_server(**options)

        @asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            async with server.lifespan():
                yield

        app = Starlette(routes=[Mount("/mcp", app=server)], lifespan=lifespan)
        base = server_factory(app, lifespan="on")
        yield f"{base}/mcp/"

    return start
