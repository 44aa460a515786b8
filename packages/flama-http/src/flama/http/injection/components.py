"""What an endpoint can ask for: the request context, custom components and parameter source markers.

:class:`Context` is one request's injection state; :class:`Component` subclasses provide custom values; the
``Annotated`` markers :class:`Query`, :class:`Header` and :class:`Cookie` say where a value comes from.
"""

import types
import typing
from dataclasses import dataclass
from typing import Any, ClassVar

from flama.http.requests import HTTPConnection, Request, WebSocket
from flama.http.types import Receive, Scope, Send

__all__ = ["Component", "Context", "Cookie", "Header", "Query", "Source", "is_class"]


def is_class(annotation: Any) -> typing.TypeGuard[type]:
    """Whether an annotation is a plain class that ``issubclass`` accepts.

    Python 3.10 counts parametrised generics such as ``list[int]`` as instances of ``type``, yet ``issubclass``
    refuses them.
    """
    return isinstance(annotation, type) and not isinstance(annotation, types.GenericAlias)


class Context:
    """One request's injection state: the ASGI triple, the connection (built on first use) and the component cache.

    Args:
        scope: The ASGI scope.
        receive: The ASGI receive channel.
        send: The ASGI send channel.
    """

    __slots__ = ("_connection", "cache", "receive", "scope", "send")

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope = scope
        self.receive = receive
        self.send = send
        self.cache: dict[int, Any] = {}
        self._connection: HTTPConnection | None = None

    @property
    def opened(self) -> Request | None:
        """The :class:`Request` if one was built (its uploaded files are closed after the response)."""
        connection = self._connection
        return connection if isinstance(connection, Request) else None

    @property
    def connection(self) -> HTTPConnection:
        """The :class:`Request` (HTTP) or :class:`WebSocket` for this scope, built once."""
        if self._connection is None:
            if self.scope["type"] == "websocket":
                self._connection = WebSocket(self.scope, self.receive, self.send)
            else:
                self._connection = Request(self.scope, self.receive, self.send)
        return self._connection


@dataclass(frozen=True, slots=True)
class Source:
    """Where a parameter is read from, given as ``Annotated[type, Query()]`` (or ``Header()``, ``Cookie()``).

    Attributes:
        alias: The name on the wire, when it differs from the parameter's; a header defaults to the parameter name
            with ``_`` turned into ``-``.
        description: Shown in the OpenAPI schema.
    """

    location: ClassVar[str] = "query"
    alias: str | None = None
    description: str | None = None

    def wire_name(self, parameter: str) -> str:
        """The name the value has in the request, for a parameter called ``parameter``."""
        return parameter if self.alias is None else self.alias


@dataclass(frozen=True, slots=True)
class Query(Source):
    """A query string value (the default for parameters that are neither path parameters nor bodies)."""

    location: ClassVar[str] = "query"


@dataclass(frozen=True, slots=True)
class Header(Source):
    """A request header value; ``user_agent`` reads ``user-agent``."""

    location: ClassVar[str] = "header"

    def wire_name(self, parameter: str) -> str:
        """The header name: the alias, else the parameter name with ``_`` as ``-``."""
        return parameter.replace("_", "-") if self.alias is None else self.alias


@dataclass(frozen=True, slots=True)
class Cookie(Source):
    """A cookie value."""

    location: ClassVar[str] = "cookie"


class Component:
    """A custom injectable.

    Subclass it and define ``resolve``, sync or async, whose return annotation is the type it provides.
    ``resolve``'s own parameters are injected like an endpoint's (the request, path and query values,
    other components), and its value is computed at most once per request.

    Example::

        class UserComponent(Component):
            async def resolve(self, authorization: Annotated[str, Header()]) -> User:
                return await load_user(authorization)
    """

    resolve: ClassVar[Any]

    def provides(self) -> Any:
        """The type this component provides: the return annotation of ``resolve``."""
        hints = typing.get_type_hints(type(self).resolve)
        if "return" not in hints:
            raise TypeError(f"{type(self).__name__}.resolve needs a return annotation")
        return hints["return"]

    def can_handle(self, annotation: Any) -> bool:
        """Whether this component supplies a parameter annotated with ``annotation``."""
        provided = self.provides()
        return bool(
            annotation is provided or (is_class(annotation) and is_class(provided) and issubclass(provided, annotation))
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
