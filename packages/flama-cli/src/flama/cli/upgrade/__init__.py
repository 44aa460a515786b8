"""``flama upgrade``: codemods that move a Flama 1.x code base to this layout."""

from flama.cli.upgrade.migrations import MIGRATIONS, Migration
from flama.cli.upgrade.operations import FlagModule, MoveModule, MoveSymbol, Operation, RemoveSymbol, Todo
from flama.cli.upgrade.runner import FileResult, Report, UpgradeError, operations_for, upgrade_paths, upgrade_source

__all__ = [
    "MIGRATIONS",
    "FileResult",
    "FlagModule",
    "Migration",
    "MoveModule",
    "MoveSymbol",
    "Operation",
    "RemoveSymbol",
    "Report",
    "Todo",
    "UpgradeError",
    "operations_for",
    "upgrade_paths",
    "upgrade_source",
]
