"""The MCP server: what it offers (tools, resources, templates, prompts) and how it answers each method."""

import base64
import binascii
import contextlib
import os
import secrets
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, Literal, TypeVar

import anyio
import anyio.abc
from flama.core import JSONDecodeError, json_decode, json_encode
from flama.http.metrics import metrics_of
from flama.http.types import Receive, Scope, Send
from flama.mcp.context import Context
from flama.mcp.elicitation import InputRequired, RequestState
from flama.mcp.primitives import Annotations, Completer, Prompt, Resource, ResourceTemplate, Tool, complete
from flama.mcp.protocol import (
    CLIENT_CAPABILITIES_KEY,
    CLIENT_INFO_KEY,
    HANDSHAKE_VERSIONS,
    HEADER_MISMATCH,
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    LATEST_HANDSHAKE_VERSION,
    METHOD_NOT_FOUND,
    MISSING_REQUIRED_CLIENT_CAPABILITY,
    MODERN_VERSIONS,
    PARSE_ERROR,
    PROTOCOL_VERSION_KEY,
    RESOURCE_NOT_FOUND,
    SERVER_INFO_KEY,
    UNSUPPORTED_PROTOCOL_VERSION,
    MCPError,
    ToolError,
    http_status,
)
from flama.mcp.security import Authenticate, Guard
from flama.mcp.tasks import EXTENSION as TASKS_EXTENSION
from flama.mcp.tasks import Tasks, TaskStore
from flama.mcp.transport import BodyTooLarge, Exchange, error_body, read_body, respond, result_body

__all__ = ["MCPServer"]

F = TypeVar("F", bound=Callable[..., Any])
UI_EXTENSION = "io.modelcontextprotocol/ui"
UI_MIME_TYPE = "text/html;profile=mcp-app"
_NAMED = {
    "tools/call": "name",
    "prompts/get": "name",
    "resources/read": "uri",
    "tasks/get": "taskId",
    "tasks/update": "taskId",
    "tasks/cancel": "taskId",
}
_CACHEABLE = frozenset(
    {"server/discover", "tools/list", "prompts/list", "resources/list", "resources/templates/list", "resources/read"}
)
# Methods 2026-07-28 removed: a modern request for them is answered METHOD_NOT_FOUND.
_LEGACY_ONLY = frozenset({"initialize", "ping"})
_ALLOW = [(b"content-type", b"application/json"), (b"allow", b"POST")]


def observe(call: "Call", server: str, outcome: str) -> None:
    """Count a finished call in the serving application's metrics (``/metrics``), when it has them.

    ``outcome`` is ``ok``, ``tool_error`` or a JSON-RPC error code. Mounted in another framework, or in a Flama
    application built without its metrics module, nothing is counted.
    """
    metrics = metrics_of(call.scope.get("app"))
    if metrics is not None:
        metrics.mcp_call(server, call.method, outcome, time.perf_counter() - call.started)


class Call:
    """One JSON-RPC request being answered."""

    __slots__ = (
        "auth",
        "capabilities",
        "client_info",
        "exchange",
        "id",
        "method",
        "modern",
        "outcome",
        "params",
        "receive",
        "scope",
        "started",
        "version",
    )

    def __init__(self, scope: Scope, receive: Receive, exchange: Exchange, message: dict[str, Any], auth: Any) -> None:
        self.scope = scope
        self.receive = receive
        self.exchange = exchange
        self.id = message.get("id")
        self.method: str = message["method"]
        params = message.get("params")
        self.params: dict[str, Any] = params if isinstance(params, dict) else {}
        self.auth = auth
        self.modern = False
        self.version = LATEST_HANDSHAKE_VERSION
        self.capabilities: dict[str, Any] = {}
        self.client_info: dict[str, Any] | None = None
        self.outcome = "ok"
        """How the call ended for the metrics: ``ok``, or ``tool_error`` when the tool failed."""
        self.started = time.perf_counter()


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
        self.input_timeout = input_timeout
        self.tools: dict[str, Tool] = {}
        self.resources: dict[str, Resource] = {}
        self.templates: dict[str, ResourceTemplate] = {}
        self.prompts: dict[str, Prompt] = {}
        self._cache: dict[tuple[str, Any, bool], bytes] = {}
        self._pending: dict[str, tuple[anyio.Event, list[Any]]] = {}
        self._methods: dict[str, Callable[[Call], Any]] = {
            "server/discover": self._discover,
            "initialize": self._initialize,
            "ping": self._ping,
            "tools/list": self._tools_list,
            "tools/call": self._tools_call,
            "resources/list": self._resources_list,
            "resources/templates/list": self._templates_list,
            "resources/read": self._resources_read,
            "prompts/list": self._prompts_list,
            "prompts/get": self._prompts_get,
            "completion/complete": self._complete,
            "tasks/get": self._tasks_get,
            "tasks/update": self._tasks_update,
            "tasks/cancel": self._tasks_cancel,
        }

    # ---- registration ----

    def _changed(self) -> None:
        self._cache.clear()

    def add_tool(self, func: Callable[..., Any], name: str | None = None, **options: Any) -> Tool:
        """Offer ``func`` as a tool (options as for :class:`~flama.mcp.primitives.Tool`)."""
        tool = Tool(func, name or func.__name__, **options)
        if tool.name in self.tools:
            raise ValueError(f"a tool named {tool.name!r} is already registered")
        self.tools[tool.name] = tool
        self._changed()
        return tool

    def tool(
        self,
        name: str | None = None,
        *,
        description: str | None = None,
        title: str | None = None,
        annotations: Annotations | None = None,
        meta: dict[str, Any] | None = None,
        app: str | None = None,
        task: bool | Literal["optional", "required"] = False,
        thread: bool = False,
    ) -> Callable[[F], F]:
        """Decorator: offer the function as a tool.

        Args:
            name: The tool's name (the function's by default).
            description: What it does (the docstring's summary by default).
            title: A human-readable name.
            annotations: Behaviour hints (read-only, destructive, idempotent, open-world).
            meta: The tool's ``_meta``.
            app: The ``ui://`` resource rendering the tool's results (MCP Apps), linked through ``_meta.ui``.
            task: Run it as a task for clients that support the tasks extension (``True`` or ``"optional"``: inline
                for the others; ``"required"``: others get ``-32021``).
            thread: Run a sync function in a worker thread rather than on the event loop.
        """
        if app is not None:
            if not app.startswith("ui://"):
                raise ValueError(f"an MCP App is a ui:// resource, got {app!r}")
            meta = {**(meta or {}), "ui": {"resourceUri": app}}

        def decorator(func: F) -> F:
            self.add_tool(
                func,
                name,
                description=description,
                title=title,
                annotations=annotations,
                meta=meta,
                task=task,
                thread=thread,
            )
            return func

        return decorator

    def resource(
        self,
        uri: str,
        *,
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        mime_type: str | None = None,
        meta: dict[str, Any] | None = None,
        completions: Mapping[str, Completer] | None = None,
        thread: bool = False,
    ) -> Callable[[F], F]:
        """Decorator: offer what the function returns as the resource at ``uri``.

        A URI with ``{variables}`` is a template: the function takes the variables as arguments.

        Args:
            uri: The URI or URI template.
            name: Its name (the function's by default).
            title: A human-readable name.
            description: What it holds (the docstring's summary by default).
            mime_type: Its MIME type (``ui://`` resources default to the MCP Apps type).
            meta: Its ``_meta``.
            completions: For templates, completion values per variable.
            thread: Run a sync function in a worker thread.
        """
        if uri.startswith("ui://") and mime_type is None:
            mime_type = UI_MIME_TYPE

        def decorator(func: F) -> F:
            options: dict[str, Any] = {
                "name": name,
                "title": title,
                "description": description,
                "mime_type": mime_type,
                "meta": meta,
                "thread": thread,
            }
            if "{" in uri:
                self.templates[uri] = ResourceTemplate(func, uri, completions=completions, **options)
            else:
                self.resources[uri] = Resource(func, uri, **options)
            self._changed()
            return func

        return decorator

    def prompt(
        self,
        name: str | None = None,
        *,
        title: str | None = None,
        description: str | None = None,
        completions: Mapping[str, Completer] | None = None,
        thread: bool = False,
    ) -> Callable[[F], F]:
        """Decorator: offer the function as a prompt template (its parameters are the prompt's arguments)."""

        def decorator(func: F) -> F:
            prompt = Prompt(
                func,
                name or func.__name__,
                title=title,
                description=description,
                completions=completions,
                thread=thread,
            )
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
            await self._http(scope, receive, send)
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

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope["headers"])
        if scope["method"] != "POST":
            await respond(
                send,
                405,
                error_body(None, MCPError(INVALID_REQUEST, "this server takes JSON-RPC over POST only")),
                _ALLOW,
            )
            return
        if not self.guard.host_allowed(scope, _text(headers.get(b"host"))):
            await respond(
                send, 421, error_body(None, MCPError(INVALID_REQUEST, "the Host header does not name this server"))
            )
            return
        if not self.guard.origin_allowed(scope, _text(headers.get(b"origin"))):
            await respond(
                send, 403, error_body(None, MCPError(INVALID_REQUEST, "requests from this Origin are not allowed"))
            )
            return
        auth = await self.guard.identify(scope, _text(headers.get(b"authorization")))
        if auth is None or auth is False:
            await respond(
                send,
                401,
                error_body(None, MCPError(INVALID_REQUEST, "a valid bearer token is required")),
                [(b"content-type", b"application/json"), (b"www-authenticate", b'Bearer error="invalid_token"')],
            )
            return
        content_type = headers.get(b"content-type", b"")
        if not content_type.startswith(b"application/json"):
            await respond(send, 415, error_body(None, MCPError(INVALID_REQUEST, "the body must be application/json")))
            return
        try:
            body = await read_body(receive, self.max_body_size, headers.get(b"content-length"))
        except BodyTooLarge:
            message = f"the request body is larger than {self.max_body_size} bytes"
            await respond(send, 413, error_body(None, MCPError(INVALID_REQUEST, message)))
            return
        try:
            message = json_decode(body)
        except JSONDecodeError:
            await respond(send, 400, error_body(None, MCPError(PARSE_ERROR, "the body is not valid JSON")))
            return
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
            error = "batches are not supported" if isinstance(message, list) else "not a JSON-RPC 2.0 message"
            await respond(send, 400, error_body(None, MCPError(INVALID_REQUEST, error)))
            return
        method = message.get("method")
        if method is None and "id" in message and ("result" in message or "error" in message):
            self._answered(message)
            await respond(send, 202, b"", [])
            return
        request_id = message.get("id")
        if not isinstance(method, str) or not (request_id is None or type(request_id) in (str, int)):
            await respond(
                send,
                400,
                error_body(
                    request_id if type(request_id) in (str, int) else None,
                    MCPError(INVALID_REQUEST, "invalid JSON-RPC request"),
                ),
            )
            return
        if "id" not in message:
            await respond(send, 202, b"", [])
            return
        accept = headers.get(b"accept", b"")
        exchange = Exchange(send, b"text/event-stream" in accept)
        call = Call(scope, receive, exchange, message, auth)
        try:
            self._classify(call, headers)
            handler = self._methods.get(method)
            if (
                handler is None
                or (call.modern and method in _LEGACY_ONLY)
                or (method == "server/discover" and not call.modern)
            ):
                raise MCPError(METHOD_NOT_FOUND, f"method not found: {method}")
            result = await handler(call)
        except MCPError as error:
            observe(call, self.name, str(error.code))
            await exchange.finish(
                http_status(error.code) if call.modern or error.code == PARSE_ERROR else 200,
                error_body(request_id, error),
            )
            return
        observe(call, self.name, call.outcome)
        await exchange.finish(200, result_body(request_id, result))

    def _classify(self, call: Call, headers: dict[bytes, bytes]) -> None:
        """Settle the request's era and, at 2026-07-28, check its envelope and routing headers."""
        meta = call.params.get("_meta")
        header_version = _text(headers.get(b"mcp-protocol-version"))
        # A request is of the 2026-07-28 era when its envelope, its version header or its method say so; the
        # handshake era has neither envelope nor a later version, and answers any request of an initialized client.
        enveloped = isinstance(meta, dict) and PROTOCOL_VERSION_KEY in meta
        if not enveloped and call.method != "server/discover" and header_version in (None, *HANDSHAKE_VERSIONS):
            call.version = header_version or LATEST_HANDSHAKE_VERSION
            return
        call.modern = True
        if not isinstance(meta, dict) or PROTOCOL_VERSION_KEY not in meta or CLIENT_CAPABILITIES_KEY not in meta:
            raise MCPError(
                INVALID_PARAMS, f"params._meta must carry {PROTOCOL_VERSION_KEY!r} and {CLIENT_CAPABILITIES_KEY!r}"
            )
        version = meta[PROTOCOL_VERSION_KEY]
        if header_version != version:
            raise MCPError(HEADER_MISMATCH, "the MCP-Protocol-Version header does not match params._meta")
        if _text(headers.get(b"mcp-method")) != call.method:
            raise MCPError(HEADER_MISMATCH, "the Mcp-Method header does not match the request's method")
        named = _NAMED.get(call.method)
        if (
            named is not None
            and call.params.get(named) is not None
            and _header_value(headers.get(b"mcp-name")) != call.params[named]
        ):
            raise MCPError(HEADER_MISMATCH, f"the Mcp-Name header does not match the request's {named!r}")
        if version not in MODERN_VERSIONS:
            raise MCPError(
                UNSUPPORTED_PROTOCOL_VERSION,
                "unsupported protocol version",
                {"supported": list(MODERN_VERSIONS), "requested": version},
            )
        capabilities = meta[CLIENT_CAPABILITIES_KEY]
        call.version = version
        call.capabilities = capabilities if isinstance(capabilities, dict) else {}
        info = meta.get(CLIENT_INFO_KEY)
        call.client_info = info if isinstance(info, dict) else None

    # ---- results ----

    def _encode(self, call: Call, result: dict[str, Any], result_type: str = "complete") -> bytes:
        if call.modern:
            result["resultType"] = result_type
            if call.method in _CACHEABLE:
                result["ttlMs"] = self.cache_ttl_ms
                result["cacheScope"] = self.cache_scope
        return json_encode(result)

    def _page(self, call: Call, key: str, items: list[dict[str, Any]]) -> bytes:
        cursor = call.params.get("cursor")
        cached = self._cache.get((call.method, cursor, call.modern))
        if cached is not None:
            return cached
        start = _offset(cursor)
        page: dict[str, Any] = {key: items[start : start + self.page_size]}
        if start + self.page_size < len(items):
            page["nextCursor"] = base64.urlsafe_b64encode(f"o:{start + self.page_size}".encode()).decode()
        encoded = self._encode(call, page)
        self._cache[(call.method, cursor, call.modern)] = encoded
        return encoded

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

    def _info(self) -> dict[str, Any]:
        info = {"name": self.name, "version": self.version}
        if self.title:
            info["title"] = self.title
        return info

    # ---- methods ----

    async def _discover(self, call: Call) -> bytes:
        cached = self._cache.get(("server/discover", None, True))
        if cached is None:
            result: dict[str, Any] = {
                "supportedVersions": list(MODERN_VERSIONS),
                "capabilities": self.capabilities(True),
                "_meta": {SERVER_INFO_KEY: self._info()},
            }
            if self.instructions:
                result["instructions"] = self.instructions
            cached = self._cache[("server/discover", None, True)] = self._encode(call, result)
        return cached

    async def _initialize(self, call: Call) -> bytes:
        requested = call.params.get("protocolVersion")
        if not isinstance(requested, str):
            raise MCPError(INVALID_PARAMS, "initialize needs a protocolVersion")
        result: dict[str, Any] = {
            "protocolVersion": requested if requested in HANDSHAKE_VERSIONS else LATEST_HANDSHAKE_VERSION,
            "capabilities": self.capabilities(False),
            "serverInfo": self._info(),
        }
        if self.instructions:
            result["instructions"] = self.instructions
        return json_encode(result)

    async def _ping(self, call: Call) -> bytes:
        return self._encode(call, {})

    async def _tools_list(self, call: Call) -> bytes:
        return self._page(call, "tools", [tool.definition for tool in self.tools.values()])

    async def _resources_list(self, call: Call) -> bytes:
        return self._page(call, "resources", [resource.definition for resource in self.resources.values()])

    async def _templates_list(self, call: Call) -> bytes:
        return self._page(call, "resourceTemplates", [template.definition for template in self.templates.values()])

    async def _prompts_list(self, call: Call) -> bytes:
        return self._page(call, "prompts", [prompt.definition for prompt in self.prompts.values()])

    def _context(self, call: Call, answers: dict[str, Any]) -> Context:
        meta = call.params.get("_meta")
        token = meta.get("progressToken") if isinstance(meta, dict) else None
        return Context(
            method=call.method,
            protocol_version=call.version,
            client_capabilities=call.capabilities,
            client_info=call.client_info,
            scope=call.scope,
            progress_token=token if type(token) in (str, int) else None,
            answers=answers,
            notify=lambda method, params: self._notify(call, method, params),
            ask=None if call.modern or not call.exchange.sse else lambda requests: self._ask(call, requests),
            auth=call.auth,
        )

    async def _notify(self, call: Call, method: str, params: dict[str, Any]) -> None:
        await call.exchange.event(json_encode({"jsonrpc": "2.0", "method": method, "params": params}))

    async def _ask(self, call: Call, requests: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """Send a handshake-era client requests on the call's event stream and wait for its answers (POSTs)."""
        answers: dict[str, Any] = {}
        for key, request in requests.items():
            request_id = f"flama-{secrets.token_urlsafe(16)}"
            done, answer = anyio.Event(), list[dict[str, Any]]()
            self._pending[request_id] = (done, answer)
            try:
                await call.exchange.event(json_encode({"jsonrpc": "2.0", "id": request_id, **request}))
                with anyio.fail_after(self.input_timeout):
                    await done.wait()
            except TimeoutError:
                raise MCPError(INTERNAL_ERROR, f"the client did not answer {request['method']} in time") from None
            finally:
                self._pending.pop(request_id, None)
            if "error" in answer[0]:
                raise MCPError(INVALID_REQUEST, f"the client refused {request['method']}", answer[0]["error"])
            answers[key] = answer[0].get("result", {})
        return answers

    def _answered(self, message: dict[str, Any]) -> None:
        pending = self._pending.get(message["id"]) if isinstance(message["id"], str) else None
        if pending is not None and not pending[0].is_set():
            pending[1].append(message)
            pending[0].set()

    def _answers(self, call: Call, name: str, arguments: Any) -> dict[str, Any]:
        """The input responses of earlier rounds (from the signed state) and of this one."""
        if not call.modern:
            return {}
        state = call.params.get("requestState")
        answers = {} if state is None else self.state.verify(state, call.method, name, arguments)
        responses = call.params.get("inputResponses")
        if responses is not None:
            if not isinstance(responses, dict):
                raise MCPError(INVALID_PARAMS, "inputResponses must be an object")
            answers = {**answers, **responses}
        return answers

    def _input_required(self, call: Call, name: str, arguments: Any, request: InputRequired) -> bytes:
        state = self.state.sign(call.method, name, arguments, request.answers)
        return self._encode(call, {"inputRequests": request.requests, "requestState": state}, "input_required")

    async def _tools_call(self, call: Call) -> bytes:
        name = call.params.get("name")
        tool = self.tools.get(name) if isinstance(name, str) else None
        if tool is None:
            raise MCPError(INVALID_PARAMS, f"unknown tool: {name}")
        arguments = call.params.get("arguments", {})
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            raise MCPError(INVALID_PARAMS, "arguments must be an object")
        errors = tool.signature.errors(arguments)
        if errors:
            raise MCPError(
                INVALID_PARAMS, f"invalid arguments for tool {name!r}: {'; '.join(errors)}", {"errors": errors}
            )
        ctx = self._context(call, self._answers(call, tool.name, arguments))
        if tool.task:
            extensions = call.capabilities.get("extensions")
            negotiated = call.modern and isinstance(extensions, dict) and TASKS_EXTENSION in extensions
            if negotiated and self.tasks.group is not None:
                return await self._start_task(call, tool, arguments, ctx)
            if tool.task == "required":
                self._tasks_negotiated(call)
        try:
            if tool.is_async:
                value = await self._cancellable(call, tool(arguments, ctx))
            else:
                value = await tool(arguments, ctx)
        except InputRequired as request:
            return self._input_required(call, tool.name, arguments, request)
        except MCPError:
            raise
        except ToolError as error:
            call.outcome = "tool_error"
            return self._encode(call, {"content": [{"type": "text", "text": str(error)}], "isError": True})
        except Exception as error:
            call.outcome = "tool_error"
            text = f"{type(error).__name__}: {error}"
            return self._encode(call, {"content": [{"type": "text", "text": text}], "isError": True})
        return self._encode(call, tool.result(value))

    async def _cancellable(self, call: Call, work: Any) -> Any:
        """Await ``work``, cancelled when the client goes away (the 2026-07-28 spelling of cancellation)."""
        outcome: list[Any] = []

        async def watch(group: anyio.abc.TaskGroup) -> None:
            while (await call.receive())["type"] != "http.disconnect":
                pass
            call.exchange.closed = True
            group.cancel_scope.cancel()

        async with anyio.create_task_group() as group:
            group.start_soon(watch, group)
            try:
                outcome.append((True, await work))
            except Exception as error:
                outcome.append((False, error))
            group.cancel_scope.cancel()
        if not outcome:
            raise MCPError(INTERNAL_ERROR, "cancelled: the client went away")
        ok, value = outcome[0]
        if not ok:
            raise value
        return value

    async def _start_task(self, call: Call, tool: Tool, arguments: dict[str, Any], ctx: Context) -> bytes:
        async def work(task: Any, ask: Any) -> dict[str, Any]:
            ctx._ask = ask
            ctx._notify = _drop
            try:
                value = await tool(arguments, ctx)
            except (ToolError, Exception) as error:
                if isinstance(error, MCPError):
                    raise
                return {"content": [{"type": "text", "text": f"{type(error).__name__}: {error}"}], "isError": True}
            return tool.result(value)

        task = await self.tasks.start(_owner(call.auth), work)
        return self._encode(call, task.wire(), "task")

    @staticmethod
    def _tasks_negotiated(call: Call) -> None:
        """The task methods are there only for clients that declare the tasks extension."""
        extensions = call.capabilities.get("extensions")
        if call.modern and not (isinstance(extensions, dict) and TASKS_EXTENSION in extensions):
            raise MCPError(
                MISSING_REQUIRED_CLIENT_CAPABILITY,
                f"{call.method} needs the {TASKS_EXTENSION} extension in the client capabilities",
                {"requiredCapabilities": {"extensions": {TASKS_EXTENSION: {}}}},
            )

    async def _tasks_get(self, call: Call) -> bytes:
        self._tasks_negotiated(call)
        task = await self.tasks.get(call.params.get("taskId"), _owner(call.auth))
        return self._encode(call, task.wire())

    async def _tasks_update(self, call: Call) -> bytes:
        self._tasks_negotiated(call)
        await self.tasks.update(call.params.get("taskId"), _owner(call.auth), call.params.get("inputResponses"))
        return self._encode(call, {})

    async def _tasks_cancel(self, call: Call) -> bytes:
        self._tasks_negotiated(call)
        await self.tasks.cancel(call.params.get("taskId"), _owner(call.auth))
        return self._encode(call, {})

    def _find_resource(self, uri: str) -> tuple[Resource, dict[str, str]]:
        resource = self.resources.get(uri)
        if resource is not None:
            return resource, {}
        for template in self.templates.values():
            variables = template.match(uri)
            if variables is not None:
                return template, variables
        raise KeyError(uri)

    async def _resources_read(self, call: Call) -> bytes:
        uri = call.params.get("uri")
        if not isinstance(uri, str):
            raise MCPError(INVALID_PARAMS, "resources/read needs a uri")
        try:
            resource, variables = self._find_resource(uri)
        except KeyError:
            raise MCPError(
                INVALID_PARAMS if call.modern else RESOURCE_NOT_FOUND, f"resource not found: {uri}", {"uri": uri}
            ) from None
        ctx = self._context(call, self._answers(call, uri, variables))
        try:
            value = await resource(dict(variables), ctx)
        except InputRequired as request:
            return self._input_required(call, uri, variables, request)
        except MCPError:
            raise
        except Exception as error:
            raise MCPError(INTERNAL_ERROR, f"reading {uri} failed: {type(error).__name__}: {error}") from error
        return self._encode(call, {"contents": resource.contents(uri, value)})

    async def _prompts_get(self, call: Call) -> bytes:
        name = call.params.get("name")
        prompt = self.prompts.get(name) if isinstance(name, str) else None
        if prompt is None:
            raise MCPError(INVALID_PARAMS, f"unknown prompt: {name}")
        arguments = call.params.get("arguments") or {}
        if not isinstance(arguments, dict):
            raise MCPError(INVALID_PARAMS, "arguments must be an object")
        errors = prompt.signature.errors(arguments)
        if errors:
            raise MCPError(
                INVALID_PARAMS, f"invalid arguments for prompt {name!r}: {'; '.join(errors)}", {"errors": errors}
            )
        ctx = self._context(call, self._answers(call, prompt.name, arguments))
        try:
            value = await prompt(arguments, ctx)
        except InputRequired as request:
            return self._input_required(call, prompt.name, arguments, request)
        except MCPError:
            raise
        except Exception as error:
            raise MCPError(INTERNAL_ERROR, f"prompt {name!r} failed: {type(error).__name__}: {error}") from error
        result: dict[str, Any] = {"messages": prompt.messages(value)}
        if "description" in prompt.definition:
            result["description"] = prompt.definition["description"]
        return self._encode(call, result)

    async def _complete(self, call: Call) -> bytes:
        ref, argument = call.params.get("ref"), call.params.get("argument")
        if not isinstance(ref, dict) or not isinstance(argument, dict) or not isinstance(argument.get("name"), str):
            raise MCPError(INVALID_PARAMS, "completion/complete needs a ref and an argument {name, value}")
        completions: dict[str, Completer] | None = None
        if ref.get("type") == "ref/prompt" and ref.get("name") in self.prompts:
            completions = self.prompts[ref["name"]].completions
        elif ref.get("type") == "ref/resource" and ref.get("uri") in self.templates:
            completions = self.templates[ref["uri"]].completions
        if completions is None:
            raise MCPError(INVALID_PARAMS, f"nothing to complete for {ref!r}")
        completer = completions.get(argument["name"])
        values = [] if completer is None else complete(completer, str(argument.get("value", "")))
        completion = {"values": values[:100], "total": len(values), "hasMore": len(values) > 100}
        return self._encode(call, {"completion": completion})


async def _drop(method: str, params: dict[str, Any]) -> None:
    """Notifications of a task's work have no stream to go to (clients poll the task)."""


def _owner(auth: Any) -> str:
    return "" if auth is True else repr(auth)


def _offset(cursor: Any) -> int:
    if cursor is None:
        return 0
    try:
        kind, _, value = base64.urlsafe_b64decode(str(cursor)).decode().partition(":")
        if kind == "o" and value.isdigit():
            return int(value)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        pass
    raise MCPError(INVALID_PARAMS, "invalid cursor")


def _text(value: bytes | None) -> str | None:
    # Whitespace around a header value is not part of it (RFC 9110, 5.5).
    return None if value is None else value.decode("latin-1").strip()


def _header_value(value: bytes | None) -> str | None:
    """An ``Mcp-Name`` value, decoding the ``=?base64?...?=`` form clients use for non-ASCII names."""
    if value is None:
        return None
    text = value.decode("latin-1").strip()
    if text.startswith("=?base64?") and text.endswith("?="):
        try:
            return base64.b64decode(text[9:-2]).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
    return text
