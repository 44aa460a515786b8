"""Options shared by the commands that serve an application: ``--server-*`` (uvicorn) and ``--app-*``.

The names are Flama 2.x's, so its scripts keep working. Every option is also read from a ``FLAMA_`` environment
variable named after it (``--server-port`` from ``FLAMA_SERVER_PORT``): each command sets click's
``auto_envvar_prefix``. A ``--server-*`` option left out is not passed on: ``flama.http.run``'s safe defaults (header
timeout, header size, keep-alive, concurrency) or uvicorn's apply.
"""

import dataclasses
import functools
import typing
from collections.abc import Callable
from typing import Any

import click
from uvicorn.config import LOG_LEVELS, HTTPProtocolType, InterfaceType, LifespanType, LoopFactoryType, WSProtocolType

__all__ = ["ENV_SETTINGS", "SERVER_KEYS", "AppOptions", "app_options", "server_options"]

# Every command reads its options from FLAMA_<OPTION> and wraps its help at 80 columns.
ENV_SETTINGS: dict[str, Any] = {"auto_envvar_prefix": "FLAMA", "max_content_width": 80}

F = typing.TypeVar("F", bound=Callable[..., Any])


def _choices(literal: Any) -> click.Choice[str]:
    return click.Choice([value for value in typing.get_args(literal) if value != "none"])


def _header(value: str) -> tuple[str, str]:
    name, sep, content = value.partition(":")
    if not sep or not name.strip():
        raise click.BadParameter(f"expected 'Name: value', got {value!r}", param_hint="'--server-headers'")
    return name.strip(), content.strip()


# (option name without --server-, click keyword arguments). The uvicorn keyword is the name with _ for -.
_SERVER: tuple[tuple[str, dict[str, Any]], ...] = (
    ("host", {"help": "Bind the socket to this host.  [default: 127.0.0.1]"}),
    ("port", {"type": click.IntRange(0, 65535), "help": "Bind the socket to this port.  [default: 8000]"}),
    ("uds", {"help": "Bind to a UNIX domain socket."}),
    ("fd", {"type": int, "help": "Bind to the socket of this file descriptor."}),
    ("reload", {"is_flag": True, "default": None, "help": "Restart the server when files change."}),
    ("reload-dirs", {"multiple": True, "type": click.Path(exists=True), "help": "Directories to watch."}),
    ("reload-includes", {"multiple": True, "help": "Glob patterns of files to watch."}),
    ("reload-excludes", {"multiple": True, "help": "Glob patterns of files not to watch."}),
    ("reload-delay", {"type": float, "help": "Seconds between two checks for changes."}),
    ("workers", {"type": click.IntRange(1), "help": "Worker processes (WEB_CONCURRENCY or 1)."}),
    ("loop", {"type": _choices(LoopFactoryType), "help": "Event loop implementation."}),
    ("http", {"type": _choices(HTTPProtocolType), "help": "HTTP protocol implementation."}),
    ("ws", {"type": _choices(WSProtocolType), "help": "WebSocket protocol implementation."}),
    ("ws-max-size", {"type": int, "help": "Largest WebSocket message, in bytes."}),
    ("ws-ping-interval", {"type": float, "help": "Seconds between WebSocket pings."}),
    ("ws-ping-timeout", {"type": float, "help": "Seconds to wait for a WebSocket pong."}),
    ("ws-per-message-deflate", {"type": bool, "help": "Compress WebSocket messages (true/false)."}),
    ("lifespan", {"type": _choices(LifespanType), "help": "Lifespan implementation."}),
    ("interface", {"type": _choices(InterfaceType), "help": "Application interface."}),
    ("env-file", {"type": click.Path(exists=True), "help": "Environment file to load."}),
    ("log-config", {"type": click.Path(exists=True), "help": "Logging config file (.ini, .json, .yaml)."}),
    ("log-level", {"type": click.Choice(list(LOG_LEVELS)), "help": "Log level.  [default: info]"}),
    ("access-log/--server-no-access-log", {"default": None, "help": "Log every request."}),
    ("use-colors/--server-no-use-colors", {"default": None, "help": "Colour the logs."}),
    ("proxy-headers/--server-no-proxy-headers", {"default": None, "help": "Trust X-Forwarded-* headers."}),
    ("server-header/--server-no-server-header", {"default": None, "help": "Send a Server header."}),
    ("date-header/--server-no-date-header", {"default": None, "help": "Send a Date header."}),
    ("forwarded-allow-ips", {"help": "Comma-separated IPs trusted for proxy headers."}),
    ("root-path", {"help": "ASGI root path, when mounted below a prefix."}),
    ("limit-concurrency", {"type": click.IntRange(1), "help": "Connections at once before 503s.  [default: 1024]"}),
    ("backlog", {"type": click.IntRange(1), "help": "Connections waiting to be accepted."}),
    ("limit-max-requests", {"type": click.IntRange(1), "help": "Requests before a worker restarts."}),
    ("timeout-keep-alive", {"type": click.IntRange(0), "help": "Seconds an idle connection stays open.  [default: 5]"}),
    (
        "header-timeout",
        {
            "type": click.FloatRange(0, min_open=True),
            "help": "Seconds a client has to send its headers.  [default: 10]",
        },
    ),
    ("ssl-keyfile", {"help": "SSL key file."}),
    ("ssl-certfile", {"help": "SSL certificate file."}),
    ("ssl-keyfile-password", {"help": "Password of the SSL key file."}),
    ("ssl-version", {"type": int, "help": "SSL version (see the ssl module)."}),
    ("ssl-cert-reqs", {"type": int, "help": "Client certificate required (see ssl)."}),
    ("ssl-ca-certs", {"help": "CA certificates file."}),
    ("ssl-ciphers", {"help": "Ciphers to use (see the ssl module)."}),
    ("headers", {"multiple": True, "metavar": "'NAME: VALUE'", "help": "Add a response header (repeatable)."}),
    ("app-dir", {"help": "Directory added to sys.path to import the app."}),
    (
        "h11-max-incomplete-event-size",
        {"type": click.IntRange(1024), "help": "Largest request head, in bytes.  [default: 16384]"},
    ),
    ("factory", {"is_flag": True, "default": None, "help": "The app is a factory to call."}),
)


def _server_key(spec: str) -> str:
    return spec.split("/", 1)[0].replace("-", "_")


SERVER_KEYS = tuple(_server_key(spec) for spec, _ in _SERVER)


def _collect_server(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Pop every ``server_*`` parameter; return the uvicorn keyword arguments of those given."""
    server: dict[str, Any] = {}
    for key in SERVER_KEYS:
        value = kwargs.pop(f"server_{key}")
        if value is None or value == ():
            continue
        if key == "headers":
            value = [_header(item) for item in value]
        elif key in ("reload_dirs", "reload_includes", "reload_excludes"):
            value = list(value)
        server[key] = value
    return server


def server_options(command: F) -> F:
    """Add every ``--server-*`` option; the command receives them as ``server``, a dict of uvicorn arguments."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return command(*args, server=_collect_server(kwargs), **kwargs)

    decorated: Callable[..., Any] = wrapper
    for spec, settings in reversed(_SERVER):
        decorated = click.option(f"--server-{spec}", f"server_{_server_key(spec)}", **settings)(decorated)
    return typing.cast(F, decorated)


@dataclasses.dataclass(frozen=True)
class AppOptions:
    """The application's settings: OpenAPI ``info``, where the schema and docs are served, debug pages."""

    title: str = "Flama"
    version: str = "0.1.0"
    description: str = "Fire up with the flame"
    schema: str | None = "/schema/"
    docs: str | None = "/docs/"
    debug: bool = False

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "AppOptions":
        """Build from a config file's ``app`` section (unknown keys are an error).

        Raises:
            ValueError: An unknown key.
        """
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown app setting {unknown[0]!r}; known: {', '.join(sorted(known))}")
        return cls(**data)


def app_options(command: F) -> F:
    """Add the ``--app-*`` options; the command receives them as ``app``, an :class:`AppOptions`."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        app = AppOptions(**{field.name: kwargs.pop(f"app_{field.name}") for field in dataclasses.fields(AppOptions)})
        return command(*args, app=app, **kwargs)

    defaults = AppOptions()
    options = (
        click.option("--app-title", default=defaults.title, show_default=True, help="Title of the API."),
        click.option("--app-version", default=defaults.version, show_default=True, help="Version of the API."),
        click.option("--app-description", default=defaults.description, show_default=True, help="Its description."),
        click.option("--app-schema", default=defaults.schema, show_default=True, help="Path of the OpenAPI schema."),
        click.option("--app-docs", default=defaults.docs, show_default=True, help="Path of the docs page."),
        click.option(
            "--app-debug", is_flag=True, default=False, help="Show tracebacks on errors (never in production)."
        ),
    )
    decorated: Callable[..., Any] = wrapper
    for option in reversed(options):
        decorated = option(decorated)
    return typing.cast(F, decorated)
