"""Tool-call body parsers: the text a model writes for one or more calls, turned into names and JSON arguments.

Every parser takes the body (markers removed) and returns the calls it holds, or ``None`` when the body is not
well-formed in its format; the decoder then emits the body as text, so nothing the model wrote is lost.
"""

import ast
import json
import re
from collections.abc import Callable
from typing import Any, NamedTuple

__all__ = [
    "PARSERS",
    "ToolCall",
    "arguments_object",
    "deepseek_token",
    "encode",
    "parse_deepseek",
    "parse_function_tags",
    "parse_gemma",
    "parse_json",
    "parse_llama",
    "parse_mistral",
    "parse_pythonic",
    "parse_tagged",
]


class ToolCall(NamedTuple):
    """One parsed call: the function's name and its arguments as a JSON object's text."""

    name: str
    arguments: str


Parser = Callable[[str], "list[ToolCall] | None"]

JSON = json.JSONDecoder()
JSON_CALL_KEYS = frozenset({"name", "arguments", "parameters", "type", "id"})
SEPARATORS = " \t\r\n;,"
FUNCTION = re.compile(r"\s*<function=([^>\s]+)>(.*?)</function>\s*", re.DOTALL)
PARAMETER = re.compile(r"\s*<parameter=([^>]+)>(.*?)</parameter>\s*", re.DOTALL)
GEMMA_TOKEN = re.compile(r'<\|"\|>(.*?)<\|"\|>|([A-Za-z_][\w.-]*)(?=\s*:)', re.DOTALL)
NAME = re.compile(r"[A-Za-z_][\w.-]*")


def encode(arguments: dict[str, Any]) -> str:
    """The JSON text of a call's arguments (UTF-8 kept as is)."""
    return json.dumps(arguments, ensure_ascii=False)


def arguments_object(value: Any) -> dict[str, Any] | None:
    """A call's arguments as a dict: an object, or a string holding a JSON object; ``None`` for anything else."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, dict) else None


def json_call(item: Any) -> ToolCall | None:
    """``{"name": ..., "arguments" | "parameters": {...}}`` as a call; other objects are not calls."""
    if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item.keys() <= JSON_CALL_KEYS:
        return None
    arguments = arguments_object(item.get("arguments", item.get("parameters", {})))
    return None if arguments is None or not NAME.fullmatch(item["name"]) else ToolCall(item["name"], encode(arguments))


def parse_json(body: str) -> list[ToolCall] | None:
    """One or more JSON calls: objects or arrays of objects, separated by whitespace, ``;`` or ``,``.

    Covers Hermes/Qwen ``<tool_call>`` bodies, Llama 3 ``<|python_tag|>`` and bare JSON calls, and Mistral's older
    ``[TOOL_CALLS][...]`` arrays.
    """
    calls: list[ToolCall] = []
    position, end = 0, len(body)
    while True:
        while position < end and body[position] in SEPARATORS:
            position += 1
        if position == end:
            return calls or None
        try:
            value, position = JSON.raw_decode(body, position)
        except ValueError:
            return None
        for item in value if isinstance(value, list) else [value]:
            call = json_call(item)
            if call is None:
                return None
            calls.append(call)


def parameter_value(raw: str) -> Any:
    """A Qwen3-Coder parameter's value: JSON when it parses as JSON (numbers, booleans, objects), else the string."""
    value = raw[1:] if raw.startswith("\n") else raw
    value = value[:-1] if value.endswith("\n") else value
    try:
        return json.loads(value)
    except ValueError:
        return value


def parse_function_tags(body: str) -> list[ToolCall] | None:
    """Qwen3-Coder calls: ``<function=name><parameter=p>value</parameter>…</function>``, one or more."""
    calls: list[ToolCall] = []
    position = 0
    while position < len(body):
        function = FUNCTION.match(body, position)
        if function is None:
            return None
        arguments: dict[str, Any] = {}
        inner, cursor = function.group(2), 0
        while cursor < len(inner) and not inner[cursor:].isspace():
            parameter = PARAMETER.match(inner, cursor)
            if parameter is None:
                return None
            arguments[parameter.group(1).strip()] = parameter_value(parameter.group(2))
            cursor = parameter.end()
        calls.append(ToolCall(function.group(1), encode(arguments)))
        position = function.end()
    return calls or None


def parse_tagged(body: str) -> list[ToolCall] | None:
    """A ``<tool_call>`` body: Qwen3-Coder function tags when it starts with ``<function=``, JSON otherwise."""
    return parse_function_tags(body) if body.lstrip().startswith("<function=") else parse_json(body)


def parse_mistral(body: str) -> list[ToolCall] | None:
    """What follows ``[TOOL_CALLS]``: a JSON array of calls, or ``name[ARGS]{json}`` pieces.

    Pieces may carry ``[CALL_ID]id`` after the name (its id is replaced by the decoder's own) and several are
    separated by further ``[TOOL_CALLS]`` markers.
    """
    calls: list[ToolCall] = []
    for piece in body.split("[TOOL_CALLS]"):
        if not piece.strip():
            continue
        if "[ARGS]" not in piece:
            found = parse_json(piece)
            if found is None:
                return None
            calls += found
            continue
        head, _, raw = piece.partition("[ARGS]")
        name = head.partition("[CALL_ID]")[0].strip()
        try:
            arguments = arguments_object(json.loads(raw))
        except ValueError:
            return None
        if arguments is None or not NAME.fullmatch(name):
            return None
        calls.append(ToolCall(name, encode(arguments)))
    return calls or None


def dotted(node: ast.expr) -> str | None:
    """The dotted name of a called function (``f``, ``tools.f``), ``None`` for any other expression."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        parent = dotted(node.value)
        return None if parent is None else f"{parent}.{node.attr}"
    return None


def parse_pythonic(body: str) -> list[ToolCall] | None:
    """Pythonic calls ``[f(x=1), g(y="a")]``, brackets optional for one call.

    Arguments are keywords whose values are Python literals only: nothing is evaluated.
    """
    try:
        tree = ast.parse(body.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError):
        return None
    nodes = tree.elts if isinstance(tree, ast.List) else [tree]
    calls: list[ToolCall] = []
    for node in nodes:
        if not isinstance(node, ast.Call) or node.args:
            return None
        name = dotted(node.func)
        if name is None or any(keyword.arg is None for keyword in node.keywords):
            return None
        try:
            arguments = {str(keyword.arg): ast.literal_eval(keyword.value) for keyword in node.keywords}
            calls.append(ToolCall(name, encode(arguments)))
        except (ValueError, TypeError, SyntaxError, RecursionError):
            return None
    return calls or None


def parse_llama(body: str) -> list[ToolCall] | None:
    """What follows Llama's ``<|python_tag|>``: JSON calls, or a built-in tool's pythonic call.

    Llama 3.1 writes its built-in tools' calls in Python syntax: ``brave_search.call(query="...")``.
    """
    return parse_json(body) or parse_pythonic(body)


def deepseek_token(*words: str) -> str:
    """A DeepSeek special token: its words joined by U+2581 between full-width bars (U+FF5C), as its tokenizer has."""
    return "<\uff5c" + "\u2581".join(words) + "\uff5c>"


DEEPSEEK_CALL = deepseek_token("tool", "call", "begin")
DEEPSEEK_END = deepseek_token("tool", "call", "end")
DEEPSEEK_SEP = deepseek_token("tool", "sep")
FENCE = re.compile(r"\A\s*```(?:json)?\s*(.*?)\s*```\s*\Z", re.DOTALL)


def parse_deepseek(body: str) -> list[ToolCall] | None:
    """DeepSeek calls, between its tool-calls begin and end tokens.

    Each call sits between its own call begin and end tokens and holds either ``function``, the separator token and
    the name, then the arguments in a fenced JSON block (V3, R1), or the name, the separator token and the arguments'
    JSON (V3.1).
    """
    calls: list[ToolCall] = []
    head, *pieces = body.split(DEEPSEEK_CALL)
    if head.strip() or not pieces:
        return None
    for piece in pieces:
        inner, end, rest = piece.partition(DEEPSEEK_END)
        name, sep, raw = inner.partition(DEEPSEEK_SEP)
        if not end or not sep or rest.strip():
            return None
        if name.strip() == "function":
            name, _, raw = raw.partition("\n")
            fenced = FENCE.match(raw)
            raw = fenced.group(1) if fenced else raw
        try:
            arguments = arguments_object(json.loads(raw))
        except ValueError:
            return None
        if arguments is None or not NAME.fullmatch(name.strip()):
            return None
        calls.append(ToolCall(name.strip(), encode(arguments)))
    return calls


def gemma_token(match: re.Match[str]) -> str:
    """One Gemma token as JSON: a ``<|"|>``-delimited string or a bare key, both become JSON strings."""
    string, key = match.groups()
    return json.dumps(string if key is None else key)


def parse_gemma(body: str) -> list[ToolCall] | None:
    """Gemma 4 calls: ``call:name{key:<|"|>text<|"|>,n:1}`` (bare keys, strings between ``<|"|>`` delimiters)."""
    text = body.strip()
    if not text.startswith("call:") or "{" not in text:
        return None
    name, brace, rest = text[5:].partition("{")
    try:
        arguments = json.loads(GEMMA_TOKEN.sub(gemma_token, brace + rest))
    except ValueError:
        return None
    if not isinstance(arguments, dict) or not NAME.fullmatch(name.strip()):
        return None
    return [ToolCall(name.strip(), encode(arguments))]


PARSERS: dict[str, Parser] = {
    "json": parse_json,
    "tagged": parse_tagged,
    "function_tags": parse_function_tags,
    "mistral": parse_mistral,
    "pythonic": parse_pythonic,
    "llama": parse_llama,
    "gemma": parse_gemma,
    "deepseek": parse_deepseek,
}
