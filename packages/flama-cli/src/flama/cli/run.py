"""``flama run module:app`` and ``flama start flama.json``, as in Flama 2.x."""

import pathlib
from typing import Any

import click
from flama.cli.config import Config, ConfigError, dumps_example
from flama.cli.options import ENV_SETTINGS, server_options
from flama.cli.serve import serve_app, serve_models

__all__ = ["run", "start"]


@click.command(name="run", context_settings=ENV_SETTINGS)
@click.argument("flama-app", envvar="FLAMA_APP")
@server_options
def run(flama_app: str, server: dict[str, Any]) -> None:
    """Run an application of your own.

    FLAMA_APP is the import string of the application: MODULE:ATTRIBUTE, e.g. main:app (with
    --server-factory, ATTRIBUTE is a function returning it). The current directory, or
    --server-app-dir, is where the module is looked for.

    \b
    Examples:
      flama run main:app
      flama run main:app --server-reload --server-port 8080
    """  # noqa: D301 - click's \b keeps the examples' lines as written
    if ":" not in flama_app:
        raise click.BadParameter(f"expected MODULE:ATTRIBUTE, got {flama_app!r}", param_hint="'FLAMA_APP'")
    server.setdefault("app_dir", ".")
    serve_app(flama_app, server)


@click.command(name="start", context_settings=ENV_SETTINGS)
@click.argument("flama-config", envvar="FLAMA_CONFIG", default="flama.json", type=click.Path(dir_okay=False))
@click.option(
    "--create-config",
    type=click.Choice(["simple", "full"], case_sensitive=False),
    help="Write an example config file instead: simple (host and port) or full (every server setting).",
)
def start(flama_config: str, create_config: str | None) -> None:
    """Start an application described by a config file.

    FLAMA_CONFIG (default flama.json; .yaml and .toml work too) has an "app" section (title,
    version, description, schema, docs, debug and models, each with file, url, name and options
    as in flama serve; or the import string of an application) and a "server" section (the
    --server-* options without the prefix).

    \b
    Examples:
      flama start --create-config simple
      flama start flama.json
    """  # noqa: D301 - click's \b keeps the examples' lines as written
    path = pathlib.Path(flama_config)
    if create_config:
        if path.exists():
            raise click.ClickException(f"{path} exists: remove it or name another file")
        if path.suffix.lower() not in (".json", ".yaml", ".yml", ".toml"):
            raise click.ClickException(f"a config file is .json, .yaml, .yml or .toml, got {path}")
        path.write_text(dumps_example(create_config.lower(), path.suffix.lower()), encoding="utf-8")
        click.echo(f"Wrote {path}", err=True)
        return
    try:
        config = Config.load(path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if isinstance(config.app, str):
        serve_app(config.app, {"app_dir": ".", **config.server})
    else:
        serve_models(config.models, config.app, config.server)
