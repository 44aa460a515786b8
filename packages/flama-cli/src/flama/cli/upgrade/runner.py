"""Applying migrations to files: pick the operations, rewrite each Python file, report diffs and follow-ups."""

import dataclasses
import difflib
import pathlib
from collections.abc import Iterable, Iterator, Sequence

import libcst as cst
from flama.cli.upgrade.migrations import MIGRATIONS
from flama.cli.upgrade.operations import Operation, Todo, Upgrader

__all__ = ["FileResult", "Report", "UpgradeError", "operations_for", "upgrade_paths", "upgrade_source"]

# Folders never worth rewriting.
_SKIPPED_DIRS = frozenset({".git", ".hg", ".venv", "venv", "__pycache__", "node_modules", ".tox", ".nox", "build"})


class UpgradeError(ValueError):
    """Bad options: an unknown target version or operation id."""


def _version(value: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in value.split("."))
    except ValueError:
        raise UpgradeError(f"a version is numbers separated by dots (2.0), got {value!r}") from None


def operations_for(
    target: str | None = None,
    select: Iterable[str] | None = None,
    skip: Iterable[str] | None = None,
    source: str | None = None,
) -> list[Operation]:
    """The operations of the migrations after ``source`` up to ``target`` (all by default), filtered.

    A code base already at ``source`` or later gets no operations; ``select`` and ``skip`` name operation ids.

    Raises:
        UpgradeError: ``target`` is older than every migration, or an id names no operation.
    """
    migrations = list(MIGRATIONS)
    if target is not None:
        wanted = _version(target)
        migrations = [m for m in migrations if _version(m.target) <= wanted]
        if not migrations:
            known = ", ".join(m.target for m in MIGRATIONS)
            raise UpgradeError(f"no migration leads to {target}: the migrations lead to {known}")
    ids = {op.id for migration in migrations for op in migration.operations}
    if source is not None:
        since = _version(source)
        migrations = [m for m in migrations if _version(m.target) > since]
    operations = [op for migration in migrations for op in migration.operations]
    selected = set(select or ())
    skipped = set(skip or ())
    unknown = sorted((selected | skipped) - ids)
    if unknown:
        raise UpgradeError(f"unknown operation id {unknown[0]!r} (ids look like move-module:flama.asgi)")
    if selected:
        operations = [op for op in operations if op.id in selected]
    return [op for op in operations if op.id not in skipped]


@dataclasses.dataclass(frozen=True)
class FileResult:
    """What upgrading one file gives."""

    path: pathlib.Path
    before: str
    after: str
    todos: tuple[Todo, ...]
    error: str | None = None

    @property
    def changed(self) -> bool:
        """Whether the file's text changes."""
        return self.before != self.after

    def diff(self) -> str:
        """The unified diff of the change (empty when unchanged)."""
        return "".join(
            difflib.unified_diff(
                self.before.splitlines(keepends=True),
                self.after.splitlines(keepends=True),
                fromfile=str(self.path) if self.path.is_absolute() else f"a/{self.path}",
                tofile=str(self.path) if self.path.is_absolute() else f"b/{self.path}",
            )
        )


@dataclasses.dataclass(frozen=True)
class Report:
    """Every file looked at."""

    files: tuple[FileResult, ...]

    @property
    def changed(self) -> list[FileResult]:
        """The files whose text changes."""
        return [result for result in self.files if result.changed]

    @property
    def failed(self) -> list[FileResult]:
        """The files that could not be parsed or read."""
        return [result for result in self.files if result.error is not None]


def upgrade_source(source: str, operations: Sequence[Operation]) -> tuple[str, tuple[Todo, ...]]:
    """Apply ``operations`` to a module's source; returns the new source and the manual follow-ups.

    Raises:
        libcst.ParserSyntaxError: The source is not valid Python.
    """
    wrapper = cst.MetadataWrapper(cst.parse_module(source))
    upgrader = Upgrader(operations)
    module = wrapper.visit(upgrader)
    return module.code, tuple(upgrader.todos)


def _python_files(paths: Iterable[str | pathlib.Path]) -> Iterator[pathlib.Path]:
    for path in map(pathlib.Path, paths):
        if path.is_file():
            yield path
            continue
        for file in sorted(path.rglob("*.py")):
            if not _SKIPPED_DIRS & set(file.relative_to(path).parts[:-1]):
                yield file


def upgrade_paths(
    paths: Iterable[str | pathlib.Path], operations: Sequence[Operation], *, write: bool = False
) -> Report:
    """Upgrade every Python file under ``paths`` (files, or folders searched recursively); write when asked."""
    results = []
    for file in _python_files(paths):
        try:
            before = file.read_text(encoding="utf-8")
            after, todos = upgrade_source(before, operations)
        except (OSError, UnicodeDecodeError, cst.ParserSyntaxError) as exc:
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            results.append(FileResult(file, "", "", (), error=message))
            continue
        if write and after != before:
            file.write_text(after, encoding="utf-8")
        results.append(FileResult(file, before, after, todos))
    return Report(tuple(results))
