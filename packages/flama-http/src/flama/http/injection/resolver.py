"""Resolution plans: an endpoint's signature read once, at registration, into steps that fetch each argument.

Per request, a plan runs its steps against a :class:`~flama.http.injection.components.Context`: a lookup and a
call each, with no signature inspection. Parameters are recognised by their annotation and name:

- ``Request``, ``WebSocket`` or ``HTTPConnection``: the connection itself;
- a name that is a path parameter of the route: its value, converted by the route's converter and then to the hint;
- a pydantic model: the JSON body, validated (400 naming the fields at fault, also when the body is not JSON);
- ``FormData``: the whole urlencoded or multipart form; ``UploadedFile``: the uploaded file of that field;
- a type a registered :class:`~flama.http.injection.components.Component` provides: that component's value;
- anything else: a query value (or a header or cookie with ``Annotated[T, Header()]`` / ``Cookie()``), coerced to
  the hint by pydantic (``int``, ``float``, ``bool``, ``UUID``, ``Decimal``, dates, ``Optional``, ``list[T]`` for a
  repeated key). A parameter with no value and no default is an error unless it is ``Optional``.

Invalid input answers 400 (:class:`~flama.http.exceptions.ValidationError`, as Flama 2.x) with ``detail`` mapping
each field at fault (its dotted path inside the body, or the parameter's name) to its messages.
"""

import inspect
import sys
import types
import typing
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Union

import pydantic
from flama.core.forms import FormData, UploadedFile
from flama.http.exceptions import ValidationError
from flama.http.injection.components import Component, Context, Query, Source, is_class
from flama.http.requests import HTTPConnection, Request

__all__ = ["Field", "Plan", "build_plan"]

Step = Callable[[Context], Any]
AsyncStep = Callable[[Context], Awaitable[Any]]
_MISSING: Any = inspect.Parameter.empty


class _FieldError(Exception):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class Field:
    """A value a plan reads from the request, kept for the OpenAPI schema.

    Attributes:
        name: The name on the wire (query key, header name, path parameter, form field).
        location: ``path``, ``query``, ``header``, ``cookie``, ``body`` or ``form``.
        annotation: The type hint.
        required: Whether a request must carry it.
        default: The default value, when there is one.
        description: From the marker, when given.
    """

    name: str
    location: str
    annotation: Any
    required: bool
    default: Any = None
    description: str | None = None


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(args) < len(typing.get_args(annotation)):
            return (args[0] if len(args) == 1 else Union[tuple(args)]), True  # noqa: UP007
    return annotation, False


def _type_hints(function: Callable[..., Any]) -> dict[str, Any]:
    """The function's resolved annotations, ``Annotated`` markers kept.

    Python 3.10's ``get_type_hints`` wraps the annotation of a parameter defaulting to ``None`` in ``Optional``,
    which hides an ``Annotated[T | None, Header()]`` inside a union; that wrapping is undone here.
    """
    hints = typing.get_type_hints(function, include_extras=True)
    if sys.version_info < (3, 11):
        for name, parameter in inspect.signature(function).parameters.items():
            hint = hints.get(name)
            if parameter.default is None and typing.get_origin(hint) is Union:
                marked = [arg for arg in typing.get_args(hint) if typing.get_origin(arg) is Annotated]
                if marked:
                    hints[name] = marked[0]
    return hints


def _is_model(annotation: Any) -> bool:
    return is_class(annotation) and issubclass(annotation, pydantic.BaseModel)


def _errors(exc: pydantic.ValidationError, prefix: Sequence[str | int]) -> list[dict[str, Any]]:
    return [
        {"loc": [*prefix, *error["loc"]], "msg": error["msg"], "type": error["type"]}
        for error in exc.errors(include_url=False)
    ]


def _by_field(errors: list[dict[str, Any]]) -> dict[str, list[str]]:
    """``{"loc", "msg"}`` errors as messages by field: the location's first part (``body``, ``query``...) is dropped."""
    fields: dict[str, list[str]] = {}
    for error in errors:
        loc = error["loc"]
        field = ".".join(str(part) for part in loc[1:]) or str(loc[0])
        fields.setdefault(field, []).append(error["msg"])
    return fields


_FINITE = pydantic.ConfigDict(allow_inf_nan=False)


def _adapter(annotation: Any) -> "pydantic.TypeAdapter[Any]":
    """A validator for a wire value: ``inf``, ``nan`` and ``1e400`` are not numbers a JSON answer could carry back."""
    try:
        return pydantic.TypeAdapter(annotation, config=_FINITE)
    except pydantic.PydanticUserError:  # a model (or dataclass) carries its own config
        return pydantic.TypeAdapter(annotation)


def _coercer(annotation: Any, loc: list[str | int]) -> Callable[[Any], Any] | None:
    """A function turning a wire value into ``annotation``, or None when the value is already right (``str``)."""
    if annotation is str or annotation is Any or annotation is _MISSING:
        return None
    try:
        adapter: pydantic.TypeAdapter[Any] = _adapter(annotation)
    except pydantic.PydanticSchemaGenerationError:
        raise TypeError(
            f"cannot inject {loc[-1]!r}: no component provides {annotation!r} and it is not a value type"
        ) from None
    validate = adapter.validate_python

    def coerce(value: Any) -> Any:
        try:
            return validate(value)
        except pydantic.ValidationError as exc:
            raise _FieldError(_errors(exc, loc)) from None

    return coerce


class Plan:
    """How to call one endpoint (or one component's ``resolve``): argument steps built once, run per request.

    Args:
        function: The endpoint or ``resolve`` method.
        path_params: The route's path parameter names.
        components: The components available to this endpoint.
    """

    __slots__ = ("async_steps", "fields", "function", "has_steps", "is_async", "models", "sync_steps")

    def __init__(
        self, function: Callable[..., Any], path_params: Sequence[str], components: Sequence[Component]
    ) -> None:
        self.function = function
        self.is_async = inspect.iscoroutinefunction(function)
        self.sync_steps: list[tuple[str, Step]] = []
        self.async_steps: list[tuple[str, AsyncStep]] = []
        self.fields: list[Field] = []
        self.models: list[Any] = []
        hints = _type_hints(function)
        for parameter in inspect.signature(function).parameters.values():
            if parameter.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
                continue
            annotation = hints.get(parameter.name, _MISSING)
            self._add(parameter, annotation, path_params, components)
        self.has_steps = bool(self.sync_steps or self.async_steps)

    def _add(
        self, parameter: inspect.Parameter, annotation: Any, path_params: Sequence[str], components: Sequence[Component]
    ) -> None:
        name, default = parameter.name, parameter.default
        source: Source | None = None
        if typing.get_origin(annotation) is Annotated:
            annotation, *extras = typing.get_args(annotation)
            source = next((extra for extra in extras if isinstance(extra, Source)), None)
        if is_class(annotation) and issubclass(annotation, HTTPConnection):
            self.sync_steps.append((name, _connection))
            return
        if source is None and name in path_params:
            self._add_path(name, annotation)
            return
        if source is None:
            for component in components:
                if component.can_handle(annotation):
                    self._add_component(name, component, path_params, components)
                    return
        inner, optional = _unwrap_optional(annotation)
        if source is None and _is_model(inner):
            self._add_body(name, inner, default, optional)
        elif source is None and inner is FormData:
            self.async_steps.append((name, _form))
            self.fields.append(Field("*", "form", FormData, True))
        elif source is None and inner is UploadedFile:
            self._add_upload(name, optional or default is not _MISSING, default)
        else:
            self._add_value(name, annotation, default, source or Query())

    def _add_path(self, name: str, annotation: Any) -> None:
        coerce = _coercer(annotation, ["path", name])
        target = annotation if isinstance(annotation, type) else None
        self.fields.append(Field(name, "path", annotation, True))

        def path_value(ctx: Context) -> Any:
            value = ctx.scope["path_params"][name]
            if coerce is None or type(value) is target:
                return value
            return coerce(value)

        self.sync_steps.append((name, path_value))

    def _add_value(self, name: str, annotation: Any, default: Any, source: Source) -> None:
        wire = source.wire_name(name)
        inner, optional = _unwrap_optional(annotation)
        many = typing.get_origin(inner) in (list, tuple, set, frozenset, Sequence)
        required = default is _MISSING and not optional
        fallback = None if default is _MISSING else default
        loc: list[str | int] = [source.location, wire]
        coerce = _coercer(annotation, loc)
        self.fields.append(Field(wire, source.location, annotation, required, fallback, source.description))
        if source.location == "header":
            getter: Callable[[HTTPConnection], Any] = _header_getter(wire, many)
        elif source.location == "cookie":
            getter = _cookie_getter(wire)
        else:
            getter = _query_getter(wire, many)

        def value(ctx: Context) -> Any:
            raw = getter(ctx.connection)
            if raw is None or (many and not raw):
                if required:
                    raise _FieldError([{"loc": loc, "msg": "Field required", "type": "missing"}])
                return fallback
            return raw if coerce is None else coerce(raw)

        self.sync_steps.append((name, value))

    def _add_body(self, name: str, model: Any, default: Any, optional: bool) -> None:
        adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(model)
        required = default is _MISSING and not optional
        self.fields.append(Field(name, "body", model, required))
        self.models.append(model)

        async def body(ctx: Context) -> Any:
            request = ctx.connection
            assert isinstance(request, Request)
            if not required and not await request.body():
                return None if default is _MISSING else default
            data = await request.json()
            try:
                return adapter.validate_python(data)
            except pydantic.ValidationError as exc:
                raise ValidationError(_by_field(_errors(exc, ["body"]))) from None

        self.async_steps.append((name, body))

    def _add_upload(self, name: str, optional: bool, default: Any) -> None:
        self.fields.append(Field(name, "form", UploadedFile, not optional))

        async def upload(ctx: Context) -> Any:
            form = await _form(ctx)
            value = form.get(name)
            if isinstance(value, UploadedFile):
                return value
            if optional and value is None:
                return None if default is _MISSING else default
            message = "Field required" if value is None else "Expected a file upload"
            raise ValidationError.of(name, message)

        self.async_steps.append((name, upload))

    def _add_component(
        self, name: str, component: Component, path_params: Sequence[str], components: Sequence[Component]
    ) -> None:
        others = [other for other in components if other is not component]
        plan = Plan(type(component).resolve.__get__(component), path_params, others)
        self.fields.extend(plan.fields)
        self.models.extend(plan.models)
        key = id(component)

        async def resolve(ctx: Context) -> Any:
            cache = ctx.cache
            if key in cache:
                return cache[key]
            value = await plan.run(ctx)
            cache[key] = value
            return value

        self.async_steps.append((name, resolve))

    async def arguments(self, ctx: Context) -> dict[str, Any]:
        """The keyword arguments for this request.

        Raises:
            ValidationError: 400 naming every invalid or missing parameter, or the body's fields at fault.
        """
        kwargs: dict[str, Any] = {}
        errors: list[dict[str, Any]] | None = None
        for name, step in self.sync_steps:
            try:
                kwargs[name] = step(ctx)
            except _FieldError as exc:
                errors = exc.errors if errors is None else [*errors, *exc.errors]
        if errors is not None:
            raise ValidationError(_by_field(errors))
        for name, async_step in self.async_steps:
            kwargs[name] = await async_step(ctx)
        return kwargs

    async def run(self, ctx: Context) -> Any:
        """Resolve the arguments and call the function (a sync one directly: components are expected to be quick)."""
        kwargs = await self.arguments(ctx) if self.has_steps else {}
        result = self.function(**kwargs)
        return await result if self.is_async else result


def _connection(ctx: Context) -> HTTPConnection:
    return ctx.connection


async def _form(ctx: Context) -> FormData:
    request = ctx.connection
    if not isinstance(request, Request):
        raise TypeError("forms are only available on HTTP requests")
    return await request.form()


def _query_getter(wire: str, many: bool) -> Callable[[HTTPConnection], Any]:
    if many:
        return lambda connection: connection.query_params.getlist(wire)
    return lambda connection: connection.query_params.get(wire)


def _header_getter(wire: str, many: bool) -> Callable[[HTTPConnection], Any]:
    if many:
        return lambda connection: connection.headers.getlist(wire)
    return lambda connection: connection.headers.get(wire)


def _cookie_getter(wire: str) -> Callable[[HTTPConnection], Any]:
    return lambda connection: connection.cookies.get(wire)


def build_plan(
    function: Callable[..., Any], path_params: Sequence[str] = (), components: Sequence[Component] = ()
) -> Plan:
    """Read ``function``'s signature into a :class:`Plan`.

    Args:
        function: The endpoint.
        path_params: The names of the route's path parameters.
        components: The application's components, first match wins.

    Raises:
        TypeError: A hint cannot be resolved (``NameError`` from a forward reference included).
    """
    return Plan(function, path_params, components)
