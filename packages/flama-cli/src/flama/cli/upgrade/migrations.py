"""Migrations: Flama 1.x's public module map onto this project's layout.

The layout: ``flama.http``, ``flama.middleware``, ``flama.models``... Read from Flama 1.12's public modules and their
``__all__``: each 1.x module either moved as a whole (its names keep their names), or its names went to different
homes, were renamed, or have no counterpart (marked for a person).
"""

import dataclasses

from flama.cli.upgrade.operations import FlagModule, MoveModule, MoveSymbol, Operation, RemoveSymbol

__all__ = ["MIGRATIONS", "Migration"]


@dataclasses.dataclass(frozen=True)
class Migration:
    """The operations that bring a code base from the versions before ``target`` to ``target``."""

    target: str
    operations: tuple[Operation, ...]


_HTTP = "flama.http"
_ASGI_NOTE = "request parts are injected from type hints now: take a Request, Header, Query or Cookie parameter"
_V2: tuple[Operation, ...] = (
    # Whole modules, names unchanged.
    MoveModule("flama.applications", _HTTP),
    MoveModule("flama.routing", _HTTP),
    MoveModule("flama.routing.router", _HTTP),
    MoveModule("flama.routing.routes", _HTTP),
    MoveModule("flama.routing.routes.http", _HTTP),
    MoveModule("flama.routing.routes.mount", _HTTP),
    MoveModule("flama.routing.routes.websocket", _HTTP),
    MoveModule("flama.websockets", _HTTP),
    MoveModule("flama.background", _HTTP),
    MoveModule("flama.modules", _HTTP),
    MoveModule("flama.url", _HTTP),
    MoveModule("flama.lifespan", "flama.http.lifespan"),
    MoveModule("flama.injection", "flama.http.injection"),
    MoveModule("flama.injection.components", "flama.http.injection"),
    MoveModule("flama.asgi", "flama.http.injection"),
    MoveModule("flama.serialize", "flama.models"),
    MoveModule("flama.serialize.serializer", "flama.models"),
    MoveModule("flama.serialize.data_structures", "flama.models"),
    MoveModule("flama.models.modules", "flama.models.module"),
    MoveModule("flama.models.resource", "flama.models.resources"),
    MoveModule("flama.types.asgi", "flama.http.types"),
    # Names that moved or were renamed.
    MoveSymbol("flama", "BackgroundTask", to_module=_HTTP),
    MoveSymbol("flama", "BackgroundTasks", to_module=_HTTP),
    MoveSymbol("flama", "Component", to_module=_HTTP),
    MoveSymbol("flama", "Modules", to_module="flama.http.modules"),
    MoveSymbol("flama.modules", "Modules", to_module="flama.http.modules"),
    MoveSymbol("flama.middleware", "GZipMiddleware", to_name="CompressionMiddleware"),
    MoveSymbol("flama.middleware", "Middleware", to_module=_HTTP),
    MoveSymbol("flama.websockets", "State", to_module=_HTTP, to_name="WebSocketState"),
    MoveSymbol("flama.types.asgi", "App", to_name="ASGIApp"),
    MoveSymbol("flama.types.http", "Headers", to_module=_HTTP),
    MoveSymbol("flama.types.http", "MutableHeaders", to_module=_HTTP),
    MoveSymbol("flama.types.http", "QueryParams", to_module=_HTTP),
    MoveSymbol("flama.types.http", "URL", to_module=_HTTP),
    MoveSymbol("flama.types", "Headers", to_module=_HTTP),
    MoveSymbol("flama.types", "MutableHeaders", to_module=_HTTP),
    MoveSymbol("flama.types", "QueryParams", to_module=_HTTP),
    MoveSymbol("flama.types", "Scope", to_module="flama.http.types"),
    MoveSymbol("flama.types", "Message", to_module="flama.http.types"),
    MoveSymbol("flama.types", "Receive", to_module="flama.http.types"),
    MoveSymbol("flama.types", "Send", to_module="flama.http.types"),
    MoveSymbol("flama.exceptions", "HTTPException", to_module=_HTTP),
    MoveSymbol("flama.exceptions", "WebSocketException", to_module=_HTTP),
    # Names with no counterpart.
    RemoveSymbol("flama", "Concurrency", "background tasks run in the event loop or a thread: use BackgroundTask"),
    RemoveSymbol("flama.background", "Concurrency", "use flama.http.BackgroundTask (async or sync functions)"),
    RemoveSymbol("flama.background", "BackgroundThreadTask", "use flama.http.BackgroundTask with a sync function"),
    RemoveSymbol("flama.background", "BackgroundProcessTask", "run the process yourself from a BackgroundTask"),
    RemoveSymbol("flama.websockets", "Close", "raise flama.http.WebSocketDisconnect or call websocket.close()"),
    RemoveSymbol("flama.url", "Path", "use str paths; reverse URLs with app.url_path_for"),
    RemoveSymbol("flama.http", "Method", "HTTP methods are plain strings"),
    RemoveSymbol("flama.http", "APIResponse", "return the data (validated by the return annotation) or a JSONResponse"),
    RemoveSymbol("flama.http", "APIErrorResponse", "raise flama.http.HTTPException: errors share one JSON body"),
    RemoveSymbol("flama.http", "HTMLFileResponse", "use FileResponse or HTMLResponse"),
    RemoveSymbol("flama.http", "HTMLTemplatesEnvironment", "render templates with jinja2 and return an HTMLResponse"),
    RemoveSymbol("flama.http", "HTMLTemplateResponse", "render templates with jinja2 and return an HTMLResponse"),
    RemoveSymbol("flama.http", "OpenAPIResponse", "the schema is served by the application (Flama(schema=...))"),
    RemoveSymbol("flama.middleware", "BaseHTTPMiddleware", "write a pure ASGI middleware class"),
    RemoveSymbol("flama.middleware", "ExceptionMiddleware", "errors are handled by the application itself"),
    RemoveSymbol("flama.middleware", "MiddlewareStack", "the application builds its stack: app.add_middleware"),
    RemoveSymbol("flama.serialize", "Serializer", "serializers are picked by flama.models.dump from the model"),
    RemoveSymbol("flama.serialize.serializer", "Serializer", "serializers are picked by flama.models.dump"),
    RemoveSymbol("flama.models.resource", "BaseModelResource", "serve models with app.models.add_model"),
    RemoveSymbol("flama.models.resource", "InspectMixin", "serve models with app.models.add_model"),
    RemoveSymbol("flama.models.resource", "PredictMixin", "serve models with app.models.add_model"),
    RemoveSymbol("flama.models.resource", "ModelResourceType", "serve models with app.models.add_model"),
    *(
        RemoveSymbol("flama.asgi", name, _ASGI_NOTE)
        for name in (
            "MethodComponent",
            "URLComponent",
            "SchemeComponent",
            "ServerComponent",
            "PathComponent",
            "PathParamsComponent",
            "QueryStringComponent",
            "QueryParamsComponent",
            "HeadersComponent",
            "BodyComponent",
            "ASGI_COMPONENTS",
        )
    ),
    # Modules with no counterpart in this layout.
    FlagModule("flama.schemas", "is gone: schemas come from type hints (pydantic models) through flama.http"),
    FlagModule("flama.resources", "is gone: write routes, or serve models with app.models"),
    FlagModule("flama.pagination", "is gone: paginate in your endpoint"),
    FlagModule("flama.ddd", "is gone: keep your repositories and workers in your code base"),
    FlagModule("flama.sqlalchemy", "is gone: manage the engine in a lifespan"),
    FlagModule("flama.authentication", "is gone: API keys are a model option (api_keys) or a middleware"),
    FlagModule("flama.config", "is gone: read settings with your own library (pydantic-settings)"),
    FlagModule("flama.telemetry", "is gone: use CorrelationIdMiddleware, TimingMiddleware and /metrics"),
    FlagModule("flama.endpoints", "is gone: write endpoint functions"),
    FlagModule("flama.negotiation", "is gone: responses are JSON; pick other types in the endpoint"),
    FlagModule("flama.codecs", "is gone: request bodies are parsed by flama.core"),
    FlagModule("flama.debug", "is gone: Flama(debug=True) serves the debug pages"),
    FlagModule("flama.cli", "is not an API: use the `flama` command"),
    FlagModule("flama.client", "is gone: test with httpx.AsyncClient(transport=httpx.ASGITransport(app))"),
    FlagModule("flama.validation", "is gone: validation comes from type hints"),
    FlagModule("flama.concurrency", "is gone: use anyio"),
    FlagModule("flama.events", "is gone: use Flama(events=...) or a lifespan"),
    FlagModule("flama.models.components", "is gone: serve models with app.models.add_model"),
    FlagModule("flama.models.base", "is gone: flama.models.load returns the model"),
    FlagModule("flama.types.http", "is gone: the HTTP data structures are in flama.http"),
    FlagModule("flama.exceptions", "is gone: HTTP errors are in flama.http, model errors in flama.models"),
)

MIGRATIONS = (Migration("2.0", _V2),)
