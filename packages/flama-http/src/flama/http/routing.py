"""Routes, WebSocket routes, mounts and the :class:`Router` that dispatches to them through ``flama.core``.

Each router owns one ``flama.core.Router`` (the route table): a request costs one ``match()`` call whatever the
number of routes, and a :class:`Mount` hands the rest of the path to its application. ``GET`` routes answer ``HEAD``
too (headers only). An unknown path is a 404 and a known path with another method a 405 carrying ``Allow``, both
rendered as the JSON error shape. With ``redirect_slashes=True`` (off by default, so every URL has one spelling) a
404 whose path matches once a trailing slash is added or removed is answered with a 308 redirect there.
"""

import functools
import logging
import typing
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

import anyio.to_thread
import pydantic
from flama.core import MethodNotAllowed, MountMatch, NotFound, RouteMatch, URLBuildError, template_params
from flama.core import Router as RouteTable
from flama.http.datastructures import URL
from flama.http.exceptions import HTTPException, WebSocketException, error_response
from flama.http.injection.components import Component, Context
from flama.http.injection.resolver import Plan, build_plan
from flama.http.requests import HTTPConnection, WebSocket, WebSocketState
from flama.http.responses import JSONResponse, RedirectResponse, Response
from flama.http.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:  # typing.Unpack is 3.11+; only type checkers read it here, so no runtime dependency
    from typing_extensions import Unpack

__all__ = ["BaseRoute", "Mount", "Route", "RouteOptions", "Router", "WebSocketRoute", "to_response"]

logger = logging.getLogger("flama.http")

Endpoint = Callable[..., Any]
E = TypeVar("E", bound=Endpoint)
ExceptionResponder = Callable[[Context, Exception], Awaitable[Response]]

# Built-in JSON values: checked by exact type first, as isinstance against the Response and pydantic classes costs more.
_PLAIN_JSON = frozenset({dict, list, tuple, str, int, float, bool, type(None)})


def to_response(result: Any) -> Response:
    """Turn an endpoint's return value into a response.

    A :class:`~flama.http.responses.Response` is sent as it is; a pydantic model is dumped in JSON mode; any other
    value (``dict``, ``list``, ``str``, numbers, ``None``, dataclasses, ...) is encoded as JSON, so an API endpoint
    answers JSON whatever it returns.
    """
    if type(result) in _PLAIN_JSON:
        return JSONResponse(result)
    if isinstance(result, Response):
        return result
    if isinstance(result, pydantic.BaseModel):
        return JSONResponse(result.model_dump(mode="json"))
    return JSONResponse(result)


async def _default_responder(ctx: Context, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):
        logger.error("Unhandled exception in %s", ctx.scope.get("path"), exc_info=exc)
    return error_response(exc)


def _responder(scope: Scope) -> ExceptionResponder:
    responder: ExceptionResponder | None = getattr(scope.get("app"), "exception_response", None)
    return _default_responder if responder is None else responder


class RouteOptions(TypedDict, total=False):
    """The keyword options of an HTTP route, as :class:`Route` takes them.

    ``Router.add_route``/``route`` and ``Flama.add_route``/``route`` take the same keywords (typed through this
    dictionary), so the list is written once; see :class:`Route` for what each means.
    """

    methods: Sequence[str] | None
    name: str | None
    include_in_schema: bool
    max_body_size: int | None
    body: Any


class BaseRoute:
    """What routes and mounts share: a path template, a name and whether the schema lists them."""

    __slots__ = ("include_in_schema", "name", "param_names", "path")

    def __init__(self, path: str, name: str | None, include_in_schema: bool) -> None:
        self.path = path
        self.name = name
        self.include_in_schema = include_in_schema
        self.param_names = tuple(name for name, _ in template_params(path))

    def bind(self, components: Sequence[Component]) -> None:
        """Prepare for serving with the application's components (plans are built here, not per request)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(path={self.path!r}, name={self.name!r})"


class Route(BaseRoute):
    """An HTTP endpoint at a path.

    Args:
        path: The template, e.g. ``/users/{id:int}``.
        endpoint: A function, sync or async, whose parameters are injected (see :mod:`flama.http.injection`); sync
            endpoints run in a worker thread.
        methods: The methods served, ``["GET"]`` by default; ``GET`` implies ``HEAD``. ``QUERY`` and any other
            token are allowed.
        name: The name for reverse URLs; the endpoint's ``__name__`` by default.
        include_in_schema: Whether the OpenAPI schema lists it.
        max_body_size: The largest request body this route reads, in bytes, overriding the application's
            ``max_body_size`` (``None`` keeps the application's).
        body: The JSON body's type (a pydantic model, say) for the OpenAPI document, when the endpoint reads the body
            itself rather than through an injected parameter (a body parameter, when there is one, wins).
    """

    __slots__ = ("body", "endpoint", "max_body_size", "methods", "plan")

    def __init__(
        self,
        path: str,
        endpoint: Endpoint,
        *,
        methods: Sequence[str] | None = None,
        name: str | None = None,
        include_in_schema: bool = True,
        max_body_size: int | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(path, name or getattr(endpoint, "__name__", None), include_in_schema)
        self.body = body
        if max_body_size is not None and max_body_size < 0:
            raise ValueError(f"max_body_size must be 0 or more, got {max_body_size}")
        self.endpoint = endpoint
        self.max_body_size = max_body_size
        upper = [method.upper() for method in methods or ("GET",)]
        if "GET" in upper and "HEAD" not in upper:
            upper.append("HEAD")
        self.methods = tuple(upper)
        self.plan: Plan  # built by bind(), when the route joins a router and its components are known

    def bind(self, components: Sequence[Component]) -> None:
        """Build the endpoint's resolution plan with the application's components."""
        self.plan = build_plan(self.endpoint, self.param_names, components)

    @property
    def return_annotation(self) -> Any:
        """The endpoint's return annotation, or ``None``."""
        return typing.get_type_hints(self.endpoint).get("return")

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request: resolve the arguments, call the endpoint, send what it returned."""
        plan = self.plan
        if self.max_body_size is not None:
            scope["flama.max_body_size"] = self.max_body_size
        # The context (and the Request in it) is only built when an argument or an error handler needs it.
        ctx: Context | None = None
        try:
            if plan.has_steps:
                ctx = Context(scope, receive, send)
                kwargs = await plan.arguments(ctx)
                if plan.is_async:
                    result = await self.endpoint(**kwargs)
                else:
                    result = await anyio.to_thread.run_sync(functools.partial(self.endpoint, **kwargs))
            elif plan.is_async:
                result = await self.endpoint()
            else:
                result = await anyio.to_thread.run_sync(self.endpoint)
            response = to_response(result)
        except Exception as exc:  # every endpoint error becomes an HTTP response
            if ctx is None:
                ctx = Context(scope, receive, send)
            response = await _responder(scope)(ctx, exc)
        request = None if ctx is None else ctx.opened
        if request is None:
            await response(scope, receive, send)
            return
        try:
            await response(scope, receive, send)
        finally:
            await request.close()


class WebSocketRoute(BaseRoute):
    """A WebSocket endpoint at a path.

    A :class:`~flama.http.exceptions.WebSocketException` closes the socket with its code; any other error closes it
    with 1011 (internal error) and is logged.

    Args:
        path: The template.
        endpoint: An async function, whose parameters are injected (annotate one with ``WebSocket``).
        name: The name for reverse URLs; the endpoint's ``__name__`` by default.
    """

    __slots__ = ("endpoint", "plan")

    def __init__(self, path: str, endpoint: Endpoint, *, name: str | None = None) -> None:
        super().__init__(path, name or getattr(endpoint, "__name__", None), include_in_schema=False)
        self.endpoint = endpoint
        self.plan: Plan  # built by bind()

    def bind(self, components: Sequence[Component]) -> None:
        """Build the endpoint's resolution plan with the application's components."""
        self.plan = build_plan(self.endpoint, self.param_names, components)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one WebSocket session."""
        ctx = Context(scope, receive, send)
        try:
            await self.plan.run(ctx)
        except WebSocketException as exc:
            await _close(ctx.connection, exc.code, exc.reason)
        except Exception as exc:
            logger.error("Unhandled exception in WebSocket %s", scope.get("path"), exc_info=exc)
            await _close(ctx.connection, 1011, "")


async def _close(connection: HTTPConnection, code: int, reason: str) -> None:
    if isinstance(connection, WebSocket) and connection.application_state is not WebSocketState.DISCONNECTED:
        await connection.close(code, reason)


class Mount(BaseRoute):
    """An application (a Flama app, a :class:`Router`, any ASGI app) or a list of routes under a path prefix.

    The mounted application sees the full ``path`` and a ``root_path`` extended by the matched prefix (the ASGI
    convention uvicorn and Starlette follow), and the prefix's own parameters in ``scope["path_params"]``.

    Args:
        path: The prefix template, e.g. ``/api`` or ``/tenants/{tenant}``.
        app: The application to mount.
        routes: Routes to mount instead of an application (a :class:`Router` is made of them).
        name: The name for reverse URLs: a route ``users`` inside a mount ``api`` is ``api:users``.
    """

    __slots__ = ("app",)

    def __init__(
        self,
        path: str,
        app: ASGIApp | None = None,
        *,
        routes: Sequence[BaseRoute] | None = None,
        name: str | None = None,
    ) -> None:
        if (app is None) == (routes is None):
            raise ValueError("Mount needs exactly one of app and routes")
        super().__init__(path, name, include_in_schema=True)
        # A list of routes waits for the components of the router this mount joins (see bind).
        self.app: ASGIApp = app if app is not None else Router(routes, components=None)

    @property
    def router(self) -> "Router | None":
        """The mounted :class:`Router` (a Flama app's router included), or ``None`` for a foreign application."""
        router = getattr(self.app, "router", self.app)
        return router if isinstance(router, Router) else None

    def bind(self, components: Sequence[Component]) -> None:
        """Bind a mounted bare :class:`Router`'s routes to the application's components (a Flama app keeps its own)."""
        if isinstance(self.app, Router):
            self.app.bind(components)

    async def handle(self, scope: Scope, receive: Receive, send: Send, match: MountMatch) -> None:
        """Hand the request to the mounted application."""
        child = dict(scope)
        child["root_path"] = scope.get("root_path", "") + match.matched_path
        params = match.params
        if params:
            child["path_params"] = {**scope.get("path_params", {}), **params}
        await self.app(child, receive, send)


def _head_send(send: Send) -> Send:
    async def head(message: Message) -> None:
        if message["type"] == "http.response.body":
            if message.get("more_body", False):
                return
            message = {"type": "http.response.body", "body": b"", "more_body": False}
        await send(message)

    return head


class Router:
    """A list of routes and mounts behind one ``flama.core`` route table; itself an ASGI application.

    Args:
        routes: The routes and mounts, matched in order (the first added wins on overlap).
        components: Components injected into the routes' endpoints; ``None`` leaves the routes unbound until
            :meth:`bind` gives them (what a :class:`Mount` of routes does).
        redirect_slashes: Answer a 404 with a 308 redirect when the path with (or without) a trailing slash exists.
    """

    def __init__(
        self,
        routes: Sequence[BaseRoute] | None = None,
        *,
        components: Sequence[Component] | None = (),
        redirect_slashes: bool = False,
    ) -> None:
        self.table = RouteTable()
        self.routes: list[BaseRoute] = []
        self.components = None if components is None else list(components)
        self.redirect_slashes = redirect_slashes
        for route in routes or ():
            self.add(route)

    def add(self, route: BaseRoute) -> None:
        """Register a route, WebSocket route or mount."""
        if not isinstance(route, (Route, WebSocketRoute, Mount)):
            raise TypeError(f"not a route: {route!r}")
        # Bound before it enters the table, so a route whose plan cannot be built leaves the router unchanged.
        if self.components is not None:
            route.bind(self.components)
        if isinstance(route, Route):
            self.table.add_route(route.path, methods=list(route.methods), name=route.name)
        elif isinstance(route, WebSocketRoute):
            self.table.add_route(route.path, name=route.name, scope_type="websocket")
        else:
            self.table.add_mount(route.path, name=route.name)
        self.routes.append(route)

    def bind(self, components: Sequence[Component]) -> None:
        """Use ``components`` for every route, rebuilding their plans."""
        self.components = list(components)
        for route in self.routes:
            route.bind(components)

    def add_route(self, path: str, endpoint: Endpoint, **options: "Unpack[RouteOptions]") -> None:
        """Add a :class:`Route`; ``options`` are its keywords (``methods``, ``name``, ...)."""
        self.add(Route(path, endpoint, **options))

    def add_websocket_route(self, path: str, endpoint: Endpoint, *, name: str | None = None) -> None:
        """Add a :class:`WebSocketRoute`."""
        self.add(WebSocketRoute(path, endpoint, name=name))

    def mount(self, path: str, app: ASGIApp, *, name: str | None = None) -> None:
        """Add a :class:`Mount` of ``app``."""
        self.add(Mount(path, app, name=name))

    def route(self, path: str, **options: "Unpack[RouteOptions]") -> Callable[[E], E]:
        """Decorator form of :meth:`add_route`."""

        def register(endpoint: E) -> E:
            self.add_route(path, endpoint, **options)
            return endpoint

        return register

    def websocket_route(self, path: str, *, name: str | None = None) -> Callable[[E], E]:
        """Decorator form of :meth:`add_websocket_route`."""

        def register(endpoint: E) -> E:
            self.add_websocket_route(path, endpoint, name=name)
            return endpoint

        return register

    def url_path_for(self, name: str, /, **params: Any) -> str:
        """The path of the route called ``name`` (``mount:route`` inside mounts) with ``params`` filled in.

        Raises:
            flama.core.URLBuildError: No such route, or the parameters do not fit its template.
        """
        try:
            return self.table.url_path_for(name, **params)
        except URLBuildError:
            prefix, sep, rest = name.partition(":")
            if not sep:
                raise
        for route in self.routes:
            if isinstance(route, Mount) and route.name == prefix and route.router is not None:
                own = {key: params.pop(key) for key in route.param_names if key in params}
                try:
                    inner = route.router.url_path_for(rest, **params)
                except URLBuildError:
                    params.update(own)
                    continue
                return self.table.url_path_for(prefix, **own).rstrip("/") + inner
        raise URLBuildError(f"no route named {name!r}")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Dispatch one ASGI connection: one route-table match, then the route or mount."""
        kind = scope["type"]
        if kind == "lifespan":
            await _lifespan_noop(receive, send)
            return
        path = scope["path"]
        root_path = scope.get("root_path", "")
        if root_path and path.startswith(root_path):
            path = path[len(root_path) :] or "/"
        method = scope.get("method", "GET")
        match = self.table.match(kind, method, path)
        if type(match) is RouteMatch:
            route: Any = self.routes[match.index]
            params = match.params
            if params:
                outer = scope.get("path_params")
                scope["path_params"] = {**outer, **params} if outer else params
            elif "path_params" not in scope:
                scope["path_params"] = {}
            if method == "HEAD":
                send = _head_send(send)
            await route.handle(scope, receive, send)
        elif type(match) is MountMatch:
            mount: Any = self.routes[match.index]
            await mount.handle(scope, receive, send, match)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1000, "reason": ""})
        elif type(match) is MethodNotAllowed:
            await self._fail(scope, receive, send, HTTPException(405, headers={"Allow": ", ".join(match.allow)}))
        else:
            assert type(match) is NotFound
            redirect = self._slash_redirect(scope, method, path)
            if redirect is not None:
                await redirect(scope, receive, send)
            else:
                await self._fail(scope, receive, send, HTTPException(404))

    def _slash_redirect(self, scope: Scope, method: str, path: str) -> Response | None:
        if not self.redirect_slashes or path == "/":
            return None
        other = path[:-1] if path.endswith("/") else path + "/"
        if type(self.table.match("http", method, other)) is NotFound:
            return None
        url = URL(scope=scope)
        return RedirectResponse(url.replace(path=url.path[: -len(path)] + other), status_code=308)

    @staticmethod
    async def _fail(scope: Scope, receive: Receive, send: Send, exc: HTTPException) -> None:
        ctx = Context(scope, receive, send)
        response = await _responder(scope)(ctx, exc)
        await response(scope, receive, send)


async def _lifespan_noop(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        kind = message["type"]
        if kind == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif kind == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
