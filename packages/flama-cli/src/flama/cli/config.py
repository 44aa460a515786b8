"""The config file ``flama start`` reads: an ``app`` section (settings and models) and a ``server`` section.

Flama 2.x's ``flama.json`` reads unchanged (its models name their file ``path``); YAML and TOML files work too. Keys
named ``$comment`` are notes for people and are ignored. ``app`` may also be an import string (``"main:app"``) of an
application of your own.
"""

import dataclasses
import inspect
import json
import pathlib
import textwrap
from typing import Any

import yaml  # type: ignore[import-untyped,unused-ignore]  # no stubs in the dev group
from flama.cli.options import SERVER_KEYS, AppOptions
from flama.cli.specs import ModelSpec, SpecError, load_mapping, spec_from_mapping

__all__ = ["COMMENT", "Config", "ConfigError", "example"]

COMMENT = "$comment"


class ConfigError(ValueError):
    """A config file that cannot be used; the message says where and why."""


@dataclasses.dataclass(frozen=True)
class Config:
    """A parsed config file.

    Attributes:
        app: The application's settings, or the import string of an application.
        models: The models to serve (with settings, not an import string).
        server: ``uvicorn.run`` arguments.
    """

    app: AppOptions | str
    models: tuple[ModelSpec, ...]
    server: dict[str, Any]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Config":
        """Check and read a config mapping.

        Raises:
            ConfigError: An unknown section or key, or a malformed model.
        """
        data = _uncommented(data)
        unknown = sorted(set(data) - {"app", "server"})
        if unknown:
            raise ConfigError(f"unknown section {unknown[0]!r}: a config file has 'app' and 'server'")
        server = dict(data.get("server") or {})
        bad = sorted(set(server) - set(SERVER_KEYS))
        if bad:
            raise ConfigError(f"unknown server setting {bad[0]!r}; known: {', '.join(SERVER_KEYS)}")
        app = data.get("app") or {}
        if isinstance(app, str):
            return cls(app, (), server)
        app = dict(app)
        models: list[ModelSpec] = []
        for index, model in enumerate(app.pop("models", None) or []):
            if not isinstance(model, dict):
                raise ConfigError(f"app.models[{index}] must be a mapping")
            model = dict(model)
            if "path" in model and "file" not in model:  # Flama 2.x's name for the file
                model["file"] = model.pop("path")
            try:
                models.append(spec_from_mapping(model))
            except SpecError as exc:
                raise ConfigError(f"app.models[{index}]: {exc}") from None
        try:
            options = AppOptions.from_dict(app)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"app: {exc}") from None
        return cls(options, tuple(models), server)

    @classmethod
    def load(cls, path: str | pathlib.Path) -> "Config":
        """Read a ``.json``, ``.yaml``/``.yml`` or ``.toml`` config file.

        Raises:
            ConfigError: The file cannot be read or used.
        """
        try:
            return cls.from_dict(load_mapping(str(path)))
        except SpecError as exc:
            raise ConfigError(str(exc)) from None


def _uncommented(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _uncommented(item) for key, item in value.items() if key != COMMENT}
    if isinstance(value, list):
        return [_uncommented(item) for item in value]
    return value


def _server_defaults() -> dict[str, Any]:
    import uvicorn
    from flama.http.server import ServerLimits, server_defaults

    parameters = inspect.signature(uvicorn.Config).parameters
    defaults: dict[str, Any] = {}
    safe = server_defaults()
    safe["header_timeout"] = ServerLimits.header_timeout
    for key in SERVER_KEYS:
        if key == "http":  # left out: Flama's own protocol, which enforces the header timeout, is the default
            continue
        parameter = parameters.get(key)
        default = safe.get(key, None if parameter is None else parameter.default)
        if default is None or isinstance(default, bool):
            defaults[key] = default
        elif isinstance(default, int):  # ssl's protocol is an IntEnum: write its number
            defaults[key] = int(default)
        elif isinstance(default, (str, float)):
            defaults[key] = default
    return defaults


_NOTES = {
    "app": "The API's title, version and description (OpenAPI), where its schema and docs are served, and the "
    "models it serves: file, url, name and any option of the model (see `flama serve --help`).",
    "server": "uvicorn settings, named like `flama serve`'s --server-* options without the prefix.",
}


def example(mode: str) -> dict[str, Any]:
    """An example config: ``simple`` (host and port only) or ``full`` (every server setting with its default)."""
    server = {"host": "127.0.0.1", "port": 8000} if mode == "simple" else _server_defaults()
    app = {field.name: getattr(AppOptions(), field.name) for field in dataclasses.fields(AppOptions)}
    app["models"] = [{"file": "model.flm", "url": "/model/", "name": "model"}]
    return {"app": {COMMENT: _NOTES["app"], **app}, "server": {COMMENT: _NOTES["server"], **server}}


def dumps_example(mode: str, suffix: str) -> str:
    """The example config as the text of a ``.json``, ``.yaml`` or ``.toml`` file, with its notes as comments."""
    data = example(mode)
    if suffix == ".json":
        return json.dumps(data, indent=2) + "\n"
    lines: list[str] = []
    for section, values in data.items():
        note = values.pop(COMMENT)
        lines += textwrap.wrap(note, width=78, initial_indent="# ", subsequent_indent="# ")
        if suffix == ".toml":
            lines.append(f"[{section}]")
            models = values.pop("models", [])
            lines += [f"{key} = {_toml(value)}" for key, value in values.items() if value is not None]
            for model in models:
                lines.append(f"[[{section}.models]]")
                lines += [f"{key} = {_toml(value)}" for key, value in model.items()]
        else:
            lines.append(yaml.safe_dump({section: values}, sort_keys=False).rstrip())
        lines.append("")
    return "\n".join(lines)


def _toml(value: Any) -> str:
    # TOML's strings, booleans and numbers are written as JSON writes them.
    return json.dumps(value)
