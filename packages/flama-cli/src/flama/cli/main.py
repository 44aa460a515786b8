"""The ``flama`` command: its group, ``--version``, and the entry point.

Each subcommand lives in a module of its own and is imported only when it runs (or when the help lists it), so
``flama serve`` never pays for libcst and ``flama upgrade`` never pays for the model stacks.
"""

import importlib
import importlib.metadata
from collections.abc import Sequence
from typing import Any

import click
from flama.cli.options import ENV_SETTINGS

__all__ = ["DISTRIBUTIONS", "cli", "main", "versions"]

DISTRIBUTIONS = (
    "flama-core",
    "flama-http",
    "flama-middleware",
    "flama-models",
    "flama-llm",
    "flama-mcp",
    "flama-cli",
    "flama-chat-ui",
)

# name -> ("module:attribute", one-line help) of each subcommand, in the order the help lists them; the help is here
# so that `flama --help` imports none of them.
_COMMANDS = {
    "get": ("flama.cli.get:command", "Download a model and pack it as a .flm file."),
    "model": ("flama.cli.model:command", "Inspect a model file, or run it once."),
    "serve": ("flama.cli.serve:command", "Serve models as an API."),
    "run": ("flama.cli.run:run", "Run an application of your own (MODULE:APP)."),
    "start": ("flama.cli.run:start", "Start an application described by a config file."),
    "upgrade": ("flama.cli.upgrade.command:command", "Upgrade a Flama 1.x code base to this layout."),
}


def versions() -> dict[str, str | None]:
    """The installed version of the ``flama`` metapackage and of each distribution (``None``: not installed)."""
    found: dict[str, str | None] = {}
    for name in ("flama", *DISTRIBUTIONS):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def _print_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    found = versions()
    click.echo(f"Flama {found.pop('flama') or '(metapackage not installed)'}")
    for name, number in found.items():
        click.echo(f"  {name} {number or 'not installed'}")
    ctx.exit()


class LazyGroup(click.Group):
    """A group whose subcommands are imported when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every subcommand's name, in the order of ``_COMMANDS``."""
        return list(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Import the subcommand ``cmd_name``."""
        if cmd_name not in _COMMANDS:
            return None
        module, _, attribute = _COMMANDS[cmd_name][0].partition(":")
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List the subcommands with their one-line help, without importing them."""
        with formatter.section("Commands"):
            formatter.write_dl([(name, summary) for name, (_, summary) in _COMMANDS.items()])


@click.group(cls=LazyGroup, context_settings=ENV_SETTINGS)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Print the version of Flama and of each of its distributions.",
)
def cli() -> None:
    """Serve predictive models and language models as production APIs.

    \b
    From zero to an API:
      flama get --family llm --source huggingface ORG/MODEL
      echo "What is Flama?" | flama model ORG_MODEL.flm stream
      flama serve --model file=ORG_MODEL.flm,url=/,name=assistant

    Every option can also be set with an environment variable named FLAMA_ and the option's
    name (FLAMA_SERVER_PORT=8080).
    """  # noqa: D301 - click's \b keeps the examples' lines as written


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``flama`` command and return its exit status."""
    try:
        result: Any = cli.main(args=list(argv) if argv is not None else None, prog_name="flama", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        click.echo("Aborted!", err=True)
        return 130
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    raise SystemExit(main())
