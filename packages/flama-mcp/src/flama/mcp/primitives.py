"""Tools, resources, resource templates and prompts: what a server offers, built from decorated functions."""

import base64
import dataclasses
import inspect
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypedDict

import anyio.to_thread
from flama.core import json_encode
from flama.http.requests import Request
from flama.mcp.content import Content, Message, Text, ToolResult
from flama.mcp.context import Context
from flama.mcp.schemas import Signature, json_value

if TYPE_CHECKING:  # typing.Unpack is 3.11+; only type checkers read it here
    from typing_extensions import Unpack

__all__ = [
    "Annotations",
    "Completer",
    "Prompt",
    "PromptOptions",
    "Resource",
    "ResourceOptions",
    "ResourceTemplate",
    "Tool",
    "ToolOptions",
]

Completer = Callable[[str], Iterable[str]] | Sequence[str]
"""Completion values for an argument: a list, or a function of the partial value."""

_INJECTED: Mapping[Any, Callable[[Context], Any]] = {Context: lambda ctx: ctx, Request: lambda ctx: Request(ctx.scope)}
_NAME = re.compile(r"^[A-Za-z0-9_.\-/]{1,128}$")


@dataclasses.dataclass(frozen=True)
class Annotations:
    """Hints about a tool's behaviour (clients must not trust them from untrusted servers)."""

    title: str | None = None
    read_only: bool | None = None
    destructive: bool | None = None
    idempotent: bool | None = None
    open_world: bool | None = None

    def wire(self) -> dict[str, Any]:
        """The ``annotations`` object."""
        pairs = {
            "title": self.title,
            "readOnlyHint": self.read_only,
            "destructiveHint": self.destructive,
            "idempotentHint": self.idempotent,
            "openWorldHint": self.open_world,
        }
        return {key: value for key, value in pairs.items() if value is not None}


class ToolOptions(TypedDict, total=False):
    """The keyword options of a :class:`Tool`, as ``MCPServer.tool`` and ``add_tool`` take them."""

    description: str | None
    title: str | None
    annotations: Annotations | None
    meta: dict[str, Any] | None
    task: bool | Literal["optional", "required"]
    thread: bool


class ResourceOptions(TypedDict, total=False):
    """The keyword options of a :class:`Resource` or :class:`ResourceTemplate`, as ``MCPServer.resource`` takes them."""

    name: str | None
    title: str | None
    description: str | None
    mime_type: str | None
    meta: dict[str, Any] | None
    thread: bool


class PromptOptions(TypedDict, total=False):
    """The keyword options of a :class:`Prompt`, as ``MCPServer.prompt`` takes them."""

    title: str | None
    description: str | None
    completions: Mapping[str, Completer] | None
    meta: dict[str, Any] | None
    thread: bool


class Handler:
    """A decorated function and its signature; calls it sync (inline or in a thread) or async."""

    def __init__(
        self, func: Callable[..., Any], description: str | None, *, thread: bool, outputs: bool = False
    ) -> None:
        self.func = func
        self.signature = Signature(func, _INJECTED, description, outputs=outputs)
        self.is_async = inspect.iscoroutinefunction(func)
        self.thread = thread

    async def __call__(self, arguments: dict[str, Any], ctx: Context) -> Any:
        kwargs = self.signature.bind(arguments)
        for name, pick in self.signature.injected.items():
            kwargs[name] = pick(ctx)
        if self.is_async:
            return await self.func(**kwargs)
        if self.thread:
            return await anyio.to_thread.run_sync(lambda: self.func(**kwargs))
        return self.func(**kwargs)


def _check_name(kind: str, name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"{kind} name {name!r} must be 1-128 letters, digits, '_', '-', '.' or '/'")
    return name


class Tool(Handler):
    """A function models may call.

    Args:
        func: The function; its parameters are the tool's arguments, its return annotation the output schema.
        name: The tool's name.
        description: What it does (the docstring's summary by default).
        title: A human-readable name.
        annotations: Behaviour hints.
        meta: The tool's ``_meta`` (MCP Apps link a ``ui://`` resource here).
        task: Run as a task (a handle returned at once) for clients that support the tasks extension.
        thread: Run a sync function in a worker thread rather than on the event loop.
    """

    def __init__(
        self,
        func: Callable[..., Any],
        name: str,
        *,
        description: str | None = None,
        title: str | None = None,
        annotations: Annotations | None = None,
        meta: dict[str, Any] | None = None,
        task: bool | Literal["optional", "required"] = False,
        thread: bool = False,
    ) -> None:
        super().__init__(func, description, thread=thread, outputs=True)
        self.name = _check_name("tool", name)
        self.task: Literal["optional", "required"] | None = "optional" if task is True else (task or None)
        self.definition: dict[str, Any] = {"name": name, "inputSchema": self.signature.input_schema}
        if title:
            self.definition["title"] = title
        if self.signature.description:
            self.definition["description"] = self.signature.description
        if self.signature.output_schema is not None:
            self.definition["outputSchema"] = self.signature.output_schema
        if annotations is not None:
            self.definition["annotations"] = annotations.wire()
        if self.task:
            self.definition["execution"] = {"taskSupport": self.task}
        if meta:
            self.definition["_meta"] = meta

    def result(self, value: Any) -> dict[str, Any]:
        """The ``tools/call`` result of a return value."""
        if isinstance(value, ToolResult):
            return value.wire()
        if isinstance(value, Content):
            return {"content": [value.wire()]}
        if isinstance(value, list) and value and all(isinstance(item, Content) for item in value):
            return {"content": [item.wire() for item in value]}
        if self.signature.output_schema is not None:
            structured = self.signature.structured(value)
            text = (
                value
                if isinstance(value, str)
                else json_encode(
                    structured.get("result", structured) if self.signature.wrap_output else structured
                ).decode()
            )
            return {"content": [{"type": "text", "text": text}], "structuredContent": structured}
        if value is None:
            return {"content": []}
        if isinstance(value, str):
            return {"content": [{"type": "text", "text": value}]}
        return {"content": [{"type": "text", "text": json_encode(json_value(value)).decode()}]}


def _contents(uri: str, mime_type: str | None, value: Any) -> list[dict[str, Any]]:
    if isinstance(value, (bytes, bytearray, memoryview)):
        blob = {"uri": uri, "blob": base64.b64encode(bytes(value)).decode()}
        blob["mimeType"] = mime_type or "application/octet-stream"
        return [blob]
    if isinstance(value, str):
        text = {"uri": uri, "text": value}
    else:
        text = {"uri": uri, "text": json_encode(json_value(value)).decode()}
        mime_type = mime_type or "application/json"
    if mime_type:
        text["mimeType"] = mime_type
    return [text]


class Resource(Handler):
    """Data at a fixed URI, read by calling a function (text for ``str``, a blob for ``bytes``, JSON otherwise).

    Args:
        func: The function.
        uri: The resource's URI.
        name: Its name.
        description: What it holds.
        mime_type: Its MIME type.
        meta: Its ``_meta``.
        thread: Run a sync function in a worker thread.
    """

    def __init__(
        self,
        func: Callable[..., Any],
        uri: str,
        *,
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        mime_type: str | None = None,
        meta: dict[str, Any] | None = None,
        thread: bool = False,
    ) -> None:
        super().__init__(func, description, thread=thread)
        self.uri = uri
        self.mime_type = mime_type
        self.meta = meta
        self.definition: dict[str, Any] = {"uri": uri, "name": name or func.__name__}
        if title:
            self.definition["title"] = title
        if self.signature.description:
            self.definition["description"] = self.signature.description
        if mime_type:
            self.definition["mimeType"] = mime_type
        if meta:
            self.definition["_meta"] = meta

    def contents(self, uri: str, value: Any) -> list[dict[str, Any]]:
        """The ``contents`` of a read."""
        contents = _contents(uri, self.mime_type, value)
        if self.meta:
            contents[0]["_meta"] = self.meta
        return contents


_VARIABLE = re.compile(r"\{([+#./;?&]?)([A-Za-z0-9_]+)(\*?)\}")


class ResourceTemplate(Resource):
    """Resources whose URIs follow an RFC 6570 template (``users://{id}/profile``); variables become arguments.

    Simple ``{var}`` expansions match one path segment; ``{+var}`` and ``{var*}`` match across ``/``.

    Args:
        completions: Completion values per variable.
    """

    def __init__(
        self,
        func: Callable[..., Any],
        uri: str,
        *,
        completions: Mapping[str, Completer] | None = None,
        **options: "Unpack[ResourceOptions]",
    ) -> None:
        super().__init__(func, uri, **options)
        self.definition["uriTemplate"] = self.definition.pop("uri")
        self.completions = dict(completions or {})
        pattern, last = [], 0
        self.variables: list[str] = []
        for match in _VARIABLE.finditer(uri):
            pattern.append(re.escape(uri[last : match.start()]))
            wide = match.group(1) == "+" or match.group(3) == "*"
            pattern.append(f"(?P<{match.group(2)}>{'.+' if wide else '[^/?#]+'})")
            self.variables.append(match.group(2))
            last = match.end()
        pattern.append(re.escape(uri[last:]))
        self.pattern = re.compile("".join(pattern) + "$")

    def match(self, uri: str) -> dict[str, str] | None:
        """The variables of ``uri`` when the template matches it."""
        match = self.pattern.match(uri)
        return match.groupdict() if match else None


class Prompt(Handler):
    """A prompt template; the function's string parameters are its arguments.

    The function returns a string (one user message), a :class:`~flama.mcp.Message` or a list of them.

    Args:
        completions: Completion values per argument.
    """

    def __init__(
        self,
        func: Callable[..., Any],
        name: str,
        *,
        title: str | None = None,
        description: str | None = None,
        completions: Mapping[str, Completer] | None = None,
        meta: dict[str, Any] | None = None,
        thread: bool = False,
    ) -> None:
        super().__init__(func, description, thread=thread)
        self.name = _check_name("prompt", name)
        self.completions = dict(completions or {})
        self.definition: dict[str, Any] = {"name": name}
        if title:
            self.definition["title"] = title
        if self.signature.description:
            self.definition["description"] = self.signature.description
        properties = self.signature.input_schema["properties"]
        required = set(self.signature.required)
        arguments = []
        for argument, schema in properties.items():
            entry: dict[str, Any] = {"name": argument, "required": argument in required}
            if schema.get("description"):
                entry["description"] = schema["description"]
            arguments.append(entry)
        self.definition["arguments"] = arguments
        if meta:
            self.definition["_meta"] = meta

    @staticmethod
    def messages(value: Any) -> list[dict[str, Any]]:
        """The ``messages`` of a ``prompts/get`` result."""
        items = value if isinstance(value, list) else [value]
        return [(item if isinstance(item, Message) else Message(_as_content(item))).wire() for item in items]


def _as_content(item: Any) -> Content | str:
    return item if isinstance(item, (Content, str)) else Text(json_encode(json_value(item)).decode())


def complete(completer: Completer, value: str) -> list[str]:
    """Completion values for a partial value: a list is filtered by prefix, a function is asked."""
    if callable(completer):
        return [str(item) for item in completer(value)]
    return [item for item in completer if item.startswith(value)]
