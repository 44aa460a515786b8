"""``flama serve``: serve ``.flm`` models as an API, and the server plumbing ``run`` and ``start`` share."""

import json
import os
import signal
from collections.abc import Sequence
from typing import Any

import click
from flama.cli.logs import configure_logging
from flama.cli.options import ENV_SETTINGS, AppOptions, app_options, server_options
from flama.cli.specs import ModelSpec, SpecError, build_app, parse_spec, spec_from_mapping

__all__ = ["SpecType", "app_from_environment", "command", "serve_app", "serve_models"]

# Where the settings of `serve` travel to worker processes (--server-workers) and reloads (--server-reload).
_ENVIRONMENT_KEY = "FLAMA_CLI_SERVE_SETTINGS"


class SpecType(click.ParamType[ModelSpec, str]):
    """A ``--model`` value: a path, ``key=value`` pairs, or ``@FILE``."""

    name = "spec"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> ModelSpec:
        """Parse the value, or fail with a usage error (exit status 2) saying what is wrong."""
        if isinstance(value, ModelSpec):
            return value
        try:
            return parse_spec(str(value))
        except SpecError as exc:
            self.fail(str(exc), param, ctx)


def _base(server: dict[str, Any]) -> str:
    if server.get("uds"):
        return f"http+unix://{server['uds']}"
    scheme = "https" if server.get("ssl_certfile") else "http"
    host = server.get("host", "127.0.0.1")
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}:{server.get('port', 8000)}{server.get('root_path', '')}"


# Where each dialect's client SDK points, relative to the model's path (the Anthropic and Ollama SDKs add the rest).
_CLIENT_BASES = {"native": "", "openai": "openai/v1", "anthropic": "anthropic", "ollama": "ollama"}


def addresses(flama: Any, app: AppOptions, server: dict[str, Any]) -> list[tuple[str, str]]:
    """What the served application offers and where: docs, schema, models, chat pages and dialects' base URLs.

    A dialect's base URL is the one its client SDK takes.
    """
    base = _base(server)
    found: list[tuple[str, str]] = []
    if app.docs:
        found.append(("docs", base + app.docs))
    if app.schema:
        found.append(("schema", base + app.schema))
    registry = flama.modules.get("models")
    for resource in getattr(registry, "resources", {}).values():
        found.append((f"model {resource.name}", base + resource.path))
        if getattr(resource, "chat", None) is not None:
            found.append(("  chat UI", f"{base}{resource.path}chat/"))
        for dialect in getattr(resource, "dialects", ()):
            name = str(getattr(dialect, "name", type(dialect).__name__))
            found.append((f"  {name} API", base + resource.path + _CLIENT_BASES.get(name, f"{name}/")))
    return found


def _stopped(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def serve_app(target: Any, server: dict[str, Any]) -> None:
    """Serve an application object or import string with uvicorn, with the given ``uvicorn.run`` arguments.

    SIGTERM shuts the server down gracefully and the process exits with status 0 (uvicorn raises the signal again
    once it has stopped, which would otherwise end the process with the signal's status).
    """
    from flama.http import run
    from flama.http.server import ServerLimits

    signal.signal(signal.SIGTERM, _stopped)
    # A setting left empty (null in a config file) is the server's default.
    options = {key: value for key, value in server.items() if value is not None}
    host = options.pop("host", "127.0.0.1")
    port = options.pop("port", 8000)
    options.setdefault("log_level", "info")
    configure_logging(str(options["log_level"]))
    limits = ServerLimits(header_timeout=options.pop("header_timeout", ServerLimits.header_timeout))
    run(target, server_host=host, server_port=port, limits=limits, **options)


def _settings(models: Sequence[ModelSpec], app: AppOptions, api_keys: Sequence[str], defaults: dict[str, Any]) -> str:
    return json.dumps(
        {
            "models": [spec.to_dict() for spec in models],
            "app": {field: getattr(app, field) for field in AppOptions.__dataclass_fields__},
            "api_keys": list(api_keys),
            "defaults": defaults,
        }
    )


def app_from_environment() -> Any:
    """The application ``serve`` describes in its environment variable: what each worker process builds."""
    settings = json.loads(os.environ[_ENVIRONMENT_KEY])
    models = [spec_from_mapping(spec) for spec in settings["models"]]
    return build_app(models, AppOptions(**settings["app"]), api_keys=settings["api_keys"], **settings["defaults"])


def serve_models(
    models: Sequence[ModelSpec],
    app: AppOptions,
    server: dict[str, Any],
    *,
    api_keys: Sequence[str] = (),
    **defaults: Any,
) -> None:
    """Build the application serving ``models``, print where everything is, and serve it.

    ``defaults`` are options for every model whose resource takes them (``backend``, ``trusted``).

    Raises:
        click.ClickException: A model cannot be served.
    """
    try:
        flama = build_app(models, app, api_keys=api_keys, **defaults)
    except SpecError as exc:
        raise click.ClickException(str(exc)) from None
    width = max(len(label) for label, _ in addresses(flama, app, server)) if models else 0
    for label, url in addresses(flama, app, server):
        click.echo(f"{label:<{width}}  {url}", err=True)
    target: Any = flama
    if (server.get("workers") or 1) > 1 or server.get("reload"):
        # Each worker process (or reloaded server) builds the application again from these settings.
        os.environ[_ENVIRONMENT_KEY] = _settings(models, app, api_keys, defaults)
        target = f"{__name__}:app_from_environment"
        server = {**server, "factory": True}
    serve_app(target, server)


@click.command(name="serve", context_settings=ENV_SETTINGS)
@click.option(
    "--model",
    "models",
    type=SpecType(),
    multiple=True,
    required=True,
    metavar="SPEC",
    help="A model to serve (repeat for more): PATH, "
    "file=PATH,url=/path/,name=NAME[,KEY=VALUE...] or @SPEC.json|yaml|toml.",
)
@click.option("--backend", default=None, help="LLM backend for every model: mlx, transformers or vllm.")
@click.option(
    "--api-key",
    "api_keys",
    multiple=True,
    envvar=["FLAMA_API_KEY", "FLAMA_API_KEYS"],
    help="Require this API key on every route but /health, /metrics and the docs (repeatable).",
)
@click.option(
    "--trust",
    is_flag=True,
    default=None,
    help="Let every model file's payload run code as it loads (pickle, TorchScript): only for files you trust.",
)
@app_options
@server_options
def command(
    models: tuple[ModelSpec, ...],
    backend: str | None,
    api_keys: tuple[str, ...],
    trust: bool | None,
    app: AppOptions,
    server: dict[str, Any],
) -> None:
    """Serve models as an API.

    Serves every model given with --model (predictive models and language models alike) in one
    application, with /health (503 until every model is loaded), /metrics, the OpenAPI schema
    and the docs. Flama's own logs go to stderr as JSON lines.

    A SPEC is a .flm path, key=value pairs or @FILE. Keys: file, url (default /NAME/), name
    (default: the file's stem), and any option of the model's resource, e.g. for a language
    model params=temperature=0.7:max_tokens=64, serving=native:openai, decoder=NAME,
    backend=mlx, api_keys=K1:K2, max_running=8, max_queued=64, keep_streams=300,
    resume_window=5, heartbeat=15, cache_size=N, cache_bytes=N, delta_interval=0.01,
    prompt_offload_size=16384, prompt_offload_queue=8, max_messages=10000, any_model_name=true,
    chat=false; for a predictive model
    workers=2, max_queued=64, trusted=true, trusted_types=T1:T2. An unknown key is an error
    that lists the model's options.

    \b
    Examples:
      flama serve --model assistant.flm
      flama serve --model file=assistant.flm,url=/,name=assistant
      flama serve --model file=fish.flm,url=/fish/,workers=2 --server-port 8080
      flama serve --model @assistant.yaml --app-title "My API"
    """  # noqa: D301 - click's \b keeps the examples' lines as written
    serve_models(models, app, server, api_keys=api_keys, backend=backend, trusted=trust or None)
