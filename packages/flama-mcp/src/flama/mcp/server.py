"""The MCP server: what it offers (tools, resources, templates, prompts), its settings and its ASGI entry point.

How each request is checked and routed lives in :mod:`flama.mcp.dispatch`; how each method answers, in
:mod:`flama.mcp.methods`.
"""

import contextlib
import os
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import anyio
from flama.http.types import Receive, Scope, Send
from flama.mcp import dispatch
from flama.mcp.elicitation import ClientRequests, RequestState
from flama.mcp.primitives import (
    Completer,
    Prompt,
    PromptOptions,
    Resource,
    ResourceOptions,
    ResourceTemplate,
    Tool,
    ToolOptions,
)
from flama.mcp.security import Authenticate, Guard
from flama.mcp.tasks import EXTENSION as TASKS_EXTENSION
from flama.mcp.tasks import Tasks, TaskStore

if TYPE_CHECKING:  # typing.Unpack is 3.11+; only type checkers read it here
    from typing_extensions import Unpack

__all__ = ["MCPServer"]

F = TypeVar("F", bound=Callable[..., Any])
UI_EXTENSION = "io.modelcontextprotocol/ui"
UI_MIME_TYPE = "text/html;profile=mcp-app"


class MCPServer:
    """A stateless MCP server: an ASGI application with a lifespan, mountable in any ASGI framework.

    It speaks 2026-07-28 (every request carries its version and client capabilities in ``_meta``; no handshake, no
    session) and, through ``initialize``, the handshake-era revisions 2025-11-25, 2025-06-18, 2025-03-26 and
    2024-11-05 (also without sessions).

    Args:
        name: The server's name (reported to clients).
        version: The server's version.
        title: A human-readable name.
        instructions: How to use the server, for the model.
        page_size: Items per page of the list methods.
        cache_ttl_ms: The ``ttlMs`` hint of list results and reads (how long clients may cache them).
        cache_scope: The ``cacheScope`` hint: ``public`` (shared caches may keep results) or ``private``; by default
            ``private`` when ``authenticate`` is set, ``public`` otherwise.
        max_body_size: The largest request body accepted, in bytes (larger ones get 413).
        allowed_hosts: See :class:`~flama.mcp.security.Guard` (loopback-only when serving on loopback).
        allowed_origins: See :class:`~flama.mcp.security.Guard`.
        authenticate: A bearer-token hook (see :data:`~flama.mcp.security.Authenticate`); results become private to
            the caller (``cacheScope: private``).
        secret: The key signing ``requestState`` (random per process by default: share one across workers).
        state_max_age: Seconds a ``requestState`` stays valid.
        task_store: Where task records are kept (in memory by default).
        input_timeout: Seconds a handshake-era call waits for the client's answer to an elicitation.

    Attributes:
        tools: The tools by name.
        resources: The fixed resources by URI.
        templates: The resource templates by URI template.
        prompts: The prompts by name.
        cache: Encoded results of ``server/discover`` and the list methods, by (method, cursor, era); emptied
            whenever what the server offers changes.
        client_requests: Requests sent to handshake-era clients, waiting for their answers.
    """

    def __init__(
        self,
        name: str = "flama-mcp",
        version: str = "0.1.0",
        *,
        title: str | None = None,
        instructions: str | None = None,
        page_size: int = 100,
        cache_ttl_ms: int = 0,
        cache_scope: Literal["public", "private"] | None = None,
        max_body_size: int = 4 * 1024 * 1024,
        allowed_hosts: Sequence[str] | None = None,
        allowed_origins: Sequence[str] | None = None,
        authenticate: Authenticate | None = None,
        secret: bytes | None = None,
        state_max_age: float = 600.0,
        task_store: TaskStore | None = None,
        input_timeout: float = 300.0,
    ) -> None:
        if page_size < 1:
            raise ValueError(f"page_size must be at least 1, got {page_size}")
        if cache_ttl_ms < 0:
            raise ValueError(f"cache_ttl_ms must not be negative, got {cache_ttl_ms}")
        self.name = name
        self.version = version
        self.title = title
        self.instructions = instructions
        self.page_size = page_size
        self.cache_ttl_ms = cache_ttl_ms
        self.cache_scope = cache_scope or ("public" if authenticate is None else "private")
        self.max_body_size = max_body_size
        self.guard = Guard(allowed_hosts, allowed_origins, authenticate)
        self.state = RequestState(secret or os.urandom(32), state_max_age)
        self.tasks = Tasks(task_store)
        self.client_requests = ClientRequests(input_timeout)
        self.tools: dict[str, Tool] = {}
        self.resources: dict[str, Resource] = {}
        self.templates: dict[str, ResourceTemplate] = {}
        self.prompts: dict[str, Prompt] = {}
        self.cache: dict[tuple[str, Any, bool], bytes] = {}

    # ---- registration ----

    def _changed(self) -> None:
        self.cache.clear()

    def add_tool(self, func: Callable[..., Any], name: str | None = None, **options: "Unpack[ToolOptions]") -> Tool:
        """Offer ``func`` as a tool (options as for :class:`~flama.mcp.primitives.Tool`)."""
        tool = Tool(func, name or func.__name__, **options)
        if tool.name in self.tools:
            raise ValueError(f"a tool named {tool.name!r} is already registered")
        self.tools[tool.name] = tool
        self._changed()
        return tool

    def tool(
        self, name: str | None = None, *, app: str | None = None, **options: "Unpack[ToolOptions]"
    ) -> Callable[[F], F]:
        """Decorator: offer the function as a tool.

        Args:
            name: The tool's name (the function's by default).
            app: The ``ui://`` resource rendering the tool's results (MCP Apps), linked through ``_meta.ui``.
            options: :class:`~flama.mcp.primitives.Tool`'s keywords: ``description`` (the docstring's summary by
                default), ``title``, ``annotations`` (behaviour hints), ``meta``, ``task`` (run it as a task for
                clients that support the tasks extension: ``True`` or ``"optional"``, inline for the others;
                ``"required"``, others get ``-32021``) and ``thread`` (run a sync function in a worker thread rather
                than on the event loop).
        """
        if app is not None:
            if not app.startswith("ui://"):
                raise ValueError(f"an MCP App is a ui:// resource, got {app!r}")
            options["meta"] = {**(options.get("meta") or {}), "ui": {"resourceUri": app}}

        def decorator(func: F) -> F:
            self.add_tool(func, name, **options)
            return func

        return decorator

    def resource(
        self, uri: str, *, completions: Mapping[str, Completer] | None = None, **options: "Unpack[ResourceOptions]"
    ) -> Callable[[F], F]:
        """Decorator: offer what the function returns as the resource at ``uri``.

        A URI with ``{variables}`` is a template: the function takes the variables as arguments.

        Args:
            uri: The URI or URI template.
            completions: For templates, completion values per variable.
            options: :class:`~flama.mcp.primitives.Resource`'s keywords: ``name`` (the function's by default),
                ``title``, ``description`` (the docstring's summary by default), ``mime_type`` (``ui://`` resources
                default to the MCP Apps type), ``meta`` and ``thread`` (run a sync function in a worker thread).
        """
        if uri.startswith("ui://") and options.get("mime_type") is None:
            options["mime_type"] = UI_MIME_TYPE

        def decorator(func: F) -> F:
            if "{" in uri:
                self.templates[uri] = ResourceTemplate(func, uri, completions=completions, **options)
            else:
                self.resources[uri] = Resource(func, uri, **options)
            self._changed()
            return func

        return decorator

    def prompt(self, name: str | None = None, **options: "Unpack[PromptOptions]") -> Callable[[F], F]:
        """Decorator: offer the function as a prompt template (its parameters are the prompt's arguments).

        Args:
            name: The prompt's name (the function's by default).
            options: :class:`~flama.mcp.primitives.Prompt`'s keywords: ``title``, ``description``, ``completions``,
                ``meta`` and ``thread``.
        """

        def decorator(func: F) -> F:
            prompt = Prompt(func, name or func.__name__, **options)
            self.prompts[prompt.name] = prompt
            self._changed()
            return func

        return decorator

    # ---- lifespan and ASGI ----

    @contextlib.asynccontextmanager
    async def lifespan(self) -> AsyncIterator["MCPServer"]:
        """Run the server's background work (tasks); enter it in the host application's lifespan."""
        async with anyio.create_task_group() as group:
            self.tasks.group = group
            self._changed()
            try:
                yield self
            finally:
                self.tasks.group = None
                self._changed()
                group.cancel_scope.cancel()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one ASGI connection: POSTs carry JSON-RPC; ``lifespan`` runs :meth:`lifespan`."""
        if scope["type"] == "http":
            await dispatch.serve(self, scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        else:
            await send({"type": "websocket.close", "code": 1003})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await receive()
        async with self.lifespan():
            await send({"type": "lifespan.startup.complete"})
            await receive()
        await send({"type": "lifespan.shutdown.complete"})

    def capabilities(self, modern: bool) -> dict[str, Any]:
        """What this server offers, as the ``capabilities`` object."""
        capabilities: dict[str, Any] = {"tools": {"listChanged": False}, "completions": {}}
        if self.resources or self.templates:
            capabilities["resources"] = {"subscribe": False, "listChanged": False}
        if self.prompts:
            capabilities["prompts"] = {"listChanged": False}
        extensions: dict[str, Any] = {}
        if any(uri.startswith("ui://") for uri in self.resources):
            extensions[UI_EXTENSION] = {"mimeTypes": [UI_MIME_TYPE]}
        if modern and self.tasks.group is not None and any(tool.task for tool in self.tools.values()):
            extensions[TASKS_EXTENSION] = {}
        if extensions:
            capabilities["extensions"] = extensions
        return capabilities

    def info(self) -> dict[str, Any]:
        """The server's ``name``, ``version`` and ``title``, as ``serverInfo`` writes them."""
        info = {"name": self.name, "version": self.version}
        if self.title:
            info["title"] = self.title
        return info

    def find_resource(self, uri: str) -> tuple[Resource, dict[str, str]]:
        """The resource at ``uri`` (a fixed one first, else the first matching template) and its variables.

        Raises:
            KeyError: Nothing is offered at ``uri``.
        """
        resource = self.resources.get(uri)
        if resource is not None:
            return resource, {}
        for template in self.templates.values():
            variables = template.match(uri)
            if variables is not None:
                return template, variables
        raise KeyError(uri)
