"""``--model`` specs and the application built from them.

A spec is a path (``assistant.flm``), ``key=value`` pairs separated by commas
(``file=assistant.flm,url=/llm/,name=assistant,params=temperature=0:max_tokens=64,serving=native``), or ``@FILE``: the
whole spec from a JSON, YAML or TOML mapping with the same keys (``params`` an object, ``serving`` a list).

``file``, ``url`` (default ``/<name>/``) and ``name`` (default: the file's stem) place the model. Every other key is an
option of ``app.models.add_model`` for the model's family, checked against the resource class that serves it: for a
language model ``backend``, ``decoder``, ``serving``, ``params``, ``api_keys``, ``max_running``, ``max_queued``,
``keep_streams``, ``resume_window``, ``heartbeat``...; for a predictive model ``workers`` and ``max_queued``. Inline,
lists are colon-separated (``serving=native:openai``, ``api_keys=k1:k2``), ``params`` is ``k=v:k=v``, and every other
value is read as JSON when it parses (``max_running=8``, ``max_queued=null``) and as text otherwise.
"""

import dataclasses
import inspect
import json
import pathlib
import sys
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Final

import yaml  # type: ignore[import-untyped,unused-ignore]  # no stubs in the dev group
from flama.cli.options import AppOptions

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

__all__ = [
    "ModelSpec",
    "SpecError",
    "build_app",
    "load_mapping",
    "parse_params",
    "parse_spec",
    "resource_options",
    "spec_from_mapping",
]

_PLACEMENT = ("file", "url", "name")
_LISTS = ("serving", "api_keys", "trusted_types")
# Flama 2.x's decoder keys: "auto" is what Flama does anyway; a named one is a decoder spec here.
_DECODER_ALIASES = ("channel_scanner", "tool_scanner", "tool_parser")
# Keyword arguments of a resource that the application sets, never a spec.
_RESERVED = frozenset({"self", "path", "name", "source", "limiter", "limits"})


class SpecError(ValueError):
    """A ``--model`` spec that cannot be used; the message says why."""


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """Where a model is served and with which options.

    Attributes:
        file: The ``.flm`` file.
        url: Where its routes are mounted, ending with ``/``.
        name: Its name.
        options: Keyword arguments of ``app.models.add_model`` (checked by :func:`resource_options`).
    """

    file: str
    url: str
    name: str
    options: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The spec as a mapping that :func:`parse_spec` reads back (``@FILE`` form, config files)."""
        return {"file": self.file, "url": self.url, "name": self.name, **self.options}


def _json_or_text(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def parse_params(items: Sequence[str]) -> dict[str, Any]:
    """Read ``key=value`` items into a dict, values decoded as JSON when they parse (``0.7``, ``true``, ``[1]``).

    Raises:
        SpecError: An item without ``=`` or with an empty key.
    """
    params: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SpecError(f"expected key=value, got {item!r}")
        params[key.strip()] = _json_or_text(value.strip())
    return params


def load_mapping(path: str) -> dict[str, Any]:
    """Read a JSON, YAML or TOML file holding a mapping.

    Raises:
        SpecError: The file is missing, unreadable, malformed or not a mapping.
    """
    file = pathlib.Path(path)
    suffix = file.suffix.lower()
    if suffix not in (".json", ".yaml", ".yml", ".toml"):
        raise SpecError(f"expected a .json, .yaml, .yml or .toml file, got {path!r}")
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"cannot read {path!r}: {exc.strerror or exc}") from None
    try:
        if suffix == ".json":
            data = json.loads(text)
        elif suffix == ".toml":
            data = tomllib.loads(text)
        else:
            data = yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise SpecError(f"{path!r} is not valid {suffix[1:].upper()}: {exc}") from None
    if not isinstance(data, dict):
        raise SpecError(f"{path!r} must hold a mapping")
    return data


def _split_pairs(value: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for part in value.split(","):
        key, sep, item = part.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise SpecError(f"expected key=value pairs separated by commas (file=PATH,url=/,name=NAME), got {part!r}")
        if key in fields:
            raise SpecError(f"{key!r} is given twice")
        fields[key] = item.strip()
    return fields


def _option(key: str, value: Any) -> Any:
    if key == "params":
        if isinstance(value, Mapping):
            return dict(value)
        if not isinstance(value, str) or not value:
            raise SpecError("params must be k=v pairs separated by colons (params=temperature=0.7:max_tokens=64)")
        return parse_params([item for item in value.split(":") if item])
    if key in _LISTS:
        items = value.split(":") if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(item, str) and item for item in items):
            raise SpecError(f"{key} must be names separated by colons or a list of names, got {value!r}")
        return items
    return _json_or_text(value) if isinstance(value, str) else value


def spec_from_mapping(data: Mapping[str, Any]) -> ModelSpec:
    """Build a spec from its keys (inline values as text, or a file's typed values).

    Raises:
        SpecError: No ``file``, a ``url`` not starting with ``/``, or a malformed value.
    """
    fields = {str(key).replace("-", "_"): value for key, value in data.items()}
    file = fields.pop("file", None)
    if not isinstance(file, str) or not file:
        raise SpecError("file=PATH is required")
    name = str(fields.pop("name", None) or pathlib.Path(file).stem)
    url = str(fields.pop("url", None) or f"/{name}/")
    if not url.startswith("/"):
        raise SpecError(f"url must start with '/', got {url!r}")
    if not url.endswith("/"):
        url += "/"
    options: dict[str, Any] = {}
    for key, value in fields.items():
        if key in _DECODER_ALIASES:
            if value not in (None, "auto"):
                raise SpecError(f"{key}={value} is not supported: pick the model's decoder with decoder=NAME")
            continue
        options[key] = _option(key, value)
    return ModelSpec(file=file, url=url, name=name, options=options)


def parse_spec(value: str) -> ModelSpec:
    """Read a ``--model`` value: a path, ``key=value`` pairs, or ``@FILE``.

    Raises:
        SpecError: The value cannot be read; the message says why.
    """
    if value.startswith("@"):
        return spec_from_mapping(load_mapping(value[1:]))
    if "=" not in value:
        return spec_from_mapping({"file": value})
    return spec_from_mapping(_split_pairs(value))


def _inits(cls: type) -> Iterator[Callable[..., None]]:
    """The ``__init__`` methods a model's options go to: ``cls``'s, and its bases' while ``**options`` pass them on."""
    for klass in cls.__mro__[:-1]:  # object's own (*args, **kwargs) take nothing
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        yield init
        if not any(p.kind is p.VAR_KEYWORD for p in inspect.signature(init).parameters.values()):
            break


def _accepted(cls: type) -> set[str]:
    """The options of a model served by the resource class ``cls``.

    They are the keyword arguments of ``cls`` (and of the classes its ``**options`` go to), and ``trusted``, which
    ``app.models.add_model`` takes for every family.
    """
    names = {"trusted"}
    for init in _inits(cls):
        parameters = inspect.signature(init).parameters.values()
        names |= {p.name for p in parameters if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}
    return names - _RESERVED


# What a spec value of each plain type reads as, for the error that names it.
_PLAIN: Final[dict[Any, str]] = {
    bool: "true or false",
    int: "an integer",
    float: "a number",
    str: "text",
    type(None): "null",
}


def _is(value: Any, kind: Any) -> bool:
    if isinstance(value, bool):  # a bool is an int to isinstance, never to a spec
        return kind is bool
    return isinstance(value, float if kind is float else kind) or (kind is float and isinstance(value, int))


def _check_values(cls: type, options: Mapping[str, Any], model: str) -> None:
    """Each option whose annotation is made of plain types (``int | None``...) holds one of them.

    Raises:
        SpecError: Naming the option, what it takes and what it got.
    """
    hints: dict[str, Any] = {}
    for init in _inits(cls):
        try:
            hints = {**typing.get_type_hints(init), **hints}
        except NameError:  # an annotation naming what only type checkers import: that class's own are not checked
            continue
    for key, value in options.items():
        hint = hints.get(key)
        kinds = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
        if hint is None or not all(kind in _PLAIN for kind in kinds) or any(_is(value, kind) for kind in kinds):
            continue
        wanted = " or ".join(_PLAIN[kind] for kind in kinds)
        raise SpecError(f"model {model!r}: {key} must be {wanted}, got {value!r}")


def resource_options(spec: ModelSpec) -> tuple[str, dict[str, Any]]:
    """The model's family and the options its resource class takes, checked against that class.

    Raises:
        SpecError: The file is missing or not a ``.flm`` file, its family has no resource installed, or an option
            is not one its resource takes or holds a value of another type than it takes.
    """
    from flama.models import ModelFileError, read_meta
    from flama.models.module import resource_class

    file = pathlib.Path(spec.file)
    if not file.is_file():
        raise SpecError(f"model file not found: {spec.file}")
    try:
        family = read_meta(file).family
        cls = resource_class(family)
    except (ModelFileError, ValueError) as exc:
        raise SpecError(f"{spec.file}: {exc}") from None
    accepted = _accepted(cls)
    unknown = sorted(set(spec.options) - accepted)
    if unknown:
        raise SpecError(
            f"model {spec.name!r} ({family}) has no option {unknown[0]!r}; its options: {', '.join(sorted(accepted))}"
        )
    _check_values(cls, spec.options, spec.name)
    return family, dict(spec.options)


def build_app(
    models: Sequence[ModelSpec], app: AppOptions | None = None, *, api_keys: Sequence[str] = (), **defaults: Any
) -> Any:
    """An application serving ``models``, with ``/health``, ``/metrics``, request ids, the schema and the docs.

    Args:
        models: What to serve.
        app: The application's settings.
        api_keys: Keys required (``Authorization: Bearer`` or ``x-api-key``) on every route but ``/health``,
            ``/metrics`` and the docs.
        defaults: Options given to every model whose resource takes them and whose spec does not set them
            (``backend``, ``api_keys`` from the command line).

    Raises:
        SpecError: A model cannot be served (see :func:`resource_options`).
    """
    from flama.http import Flama
    from flama.middleware import APIKeyMiddleware, CorrelationIdMiddleware
    from flama.models.module import ModelsModule, resource_class

    app = app or AppOptions()
    info = {"title": app.title, "version": app.version, "description": app.description}
    # Health and metrics (``app.health``, ``app.metrics``) come with every application, from flama-http.
    flama = Flama(openapi=info, schema=app.schema, docs=app.docs, debug=app.debug)
    flama.add_middleware(CorrelationIdMiddleware)
    if api_keys:
        flama.add_middleware(APIKeyMiddleware, keys=api_keys)
    registry = flama.modules.get("models")
    assert isinstance(registry, ModelsModule)  # registered by flama-models' entry point
    # A spec's keys are data, checked against its family's resource class here; the typed overloads are for code.
    add_model: Callable[..., Any] = registry.add_model
    for spec in models:
        family, options = resource_options(spec)
        accepted = _accepted(resource_class(family))
        for key, value in defaults.items():
            if value is not None and key in accepted:
                options.setdefault(key, value)
        try:
            add_model(path=spec.url, model=pathlib.Path(spec.file), name=spec.name, family=family, **options)
        except (TypeError, ValueError) as exc:
            raise SpecError(f"model {spec.name!r}: {exc}") from None
    return flama
