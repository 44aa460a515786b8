"""The :class:`Flama` application and :func:`run`, which serves one with uvicorn."""

import html
import importlib
import inspect
import logging
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from flama.http.exceptions import DEFAULT_HANDLERS, HTTPException, error_response
from flama.http.injection.components import Component, Context
from flama.http.lifespan import EventHandler, Lifespan, LifespanContext
from flama.http.modules import Module, Modules
from flama.http.requests import DEFAULT_JSON_OFFLOAD_SIZE, DEFAULT_MAX_BODY_SIZE, MIN_JSON_OFFLOAD_SIZE
from flama.http.responses import HTMLResponse, Response
from flama.http.routing import BaseRoute, Endpoint, Mount, Route, RouteOptions, Router, WebSocketRoute
from flama.http.server import DEFAULT_SERVER_LIMITS, ServerLimits, server_defaults
from flama.http.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:  # only type checkers read these: typing.Unpack is 3.11+, the modules of other distributions type
    # `app.models` / `app.mcp` and are never imported at run time
    from flama.http.health import HealthModule
    from flama.http.metrics import MetricsModule
    from flama.mcp.module import MCPModule
    from flama.models.module import ModelsModule
    from typing_extensions import Unpack

__all__ = ["ExceptionHandler", "Flama", "Middleware", "run"]

logger = logging.getLogger("flama.http")

E = TypeVar("E", bound=Callable[..., Any])
ExceptionHandler = Callable[[Any, Exception], Any]


class Middleware:
    """An ASGI middleware class and the keyword arguments to build it with: ``cls(app, **kwargs)``.

    Args:
        cls: The middleware class (or any factory taking the wrapped app first).
        kwargs: Its options.
    """

    __slots__ = ("cls", "kwargs")

    def __init__(self, cls: Callable[..., ASGIApp], /, **kwargs: Any) -> None:
        self.cls = cls
        self.kwargs = kwargs

    def __repr__(self) -> str:
        return f"Middleware({getattr(self.cls, '__name__', self.cls)!r})"


class Flama:
    """A Flama application: routes, components, modules, middleware, lifespan, OpenAPI schema and docs.

    The middleware stack is built when the application is created and rebuilt only by :meth:`add_middleware`; a
    request costs one route-table match, its endpoint's precomputed plan and the middleware it goes through.

    Args:
        routes: Initial routes and mounts.
        components: Custom injectable :class:`~flama.http.injection.Component` instances.
        modules: Explicit modules; modules named by ``flama.modules`` entry points are added (see
            :mod:`flama.http.modules`).
        middleware: :class:`Middleware` entries, outermost first.
        debug: Answer unhandled errors with an HTML page showing the traceback instead of the JSON 500 body.
        events: ``{"startup": [...], "shutdown": [...]}`` handlers.
        lifespan: An async context manager factory called with the application, entered at startup.
        openapi: The schema's ``info``, as Flama 2.x takes it (``{"info": {"title", "version", "description"}}``) or
            as the ``info`` object itself; ``{"title": "Flama", "version": "0.1.0"}`` by default.
        schema: Where the OpenAPI schema is served; ``None`` to not serve it.
        docs: Where the interactive documentation page (Swagger UI) is served, its assets under ``<docs>/assets/``;
            ``None`` to not serve it. The page reads the schema, so it needs ``schema``.
        exception_handlers: Handlers by status code or exception class, called ``handler(request, exc)``, sync or
            async, returning a response.
        redirect_slashes: See :class:`~flama.http.routing.Router`.
        discover_modules: Load modules from entry points.
        max_body_size: The largest request body, in bytes, that ``Request.body()``, ``json()`` and ``form()`` read
            (16 MiB by default, ``None`` for no limit); a longer one is answered with 413. A route can set its own.
        json_offload_size: ``Request.json()`` decodes a body larger than this many bytes in a worker thread instead of
            on the event loop (256 KiB by default, at least 16 KiB: a smaller body decodes faster than the hop to the
            thread takes; ``None`` to decode every body on the event loop).

    Raises:
        ValueError: ``docs`` is set without ``schema``, ``max_body_size`` is negative or ``json_offload_size`` is
            under 16 KiB.
    """

    if TYPE_CHECKING:
        # What `__getattr__` finds for the modules registered by default (``flama.modules`` entry points), typed so
        # that `app.models.add_model(...)` and `@app.mcp.tool(...)` are checked; absent without their distribution.
        models: "ModelsModule"
        mcp: "MCPModule"
        health: "HealthModule"
        metrics: "MetricsModule"

    def __init__(
        self,
        routes: Sequence[BaseRoute] | None = None,
        components: Sequence[Component] | None = None,
        modules: Sequence[Module] | None = None,
        middleware: Sequence[Middleware] | None = None,
        debug: bool = False,
        events: Mapping[str, Sequence[EventHandler]] | None = None,
        lifespan: LifespanContext | None = None,
        openapi: Mapping[str, Any] | None = None,
        schema: str | None = "/schema/",
        docs: str | None = "/docs/",
        exception_handlers: Mapping[int | type[Exception], ExceptionHandler] | None = None,
        redirect_slashes: bool = False,
        discover_modules: bool = True,
        max_body_size: int | None = DEFAULT_MAX_BODY_SIZE,
        json_offload_size: int | None = DEFAULT_JSON_OFFLOAD_SIZE,
    ) -> None:
        if docs is not None and schema is None:
            raise ValueError("the docs page reads the OpenAPI schema: serve it (schema=...) or set docs=None")
        if max_body_size is not None and max_body_size < 0:
            raise ValueError(f"max_body_size must be 0 or more, got {max_body_size}")
        if json_offload_size is not None and json_offload_size < MIN_JSON_OFFLOAD_SIZE:
            raise ValueError(
                f"json_offload_size must be at least {MIN_JSON_OFFLOAD_SIZE} or None, got {json_offload_size}"
            )
        self.max_body_size = max_body_size
        self.json_offload_size = json_offload_size
        self.debug = debug
        self.router = Router(routes, components=components or (), redirect_slashes=redirect_slashes)
        info = (openapi or {}).get("info", openapi)  # Flama 2.x nests it under "info"
        self.openapi_info: dict[str, Any] = {"title": "Flama", "version": "0.1.0", **(info or {})}
        self.lifespan = Lifespan(events, lifespan)
        self.exception_handlers: dict[int | type[Exception], ExceptionHandler] = dict(exception_handlers or {})
        self.user_middleware: list[Middleware] = list(middleware or ())
        self.stack: ASGIApp = self._build_stack()
        self.modules = Modules(self, modules or (), discover=discover_modules)
        if schema is not None:
            from flama.http.schemas import schema_endpoint

            self.router.add(Route(schema, schema_endpoint, name="api-schema", include_in_schema=False))
        if docs is not None:
            from flama.http.schemas import asset_endpoint, assets_path, docs_endpoint

            self.router.add(Route(docs, docs_endpoint, name="api-docs", include_in_schema=False))
            self.router.add(Route(assets_path(docs), asset_endpoint, name="api-docs-asset", include_in_schema=False))
        self.schema_path = schema
        self.docs_path = docs

    def __getattr__(self, name: str) -> Any:
        # Any, not Module: a module's own methods (``app.models.add_model``) are what callers reach through it.
        modules: Modules | None = self.__dict__.get("modules")
        module = None if modules is None else modules.get(name)
        if module is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute or module {name!r}")
        return module

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection (HTTP, WebSocket or lifespan)."""
        scope["app"] = self
        scope["flama.max_body_size"] = self.max_body_size
        if "flama.router" not in scope:
            scope["flama.router"] = self.router
            scope["flama.root_path"] = scope.get("root_path", "")
        if scope["type"] == "lifespan":
            await self.lifespan(self, receive, send)
            return
        await self.stack(scope, receive, send)

    # ---- routes ----

    @property
    def routes(self) -> list[BaseRoute]:
        """The routes and mounts, in matching order."""
        return self.router.routes

    @property
    def components(self) -> list[Component]:
        """The injectable components."""
        return self.router.components or []

    def add_route(self, path: str, endpoint: Endpoint, **options: "Unpack[RouteOptions]") -> None:
        """Add an HTTP route.

        Args:
            path: The template, e.g. ``/users/{id:int}``.
            endpoint: The function to call, its parameters injected.
            options: :class:`~flama.http.routing.Route`'s keywords: ``methods``, ``name``, ``include_in_schema`` and
                ``max_body_size`` (which overrides the application's for this route).
        """
        self.router.add_route(path, endpoint, **options)

    def add_websocket_route(self, path: str, endpoint: Endpoint, *, name: str | None = None) -> None:
        """Add a WebSocket route."""
        self.router.add(WebSocketRoute(path, endpoint, name=name))

    def route(self, path: str, **options: "Unpack[RouteOptions]") -> Callable[[E], E]:
        """Decorator form of :meth:`add_route`, with the same keywords."""
        return self.router.route(path, **options)

    def websocket_route(self, path: str, *, name: str | None = None) -> Callable[[E], E]:
        """Decorator that adds a WebSocket route."""
        return self.router.websocket_route(path, name=name)

    def mount(self, path: str, app: ASGIApp, *, name: str | None = None) -> None:
        """Mount an application (Flama, a router, or any ASGI app) under ``path``."""
        self.router.add(Mount(path, app, name=name))

    def url_path_for(self, name: str, /, **params: Any) -> str:
        """The path of the route called ``name`` (``mount:route`` inside mounts), without the root path."""
        return self.router.url_path_for(name, **params)

    # ---- middleware ----

    def add_middleware(self, cls: Callable[..., ASGIApp], /, **kwargs: Any) -> None:
        """Wrap the application in ``cls(app, **kwargs)``, inside the middleware given before."""
        self.user_middleware.append(Middleware(cls, **kwargs))
        self.stack = self._build_stack()

    def _build_stack(self) -> ASGIApp:
        # Without middleware nothing outside the routes can fail before the response starts (routes answer their
        # own errors; an error while streaming is the server's to report), so the error layer is left out.
        if not self.user_middleware:
            return self.router
        app: ASGIApp = self.router
        for entry in reversed(self.user_middleware):
            app = entry.cls(app, **entry.kwargs)
        return _ServerErrors(app, self)

    # ---- errors ----

    def add_exception_handler(self, key: int | type[Exception], handler: ExceptionHandler) -> None:
        """Handle a status code (of :class:`~flama.http.exceptions.HTTPException`) or an exception class."""
        self.exception_handlers[key] = handler

    def exception_handler(self, key: int | type[Exception]) -> Callable[[E], E]:
        """Decorator form of :meth:`add_exception_handler`."""

        def register(handler: E) -> E:
            self.add_exception_handler(key, handler)
            return handler

        return register

    def _lookup_handler(self, exc: Exception) -> ExceptionHandler | None:
        handlers = self.exception_handlers
        if not handlers:
            return None
        if isinstance(exc, HTTPException) and exc.status_code in handlers:
            return handlers[exc.status_code]
        for cls in type(exc).__mro__:
            if cls in handlers:
                return handlers[cls]
        return None

    async def exception_response(self, ctx: Context, exc: Exception) -> Response:
        """The response for an exception raised while serving.

        A registered handler's response, else the JSON error shape (the HTML traceback page for an unhandled error
        in debug mode).
        """
        handler = self._lookup_handler(exc)
        if handler is not None:
            response = handler(ctx.connection, exc)
            if inspect.isawaitable(response):
                response = await response
            if not isinstance(response, Response):
                raise TypeError(f"exception handler {handler!r} returned {type(response).__name__}, not a Response")
            return response
        if isinstance(exc, HTTPException) or any(cls in DEFAULT_HANDLERS for cls in type(exc).__mro__):
            return error_response(exc)
        logger.error("Unhandled exception in %s", ctx.scope.get("path"), exc_info=exc)
        return debug_response(exc) if self.debug else error_response(exc)


def debug_response(exc: BaseException) -> HTMLResponse:
    """A 500 HTML page with the exception's traceback, for ``debug=True``."""
    trace = html.escape("".join(traceback.format_exception(exc)))
    title = html.escape(f"{type(exc).__name__}: {exc}")
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>500 {title}</title></head>"
        f"<body><h1>500 Internal Server Error</h1><h2>{title}</h2><pre>{trace}</pre></body></html>"
    )
    return HTMLResponse(page, status_code=500)


class _ServerErrors:
    """The outermost layer: an error that escapes everything else becomes a 500, unless the response had started."""

    __slots__ = ("app", "flama")

    def __init__(self, app: ASGIApp, flama: Flama) -> None:
        self.app = app
        self.flama = flama

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:
                raise
            response = await self.flama.exception_response(Context(scope, receive, send), exc)
            await response(scope, receive, send)


def run(
    flama_app: "Flama | str",
    server_host: str = "127.0.0.1",
    server_port: int = 8000,
    *,
    limits: ServerLimits = DEFAULT_SERVER_LIMITS,
    **options: Any,
) -> None:
    """Serve an application with uvicorn (install the ``server`` extra: ``pip install 'flama-http[server]'``).

    The server starts with safe limits for slow and oversized clients (see :class:`~flama.http.server.ServerLimits`):
    a 10 s header timeout, 16 KiB of headers, 5 s keep-alive and 1024 concurrent connections.

    Args:
        flama_app: The application, or its import string ``"package.module:app"``.
        server_host: The interface to bind.
        server_port: The port to bind.
        limits: The server limits; uvicorn options given in ``options`` win over them.
        options: More ``uvicorn.run`` options (``log_level``, ``workers`` with an import string, ...).

    Raises:
        ImportError: uvicorn is not installed.
    """
    try:
        uvicorn = importlib.import_module("uvicorn")
    except ImportError as exc:
        raise ImportError("flama.http.run needs uvicorn: pip install 'flama-http[server]'") from exc
    uvicorn.run(flama_app, host=server_host, port=server_port, **{**server_defaults(limits), **options})
