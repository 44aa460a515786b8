"""Entry point of the ``flama`` command.

``flama serve --model file=PATH,url=/,name=NAME [--model ...]`` builds an application serving every model given
(predictive models and language models alike, through ``app.models``), with ``/health`` and ``/metrics``, and
serves it with uvicorn.
"""

import importlib
import json
import logging
import pathlib
from collections.abc import Sequence
from typing import Any

import click

__all__ = ["JSONLogFormatter", "ModelOption", "build_app", "main", "parse_model"]

PORTIONS = ("core", "http", "middleware", "models", "llm", "mcp", "cli", "chat_ui")

_MODEL_KEYS = ("file", "url", "name")


def installed_versions() -> dict[str, str]:
    """Return the version of every installed portion of the ``flama`` namespace."""
    versions: dict[str, str] = {}
    for portion in PORTIONS:
        try:
            module = importlib.import_module(f"flama.{portion}")
        except ImportError:
            continue
        versions[f"flama.{portion}"] = str(getattr(module, "__version__", "unknown"))
    return versions


class ModelOption(click.ParamType[dict[str, str], str]):
    """A ``--model`` value: ``file=PATH,url=/path/,name=NAME`` (``url`` and ``name`` optional)."""

    name = "model"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> dict[str, str]:
        """Parse the value, or fail with a usage error (exit status 2) saying what is wrong."""
        if isinstance(value, dict):
            return value
        try:
            return parse_model(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def parse_model(value: str) -> dict[str, str]:
    """Parse ``file=PATH,url=/path/,name=NAME`` into its fields.

    ``url`` defaults to ``/<name>/`` and ``name`` to the file's stem.

    Raises:
        ValueError: A part without ``=``, an unknown or repeated key, a missing ``file``, or a ``url`` not
            starting with ``/``.
    """
    fields: dict[str, str] = {}
    for part in value.split(","):
        key, sep, item = part.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"expected key=value pairs separated by commas (file=PATH,url=/,name=NAME), got {part!r}")
        if key not in _MODEL_KEYS:
            raise ValueError(f"unknown key {key!r}: use {', '.join(_MODEL_KEYS)}")
        if key in fields:
            raise ValueError(f"{key!r} is given twice")
        fields[key] = item.strip()
    if not fields.get("file"):
        raise ValueError("file=PATH is required")
    fields.setdefault("name", pathlib.Path(fields["file"]).stem)
    fields.setdefault("url", f"/{fields['name']}/")
    if not fields["url"].startswith("/"):
        raise ValueError(f"url must start with '/', got {fields['url']!r}")
    if not fields["url"].endswith("/"):
        fields["url"] += "/"
    return fields


# Attributes every log record has; anything else was passed in ``extra`` and is logged as a field of its own.
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JSONLogFormatter(logging.Formatter):
    """One JSON object per log record: time, level, logger, message, and every ``extra`` field (``request_id``...)."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        data: dict[str, Any] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update((key, value) for key, value in vars(record).items() if key not in _RECORD_FIELDS)
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str, ensure_ascii=False)


def _configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JSONLogFormatter())
    logger = logging.getLogger("flama")
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False


def build_app(
    models: Sequence[dict[str, str]], *, backend: str | None = None, api_keys: Sequence[str] = (), title: str = "Flama"
) -> Any:
    """An application serving ``models`` (each from :func:`parse_model`), with ``/health`` and ``/metrics``.

    Every request gets a correlation id (``X-Request-ID``, kept when the client sends a valid one), which the logs of
    its generation carry as ``request_id``.
    """
    from flama.http import Flama
    from flama.llm.auth import APIKeyMiddleware
    from flama.llm.metrics import MetricsModule
    from flama.middleware import CorrelationIdMiddleware
    from flama.models.module import ModelsModule

    app = Flama(openapi={"title": title}, modules=[MetricsModule()])
    app.add_middleware(CorrelationIdMiddleware)
    if api_keys:
        app.add_middleware(APIKeyMiddleware, keys=api_keys)
    registry = app.modules.get("models")
    assert isinstance(registry, ModelsModule)  # registered by flama-models' entry point
    for model in models:
        options: dict[str, Any] = {} if backend is None else {"backend": backend}
        registry.add_model(path=model["url"], model=pathlib.Path(model["file"]), name=model["name"], **options)
    return app


@click.group(invoke_without_command=True)
@click.option("--version", is_flag=True, help="Print the version of each installed portion.")
@click.pass_context
def cli(ctx: click.Context, version: bool) -> None:
    """Serve models as production APIs."""
    if version:
        for name, number in installed_versions().items():
            click.echo(f"{name} {number}")
    elif ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


@cli.command()
@click.option(
    "--model",
    "models",
    type=ModelOption(),
    multiple=True,
    required=True,
    help="A model to serve: file=PATH,url=/path/,name=NAME (repeat for more).",
)
@click.option("--server-host", default="127.0.0.1", show_default=True, help="The interface to bind.")
@click.option("--server-port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="The port.")
@click.option("--backend", default=None, help="Force the LLM backend (mlx, transformers, vllm).")
@click.option("--api-key", "api_keys", multiple=True, envvar="FLAMA_API_KEYS", help="Require this API key.")
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    help="The log level of uvicorn and Flama.",
)
def serve(
    models: tuple[dict[str, str], ...],
    server_host: str,
    server_port: int,
    backend: str | None,
    api_keys: tuple[str, ...],
    log_level: str,
) -> None:
    """Serve models with uvicorn; /health answers 200 once every model is loaded.

    Flama's own logs (``flama.*``) go to stderr as JSON lines, at ``--log-level``.
    """
    for model in models:
        if not pathlib.Path(model["file"]).is_file():
            raise click.ClickException(f"model file not found: {model['file']}")
    import uvicorn

    _configure_logging(log_level)
    app = build_app(models, backend=backend, api_keys=api_keys)
    uvicorn.run(app, host=server_host, port=server_port, log_level=log_level)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``flama`` command and return its exit status."""
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="flama", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        click.echo("Aborted!", err=True)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
