"""``app.mcp``: MCP servers inside a Flama application.

Every Flama application has this module when flama-mcp is installed (it is registered in the ``flama.modules``
entry-point group)::

    app.mcp.add_server("/mcp/tools/", "tools", version="2.0.0")

    @app.mcp.tool("add", description="Add two integers", mcp="tools")
    def add(a: int, b: int) -> int:
        return a + b
"""

import contextlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from flama.http.modules import Module
from flama.mcp.primitives import Completer, PromptOptions, ResourceOptions, ToolOptions
from flama.mcp.server import MCPServer

if TYPE_CHECKING:  # typing.Unpack is 3.11+; only type checkers read it here
    from typing_extensions import Unpack

__all__ = ["MCPModule"]

F = TypeVar("F", bound=Callable[..., Any])


class MCPModule(Module):
    """The application's MCP servers, by name; each is mounted at its path and runs with the application."""

    name = "mcp"

    def __init__(self) -> None:
        self.servers: dict[str, MCPServer] = {}
        self._stack: contextlib.AsyncExitStack | None = None

    def add_server(self, path: str, name: str, **options: Any) -> MCPServer:
        """Serve a new MCP server at ``path``.

        Args:
            path: Where its endpoint is (``/mcp/``): clients POST there.
            name: The server's name: decorators pick it with ``mcp=name``, clients see it as the server's name.
            options: The options of :class:`~flama.mcp.MCPServer` (``version``, ``instructions``...).

        Returns:
            The server.

        Raises:
            ValueError: The name is taken.
        """
        if name in self.servers:
            raise ValueError(f"an MCP server named {name!r} was already added")
        server = self.servers[name] = MCPServer(name, **options)
        self.app.mount(path.rstrip("/") or "/", server, name=f"mcp-{name}")
        if path.endswith("/") and path != "/":
            self.app.mount(path, server)
        return server

    def server(self, name: str | None = None) -> MCPServer:
        """The server called ``name``; without a name, the only server.

        Raises:
            LookupError: No such server, or several servers and no name.
        """
        if name is None:
            if len(self.servers) != 1:
                raise LookupError(f"say which MCP server with mcp=... (there are {len(self.servers)})")
            return next(iter(self.servers.values()))
        try:
            return self.servers[name]
        except KeyError:
            raise LookupError(f"no MCP server named {name!r}: add it first with app.mcp.add_server()") from None

    def tool(
        self,
        name: str | None = None,
        *,
        mcp: str | None = None,
        app: str | None = None,
        **options: "Unpack[ToolOptions]",
    ) -> Callable[[F], F]:
        """Decorator: a tool of the server ``mcp`` (see :meth:`flama.mcp.MCPServer.tool`)."""
        return self.server(mcp).tool(name, app=app, **options)

    def resource(
        self,
        uri: str,
        *,
        mcp: str | None = None,
        completions: Mapping[str, Completer] | None = None,
        **options: "Unpack[ResourceOptions]",
    ) -> Callable[[F], F]:
        """Decorator: a resource of the server ``mcp`` (see :meth:`flama.mcp.MCPServer.resource`)."""
        return self.server(mcp).resource(uri, completions=completions, **options)

    def prompt(
        self, name: str | None = None, *, mcp: str | None = None, **options: "Unpack[PromptOptions]"
    ) -> Callable[[F], F]:
        """Decorator: a prompt of the server ``mcp`` (see :meth:`flama.mcp.MCPServer.prompt`)."""
        return self.server(mcp).prompt(name, **options)

    async def on_startup(self) -> None:
        """Start every server's background work."""
        self._stack = contextlib.AsyncExitStack()
        for server in self.servers.values():
            await self._stack.enter_async_context(server.lifespan())

    async def on_shutdown(self) -> None:
        """Stop every server's background work."""
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None
