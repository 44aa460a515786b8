"""The ``flama upgrade`` command."""

import click
from flama.cli.options import ENV_SETTINGS
from flama.cli.upgrade.runner import UpgradeError, operations_for, upgrade_paths

__all__ = ["command"]


def _ids(value: str | None) -> set[str]:
    return {item.strip() for item in (value or "").split(",") if item.strip()}


@click.command(name="upgrade", context_settings=ENV_SETTINGS)
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--diff/--write", "diff", default=True, help="Print a diff (default) or rewrite the files.")
@click.option("--to", "target", default=None, metavar="VERSION", help="Target version (default: the latest).")
@click.option("--from", "source", default=None, metavar="VERSION", help="Current version: only later migrations apply.")
@click.option("--select", default=None, metavar="IDS", help="Comma-separated operation ids: only these.")
@click.option("--skip", default=None, metavar="IDS", help="Comma-separated operation ids to leave out.")
@click.option("--list", "list_operations", is_flag=True, help="List the operations and their ids, then exit.")
def command(
    paths: tuple[str, ...],
    diff: bool,
    target: str | None,
    source: str | None,
    select: str | None,
    skip: str | None,
    list_operations: bool,
) -> int:
    """Upgrade a Flama 1.x code base to this layout.

    Rewrites imports and renamed symbols in the Python files under PATHS (folders are searched
    recursively). By default prints a unified diff and exits with status 1 when changes are
    pending; --write rewrites the files. Imports of symbols with no automatic replacement get a
    "# flama-upgrade:" comment and are listed as manual follow-ups. Comments and formatting are
    kept.

    \b
    Examples:
      flama upgrade src/
      flama upgrade --write src/ tests/
      flama upgrade --to 2.0 --skip move-module:flama.asgi src/
    """  # noqa: D301 - click's \b keeps the examples' lines as written
    try:
        operations = operations_for(target, _ids(select), _ids(skip), source)
    except UpgradeError as exc:
        raise click.UsageError(str(exc)) from None
    if list_operations:
        for operation in operations:
            click.echo(operation.id)
        return 0
    report = upgrade_paths(paths, operations, write=not diff)
    for result in report.failed:
        click.echo(f"{result.path}: not upgraded: {result.error}", err=True)
    for result in report.changed:
        if diff:
            click.echo(result.diff(), nl=False)
    todos = [(result.path, todo) for result in report.files for todo in result.todos]
    if todos:
        click.echo("Manual follow-ups:", err=True)
        for path, todo in todos:
            click.echo(f"  {path}:{todo.line}: [{todo.operation}] {todo.note}", err=True)
    verb = "would change" if diff else "changed"
    click.echo(f"{len(report.changed)} file(s) {verb}, {len(report.files)} checked.", err=True)
    if report.failed:
        return 1
    return 1 if diff and report.changed else 0
