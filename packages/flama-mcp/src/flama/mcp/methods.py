"""The MCP methods: how the server answers each JSON-RPC request.

Discovery, the lists, tools, resources, prompts, completion and tasks. Each method is a function of the server and
the :class:`~flama.mcp.dispatch.Call`, returning the encoded result; :data:`METHODS` maps the method names to them.
Errors are raised as :class:`~flama.mcp.protocol.MCPError`.
"""

import base64
import binascii
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
from flama.core import json_encode
from flama.mcp.context import Context
from flama.mcp.elicitation import InputRequired
from flama.mcp.primitives import Completer, Handler, Tool, complete
from flama.mcp.protocol import (
    HANDSHAKE_VERSIONS,
    INTERNAL_ERROR,
    INVALID_PARAMS,
    LATEST_HANDSHAKE_VERSION,
    MISSING_REQUIRED_CLIENT_CAPABILITY,
    MODERN_VERSIONS,
    RESOURCE_NOT_FOUND,
    SERVER_INFO_KEY,
    MCPError,
    ToolError,
)
from flama.mcp.tasks import EXTENSION as TASKS_EXTENSION

if TYPE_CHECKING:  # both modules import this one
    from flama.mcp.dispatch import Call
    from flama.mcp.server import MCPServer

__all__ = ["METHODS", "Method", "input_required"]

Method = Callable[["MCPServer", "Call"], Awaitable[bytes]]
_CACHEABLE = frozenset(
    {"server/discover", "tools/list", "prompts/list", "resources/list", "resources/templates/list", "resources/read"}
)


# ---- results ----


def _encode(server: "MCPServer", call: "Call", result: dict[str, Any], result_type: str = "complete") -> bytes:
    if call.modern:
        result["resultType"] = result_type
        if call.method in _CACHEABLE:
            result["ttlMs"] = server.cache_ttl_ms
            result["cacheScope"] = server.cache_scope
    return json_encode(result)


def _page(server: "MCPServer", call: "Call", key: str, items: list[dict[str, Any]]) -> bytes:
    cursor = call.params.get("cursor")
    cached = server.cache.get((call.method, cursor, call.modern))
    if cached is not None:
        return cached
    start = _offset(cursor)
    page: dict[str, Any] = {key: items[start : start + server.page_size]}
    if start + server.page_size < len(items):
        page["nextCursor"] = base64.urlsafe_b64encode(f"o:{start + server.page_size}".encode()).decode()
    encoded = _encode(server, call, page)
    server.cache[(call.method, cursor, call.modern)] = encoded
    return encoded


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


# ---- discovery ----


async def discover(server: "MCPServer", call: "Call") -> bytes:
    """``server/discover`` (2026-07-28): versions, capabilities and the server's info."""
    cached = server.cache.get(("server/discover", None, True))
    if cached is None:
        result: dict[str, Any] = {
            "supportedVersions": list(MODERN_VERSIONS),
            "capabilities": server.capabilities(True),
            "_meta": {SERVER_INFO_KEY: server.info()},
        }
        if server.instructions:
            result["instructions"] = server.instructions
        cached = server.cache[("server/discover", None, True)] = _encode(server, call, result)
    return cached


async def initialize(server: "MCPServer", call: "Call") -> bytes:
    """``initialize`` (handshake era): the agreed version, capabilities and the server's info."""
    requested = call.params.get("protocolVersion")
    if not isinstance(requested, str):
        raise MCPError(INVALID_PARAMS, "initialize needs a protocolVersion")
    result: dict[str, Any] = {
        "protocolVersion": requested if requested in HANDSHAKE_VERSIONS else LATEST_HANDSHAKE_VERSION,
        "capabilities": server.capabilities(False),
        "serverInfo": server.info(),
    }
    if server.instructions:
        result["instructions"] = server.instructions
    return json_encode(result)


async def ping(server: "MCPServer", call: "Call") -> bytes:
    """``ping`` (handshake era): an empty result."""
    return _encode(server, call, {})


# ---- lists ----


async def tools_list(server: "MCPServer", call: "Call") -> bytes:
    """``tools/list``, paged."""
    return _page(server, call, "tools", [tool.definition for tool in server.tools.values()])


async def resources_list(server: "MCPServer", call: "Call") -> bytes:
    """``resources/list``, paged."""
    return _page(server, call, "resources", [resource.definition for resource in server.resources.values()])


async def templates_list(server: "MCPServer", call: "Call") -> bytes:
    """``resources/templates/list``, paged."""
    return _page(server, call, "resourceTemplates", [template.definition for template in server.templates.values()])


async def prompts_list(server: "MCPServer", call: "Call") -> bytes:
    """``prompts/list``, paged."""
    return _page(server, call, "prompts", [prompt.definition for prompt in server.prompts.values()])


# ---- what handlers see: the context, and the answers to their input requests ----


def _context(server: "MCPServer", call: "Call", name: str, arguments: Any) -> Context:
    """The handler's context for a call on ``name`` with ``arguments``, holding the answers gathered so far."""
    call.binding = (name, arguments)
    answers = _answers(server, call, name, arguments)
    meta = call.params.get("_meta")
    token = meta.get("progressToken") if isinstance(meta, dict) else None
    exchange = call.exchange
    return Context(
        method=call.method,
        protocol_version=call.version,
        client_capabilities=call.capabilities,
        client_info=call.client_info,
        scope=call.scope,
        progress_token=token if type(token) in (str, int) else None,
        answers=answers,
        notify=lambda method, params: _notify(call, method, params),
        ask=None
        if call.modern or not exchange.sse
        else lambda requests: server.client_requests.ask(exchange, requests),
        auth=call.auth,
    )


async def _notify(call: "Call", method: str, params: dict[str, Any]) -> None:
    await call.exchange.event(json_encode({"jsonrpc": "2.0", "method": method, "params": params}))


def _answers(server: "MCPServer", call: "Call", name: str, arguments: Any) -> dict[str, Any]:
    """The input responses of earlier rounds (from the signed state) and of this one."""
    if not call.modern:
        return {}
    state = call.params.get("requestState")
    answers = {} if state is None else server.state.verify(state, call.method, name, arguments)
    responses = call.params.get("inputResponses")
    if responses is not None:
        if not isinstance(responses, dict):
            raise MCPError(INVALID_PARAMS, "inputResponses must be an object")
        answers = {**answers, **responses}
    return answers


def input_required(server: "MCPServer", call: "Call", request: InputRequired) -> bytes:
    """The ``input_required`` result of a call whose handler asked for input, with the signed ``requestState``."""
    if call.binding is None:  # pragma: no cover - only handlers given a context can ask
        raise MCPError(INTERNAL_ERROR, "input was asked for outside a handler") from request
    name, arguments = call.binding
    state = server.state.sign(call.method, name, arguments, request.answers)
    return _encode(server, call, {"inputRequests": request.requests, "requestState": state}, "input_required")


def _check_arguments(kind: str, name: str, handler: Handler, arguments: Any) -> None:
    if not isinstance(arguments, dict):
        raise MCPError(INVALID_PARAMS, "arguments must be an object")
    errors = handler.signature.errors(arguments)
    if errors:
        raise MCPError(
            INVALID_PARAMS, f"invalid arguments for {kind} {name!r}: {'; '.join(errors)}", {"errors": errors}
        )


@contextlib.contextmanager
def _internal_errors(what: str) -> Iterator[None]:
    """A handler's failure is ``INTERNAL_ERROR`` (``<what> failed: ...``); protocol errors and input requests pass."""
    try:
        yield
    except (InputRequired, MCPError):
        raise
    except Exception as error:
        raise MCPError(INTERNAL_ERROR, f"{what} failed: {type(error).__name__}: {error}") from error


# ---- tools ----


async def tools_call(server: "MCPServer", call: "Call") -> bytes:
    """``tools/call``: validate the arguments, run the tool (inline, or as a task) and encode its result.

    A tool's own failure is a result with ``isError``; unknown tools and invalid arguments are ``INVALID_PARAMS``.
    """
    name = call.params.get("name")
    tool = server.tools.get(name) if isinstance(name, str) else None
    if tool is None:
        raise MCPError(INVALID_PARAMS, f"unknown tool: {name}")
    arguments = call.params.get("arguments", {})
    if arguments is None:
        arguments = {}
    _check_arguments("tool", tool.name, tool, arguments)
    ctx = _context(server, call, tool.name, arguments)
    if tool.task:
        extensions = call.capabilities.get("extensions")
        negotiated = call.modern and isinstance(extensions, dict) and TASKS_EXTENSION in extensions
        if negotiated and server.tasks.group is not None:
            return await _start_task(server, call, tool, arguments, ctx)
        if tool.task == "required":
            _tasks_negotiated(call)
    try:
        if tool.is_async:
            value = await _cancellable(call, tool(arguments, ctx))
        else:
            value = await tool(arguments, ctx)
    except (InputRequired, MCPError):
        raise
    except ToolError as error:
        call.outcome = "tool_error"
        return _encode(server, call, {"content": [{"type": "text", "text": str(error)}], "isError": True})
    except Exception as error:
        call.outcome = "tool_error"
        text = f"{type(error).__name__}: {error}"
        return _encode(server, call, {"content": [{"type": "text", "text": text}], "isError": True})
    return _encode(server, call, tool.result(value))


async def _cancellable(call: "Call", work: Any) -> Any:
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


# ---- tasks ----


async def _start_task(server: "MCPServer", call: "Call", tool: Tool, arguments: dict[str, Any], ctx: Context) -> bytes:
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

    task = await server.tasks.start(_owner(call.auth), work)
    return _encode(server, call, task.wire(), "task")


async def _drop(method: str, params: dict[str, Any]) -> None:
    """Notifications of a task's work have no stream to go to (clients poll the task)."""


def _owner(auth: Any) -> str:
    return "" if auth is True else repr(auth)


def _tasks_negotiated(call: "Call") -> None:
    """The task methods are there only for clients that declare the tasks extension."""
    extensions = call.capabilities.get("extensions")
    if call.modern and not (isinstance(extensions, dict) and TASKS_EXTENSION in extensions):
        raise MCPError(
            MISSING_REQUIRED_CLIENT_CAPABILITY,
            f"{call.method} needs the {TASKS_EXTENSION} extension in the client capabilities",
            {"requiredCapabilities": {"extensions": {TASKS_EXTENSION: {}}}},
        )


async def tasks_get(server: "MCPServer", call: "Call") -> bytes:
    """``tasks/get``: the task's status, and its result once done."""
    _tasks_negotiated(call)
    task = await server.tasks.get(call.params.get("taskId"), _owner(call.auth))
    return _encode(server, call, task.wire())


async def tasks_update(server: "MCPServer", call: "Call") -> bytes:
    """``tasks/update``: answers to a task's input requests."""
    _tasks_negotiated(call)
    await server.tasks.update(call.params.get("taskId"), _owner(call.auth), call.params.get("inputResponses"))
    return _encode(server, call, {})


async def tasks_cancel(server: "MCPServer", call: "Call") -> bytes:
    """``tasks/cancel``."""
    _tasks_negotiated(call)
    await server.tasks.cancel(call.params.get("taskId"), _owner(call.auth))
    return _encode(server, call, {})


# ---- resources, prompts, completion ----


async def resources_read(server: "MCPServer", call: "Call") -> bytes:
    """``resources/read``: a fixed resource, or the first template matching the URI."""
    uri = call.params.get("uri")
    if not isinstance(uri, str):
        raise MCPError(INVALID_PARAMS, "resources/read needs a uri")
    try:
        resource, variables = server.find_resource(uri)
    except KeyError:
        raise MCPError(
            INVALID_PARAMS if call.modern else RESOURCE_NOT_FOUND, f"resource not found: {uri}", {"uri": uri}
        ) from None
    ctx = _context(server, call, uri, variables)
    with _internal_errors(f"reading {uri}"):
        value = await resource(dict(variables), ctx)
    return _encode(server, call, {"contents": resource.contents(uri, value)})


async def prompts_get(server: "MCPServer", call: "Call") -> bytes:
    """``prompts/get``: the prompt's messages for the given arguments."""
    name = call.params.get("name")
    prompt = server.prompts.get(name) if isinstance(name, str) else None
    if prompt is None:
        raise MCPError(INVALID_PARAMS, f"unknown prompt: {name}")
    arguments = call.params.get("arguments") or {}
    _check_arguments("prompt", prompt.name, prompt, arguments)
    ctx = _context(server, call, prompt.name, arguments)
    with _internal_errors(f"prompt {name!r}"):
        value = await prompt(arguments, ctx)
    result: dict[str, Any] = {"messages": prompt.messages(value)}
    if "description" in prompt.definition:
        result["description"] = prompt.definition["description"]
    return _encode(server, call, result)


async def completion_complete(server: "MCPServer", call: "Call") -> bytes:
    """``completion/complete``: values for a prompt's or a resource template's argument (100 at most)."""
    ref, argument = call.params.get("ref"), call.params.get("argument")
    if not isinstance(ref, dict) or not isinstance(argument, dict) or not isinstance(argument.get("name"), str):
        raise MCPError(INVALID_PARAMS, "completion/complete needs a ref and an argument {name, value}")
    completions: dict[str, Completer] | None = None
    if ref.get("type") == "ref/prompt" and ref.get("name") in server.prompts:
        completions = server.prompts[ref["name"]].completions
    elif ref.get("type") == "ref/resource" and ref.get("uri") in server.templates:
        completions = server.templates[ref["uri"]].completions
    if completions is None:
        raise MCPError(INVALID_PARAMS, f"nothing to complete for {ref!r}")
    completer = completions.get(argument["name"])
    values = [] if completer is None else complete(completer, str(argument.get("value", "")))
    completion = {"values": values[:100], "total": len(values), "hasMore": len(values) > 100}
    return _encode(server, call, {"completion": completion})


METHODS: dict[str, Method] = {
    "server/discover": discover,
    "initialize": initialize,
    "ping": ping,
    "tools/list": tools_list,
    "tools/call": tools_call,
    "resources/list": resources_list,
    "resources/templates/list": templates_list,
    "resources/read": resources_read,
    "prompts/list": prompts_list,
    "prompts/get": prompts_get,
    "completion/complete": completion_complete,
    "tasks/get": tasks_get,
    "tasks/update": tasks_update,
    "tasks/cancel": tasks_cancel,
}
"""The handler of each method; the dispatcher also checks which era may call it, and answers a handler's
:class:`~flama.mcp.elicitation.InputRequired` with :func:`input_required`."""
