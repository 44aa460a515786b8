"""The OpenAPI 3.1 document of an application, built from its routes, type hints and docstrings.

- Paths come from the route templates (converters dropped: ``/users/{id:int}`` is ``/users/{id}``), mounted Flama
  apps and routers included with their prefix; foreign mounted applications are not described.
- Parameters (path, query, header, cookie), JSON bodies (pydantic models) and multipart uploads come from the
  endpoint's resolution plan, so what is documented is what is injected; component parameters are included. A route
  whose endpoint reads its body itself names the body's type with ``Route(..., body=Model)``.
- Each model's JSON Schema goes once into ``components.schemas``; two different models of the same name (``Tool`` of
  two modules) get distinct names there (``Tool``, ``Tool-2``).
- The response is read from the return annotation: a pydantic model or any JSON-able type is an
  ``application/json`` schema; ``EventSourceResponse`` is ``text/event-stream`` and ``NDJSONResponse``
  ``application/x-ndjson``; another ``Response`` class gives its media type.
- The docstring's first paragraph is the summary, the rest the description.
"""

import functools
import inspect
import operator
import re
import types
import typing
from collections.abc import Iterator
from typing import Any

import pydantic
from flama.core.forms import FormData
from flama.http.injection.components import is_class
from flama.http.injection.resolver import Field
from flama.http.responses import Response
from flama.http.routing import Mount, Route, Router

__all__ = ["OpenAPI", "openapi_schema"]

_OPENAPI_METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "OPTIONS", "PATCH", "TRACE"})
_CONVERTER = re.compile(r"\{([^}:]+):[^}]+\}")
_REF = "#/components/schemas/"


def _renamed(value: Any, names: dict[str, str]) -> Any:
    """A JSON Schema with its component references renamed."""
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF) and ref[len(_REF) :] in names:
            value = {**value, "$ref": _REF + names[ref[len(_REF) :]]}
        return {key: _renamed(item, names) for key, item in value.items()}
    if isinstance(value, list):
        return [_renamed(item, names) for item in value]
    return value


def _is_response(annotation: Any) -> bool:
    return is_class(annotation) and issubclass(annotation, Response)


def _routes(router: Router, prefix: str, scope: str) -> Iterator[tuple[str, str, Route]]:
    """Every documented route with its full path and its reverse-URL name (``mount:route``, empty if unnamed)."""
    for route in router.routes:
        if isinstance(route, Route) and route.include_in_schema:
            yield prefix + route.path, f"{scope}{route.name}" if route.name else "", route
        elif isinstance(route, Mount) and route.router is not None and route.include_in_schema:
            inner = f"{scope}{route.name}:" if route.name else scope
            yield from _routes(route.router, prefix + route.path.rstrip("/"), inner)


class OpenAPI:
    """Builds one OpenAPI document; model schemas are collected into ``components.schemas`` as they are met.

    Args:
        info: The ``info`` object (``title``, ``version``, ``description``, ...).
    """

    def __init__(self, info: dict[str, Any]) -> None:
        self.info = info
        self.schemas: dict[str, Any] = {}

    def schema_of(self, annotation: Any) -> dict[str, Any]:
        """The JSON Schema of a type; models it refers to are moved into ``components.schemas``."""
        if annotation is inspect.Parameter.empty or annotation is Any:
            return {}
        schema = pydantic.TypeAdapter(annotation).json_schema(ref_template=_REF + "{model}")
        definitions = schema.pop("$defs", {})
        model = is_class(annotation) and issubclass(annotation, pydantic.BaseModel)
        if model:
            definitions[annotation.__name__] = schema
        # A definition's name depends on those it refers to (renamed ones change it): repeat until they settle.
        names = {name: name for name in definitions}
        renames: dict[str, str] = {}
        for _ in range(len(definitions) + 1):
            settled = {name: self._name(name, _renamed(item, renames)) for name, item in definitions.items()}
            if settled == names:
                break
            names = settled
            renames = {name: new for name, new in names.items() if new != name}
        for name, definition in definitions.items():
            self.schemas[names[name]] = _renamed(definition, renames)
        if model:
            return {"$ref": _REF + names[annotation.__name__]}
        renamed: dict[str, Any] = _renamed(schema, renames)
        return renamed

    def _name(self, name: str, definition: Any) -> str:
        """The component name of a definition: its own, unless another definition already has it."""
        candidate, number = name, 1
        while candidate in self.schemas and self.schemas[candidate] != definition:
            number += 1
            candidate = f"{name}-{number}"
        return candidate

    def operation(self, route: Route, method: str, name: str = "") -> dict[str, Any]:
        """The operation object of ``route`` for ``method``; ``name`` (``mount:route``) gives the operationId."""
        operation: dict[str, Any] = {"operationId": f"{name.replace(':', '_')}_{method.lower()}" if name else None}
        summary, _, description = inspect.cleandoc(route.endpoint.__doc__ or "").partition("\n\n")
        if summary:
            operation["summary"] = " ".join(summary.split())
        if description:
            operation["description"] = description
        if operation["operationId"] is None:
            del operation["operationId"]
        parameters = [self.parameter(field) for field in route.plan.fields if field.location not in ("body", "form")]
        if parameters:
            operation["parameters"] = parameters
        body = self.request_body(route.plan.fields)
        if body is None and route.body is not None:
            body = {"required": True, "content": {"application/json": {"schema": self.schema_of(route.body)}}}
        if body is not None:
            operation["requestBody"] = body
        operation["responses"] = {"200": self.response(route.return_annotation)}
        return operation

    def parameter(self, field: Field) -> dict[str, Any]:
        """A parameter object."""
        schema = self.schema_of(field.annotation)
        if not field.required and field.default is not None:
            schema = {**schema, "default": field.default}
        parameter: dict[str, Any] = {"name": field.name, "in": field.location, "required": field.required}
        if field.description:
            parameter["description"] = field.description
        parameter["schema"] = schema
        return parameter

    def request_body(self, fields: list[Field]) -> dict[str, Any] | None:
        """The request body object: a JSON model, or a multipart form of uploads; ``None`` when there is no body."""
        for field in fields:
            if field.location == "body":
                content = {"application/json": {"schema": self.schema_of(field.annotation)}}
                return {"required": field.required, "content": content}
        uploads = [field for field in fields if field.location == "form"]
        if not uploads:
            return None
        form: dict[str, Any] = {"type": "object"}
        if not any(field.annotation is FormData for field in uploads):
            form["properties"] = {field.name: {"type": "string", "format": "binary"} for field in uploads}
            form["required"] = [field.name for field in uploads if field.required]
        return {"required": True, "content": {"multipart/form-data": {"schema": form}}}

    def response(self, annotation: Any) -> dict[str, Any]:
        """The 200 response object for a return annotation.

        In a union, ``Response`` members are responses the endpoint builds itself (an error, a redirect): the other
        members describe the body.
        """
        if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
            bodies = [member for member in typing.get_args(annotation) if not _is_response(member)]
            annotation = functools.reduce(operator.or_, bodies) if bodies else Response
        if _is_response(annotation):
            media_type = annotation.media_type or "application/octet-stream"
            return {"description": "Successful response", "content": {media_type: {}}}
        schema = {} if annotation is None else self.schema_of(annotation)
        return {"description": "Successful response", "content": {"application/json": {"schema": schema}}}

    def build(self, router: Router) -> dict[str, Any]:
        """The whole document."""
        paths: dict[str, dict[str, Any]] = {}
        for path, name, route in _routes(router, "", ""):
            item = paths.setdefault(_CONVERTER.sub(r"{\1}", path), {})
            for method in route.methods:
                if method != "HEAD":
                    # OpenAPI 3.1 names eight methods; others (QUERY, custom ones) go under an `x-` extension.
                    key = method.lower() if method in _OPENAPI_METHODS else f"x-{method.lower()}"
                    item[key] = self.operation(route, method, name)
        document: dict[str, Any] = {"openapi": "3.1.0", "info": self.info, "paths": paths}
        if self.schemas:
            document["components"] = {"schemas": dict(sorted(self.schemas.items()))}
        return document


def openapi_schema(router: Router, info: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI 3.1 document describing ``router``'s routes.

    Args:
        router: The application's router.
        info: The ``info`` object.
    """
    return OpenAPI(info).build(router)
