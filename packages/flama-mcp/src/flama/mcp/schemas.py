"""JSON Schemas from type hints: a handler's input schema, its output schema, and argument validation.

Pydantic builds the schemas (JSON Schema 2020-12, self-contained through ``$defs``); jsonschema validates the
arguments a client sends against the published schema before the handler runs, so what a client is told and what
it is held to are the same document.
"""

import dataclasses
import enum
import inspect
import re
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

import pydantic

__all__ = ["Signature", "docstring_params"]

_ARGS_SECTION = re.compile(r"^\s*(Args|Arguments|Parameters):\s*$")
_PARAM_LINE = re.compile(r"^(\s*)(\*{0,2}\w+)(?:\s*\([^)]*\))?:\s*(.*)$")
_PLAIN = (str, int, float, bool, type(None))


def docstring_params(doc: str | None) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into its summary and the descriptions of its ``Args:`` entries."""
    if not doc:
        return "", {}
    lines = inspect.cleandoc(doc).splitlines()
    summary: list[str] = []
    params: dict[str, str] = {}
    index = 0
    while index < len(lines) and not _ARGS_SECTION.match(lines[index]):
        summary.append(lines[index])
        index += 1
    current: str | None = None
    indent = -1
    for line in lines[index + 1 :]:
        if not line.strip():
            continue
        match = _PARAM_LINE.match(line)
        width = len(line) - len(line.lstrip())
        if match and (indent < 0 or width == indent):
            indent = width
            current = match.group(2).lstrip("*")
            params[current] = match.group(3).strip()
        elif current is not None and width > indent:
            params[current] = f"{params[current]} {line.strip()}".strip()
        else:
            break
    text = "\n".join(summary).strip()
    return text.split("\n\n")[0].replace("\n", " ") if text else "", params


def _plain(annotation: Any) -> bool:
    """Whether JSON values valid against the annotation's schema are already the Python values it describes."""
    if annotation in _PLAIN or annotation is Any:
        return True
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return all(_plain(arg) for arg in typing.get_args(annotation))
    if origin in (list, dict, typing.Literal):
        return origin is typing.Literal or all(_plain(arg) for arg in typing.get_args(annotation))
    return annotation in (list, dict)


def _strip_titles(schema: Any) -> Any:
    # Pydantic titles every property after its name: noise in what a model reads.
    if isinstance(schema, dict):
        return {key: _strip_titles(value) for key, value in schema.items() if key != "title" or "$ref" in schema}
    if isinstance(schema, list):
        return [_strip_titles(item) for item in schema]
    return schema


class Signature:
    """What a handler takes from a client and what it gives back, derived from its signature.

    Args:
        func: The handler.
        injected: Parameters filled by the server, not the client: name to a callable that picks the value from the
            call's context (e.g. the :class:`~flama.mcp.Context` or the HTTP request); left out of the schema.
        description: A description overriding the docstring's summary.
        outputs: Derive an output schema from the return annotation (tools do; resources and prompts do not).
    """

    def __init__(
        self,
        func: Callable[..., Any],
        injected: Mapping[Any, Callable[[Any], Any]] | None = None,
        description: str | None = None,
        *,
        outputs: bool = False,
    ) -> None:
        summary, described = docstring_params(func.__doc__)
        self.description = description if description is not None else summary
        hints = typing.get_type_hints(func, include_extras=True)
        fields: dict[str, Any] = {}
        self.injected: dict[str, Callable[[Any], Any]] = {}
        self.plain = True
        resolvers = dict(injected or {})
        for name, parameter in inspect.signature(func).parameters.items():
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                continue
            annotation = hints.get(name, Any)
            resolver = next((pick for kind, pick in resolvers.items() if _is_kind(annotation, kind)), None)
            if resolver is not None:
                self.injected[name] = resolver
                continue
            default = ... if parameter.default is parameter.empty else parameter.default
            fields[name] = (annotation, pydantic.Field(default, description=described.get(name)))
            self.plain = self.plain and _plain(annotation)
        self.parameters = fields
        self.model = pydantic.create_model(f"{func.__name__}_arguments", **fields)
        schema = _strip_titles(self.model.model_json_schema())
        schema.setdefault("properties", {})
        self.input_schema: dict[str, Any] = schema
        self.required: list[str] = list(schema.get("required", []))
        import jsonschema  # here, not at the top: an application that registers no handler never imports it

        self.validator = jsonschema.Draft202012Validator(schema)
        self.output_schema: dict[str, Any] | None = None
        self.wrap_output = False
        self.output_adapter: pydantic.TypeAdapter[Any] | None = None
        returns = hints.get("return", inspect.Signature.empty)
        if outputs and returns not in (inspect.Signature.empty, None, type(None), Any) and not _is_content(returns):
            self.output_adapter = pydantic.TypeAdapter(returns)
            output = _strip_titles(self.output_adapter.json_schema(mode="serialization"))
            self.wrap_output = output.get("type") != "object" or ("properties" not in output and "$ref" not in output)
            if "$ref" in output and output["$ref"].startswith("#/$defs/"):
                target = output["$defs"].get(output["$ref"].rsplit("/", 1)[-1], {})
                self.wrap_output = target.get("type") != "object"
            if self.wrap_output:
                defs = output.pop("$defs", None)
                output = {"type": "object", "properties": {"result": output}, "required": ["result"]}
                if defs:
                    output["$defs"] = defs
            self.output_schema = output

    def errors(self, arguments: Any) -> list[str]:
        """What is wrong with ``arguments`` against the input schema (empty when they are valid)."""
        return [
            f"{'/'.join(str(part) for part in error.absolute_path) or 'arguments'}: {error.message}"
            for error in self.validator.iter_errors(arguments)
        ]

    def bind(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """Validated JSON arguments as the handler's Python values (pydantic models, enums, dataclasses...)."""
        if self.plain:
            return dict(arguments)
        model = self.model.model_validate(arguments)
        return {name: getattr(model, name) for name in self.parameters}

    def structured(self, value: Any) -> Any:
        """The JSON value of a handler's return value, wrapped in ``{"result": ...}`` when it is not an object."""
        assert self.output_adapter is not None
        data = value if isinstance(value, _PLAIN) else self.output_adapter.dump_python(value, mode="json")
        return {"result": data} if self.wrap_output else data


def _is_kind(annotation: Any, kind: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, kind)


def _is_content(annotation: Any) -> bool:
    from flama.mcp.content import Content, ToolResult

    origin = typing.get_origin(annotation) or annotation
    if origin is list:
        args = typing.get_args(annotation)
        return bool(args) and _is_content(args[0])
    return isinstance(origin, type) and issubclass(origin, (Content, ToolResult))


def json_value(value: Any) -> Any:
    """A JSON-able form of a value a handler returned without an annotation that says how."""
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return pydantic.TypeAdapter(type(value)).dump_python(value, mode="json")
    if isinstance(value, enum.Enum):
        return value.value
    return value
