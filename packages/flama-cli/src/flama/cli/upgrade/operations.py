"""The operations a migration is made of, and the libcst transformer that applies them to one file.

Each operation has an id (``move-module:flama.asgi``, ``move-symbol:flama.middleware.GZipMiddleware``,
``remove-symbol:flama.http.HTMLFileResponse``, ``flag-module:flama.ddd``) that ``--select`` and ``--skip`` name.
Imports are rewritten (``from`` imports split when their names now live in different modules); a renamed symbol
imported without an alias is renamed where the file uses it. What has no automatic replacement keeps its import and
gets a ``# flama-upgrade: <what to do>`` comment, listed as a manual follow-up. libcst keeps comments and formatting.
"""

import dataclasses
from collections.abc import Sequence

import libcst as cst
import libcst.metadata

__all__ = ["MARKER", "FlagModule", "MoveModule", "MoveSymbol", "Operation", "RemoveSymbol", "Todo", "Upgrader"]

MARKER = "flama-upgrade:"


def _operation_id(operation: "Operation") -> str:
    """``<kind>:<module>`` or ``<kind>:<module>.<name>``, the kind from the class name (``move-module``)."""
    kind = "".join(f"-{c.lower()}" if c.isupper() else c for c in type(operation).__name__).lstrip("-")
    name = getattr(operation, "name", None)
    return f"{kind}:{operation.module}" + ("" if name is None else f".{name}")


@dataclasses.dataclass(frozen=True)
class MoveModule:
    """A module whose public names now live in another module, with the same names."""

    module: str
    to_module: str
    id = property(_operation_id)


@dataclasses.dataclass(frozen=True)
class MoveSymbol:
    """A name that moved to another module, or was renamed, or both."""

    module: str
    name: str
    to_module: str | None = None
    to_name: str | None = None
    id = property(_operation_id)


@dataclasses.dataclass(frozen=True)
class RemoveSymbol:
    """A name with no automatic replacement: its import is marked with what to do instead."""

    module: str
    name: str
    note: str
    id = property(_operation_id)


@dataclasses.dataclass(frozen=True)
class FlagModule:
    """A module (and its submodules) with no counterpart: every import from it is marked."""

    module: str
    note: str
    id = property(_operation_id)

    def matches(self, module: str) -> bool:
        """Whether ``module`` is this module or one of its submodules."""
        return module == self.module or module.startswith(self.module + ".")


Operation = MoveModule | MoveSymbol | RemoveSymbol | FlagModule


@dataclasses.dataclass(frozen=True)
class Todo:
    """A manual follow-up: where, which operation, what to do."""

    line: int
    operation: str
    note: str


def _dotted(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        head = _dotted(node.value)
        return None if head is None else f"{head}.{node.attr.value}"
    return None


def _module_node(dotted: str) -> cst.Attribute | cst.Name:
    head, _, last = dotted.rpartition(".")
    if not head:
        return cst.Name(last)
    return cst.Attribute(value=_module_node(head), attr=cst.Name(last))


def _alias_name(alias: cst.ImportAlias) -> str | None:
    return _dotted(alias.name)


def _as_name(alias: cst.ImportAlias) -> str | None:
    if alias.asname is None or not isinstance(alias.asname.name, cst.Name):
        return None
    return alias.asname.name.value


class Upgrader(cst.CSTTransformer):
    """Applies operations to one module; ``changed`` and ``todos`` say what happened.

    Args:
        operations: The operations to apply.
    """

    METADATA_DEPENDENCIES = (libcst.metadata.PositionProvider,)

    def __init__(self, operations: Sequence[Operation]) -> None:
        super().__init__()
        self.modules = {op.module: op for op in operations if isinstance(op, MoveModule)}
        self.symbols = {(op.module, op.name): op for op in operations if isinstance(op, (MoveSymbol, RemoveSymbol))}
        self.flags = [op for op in operations if isinstance(op, FlagModule)]
        self.renames: dict[str, str] = {}
        self.todos: list[Todo] = []
        self.changed = False
        self._notes: list[tuple[str, str]] = []
        # Modules imported whole (``import flama.middleware``), by the name the file uses -> where they are now.
        self.imported: dict[str, str] = {}
        self._lines = 0  # simple statement lines being visited (0 or 1): where a note can be marked

    def _module(self, dotted: str) -> str:
        move = self.modules.get(dotted)
        return dotted if move is None else move.to_module

    def _split(self, node: cst.ImportFrom, module: str) -> tuple[list[tuple[str, list[cst.ImportAlias]]], bool]:
        """The names of ``from module import ...`` by the module each comes from now, and whether one was renamed."""
        assert not isinstance(node.names, cst.ImportStar)
        groups: dict[str, list[cst.ImportAlias]] = {}
        renamed = False
        for alias in node.names:
            name = _alias_name(alias) or ""
            op = self.symbols.get((module, name))
            target, new_alias = self._module(module), alias
            if isinstance(op, MoveSymbol):
                target = op.to_module or target
                if op.to_name and op.to_name != name:
                    new_alias = alias.with_changes(name=cst.Name(op.to_name))
                    renamed = True
                    if alias.asname is None:
                        self.renames[name] = op.to_name
            elif isinstance(op, RemoveSymbol):
                self._notes.append((op.id, f"{name}: {op.note}"))
            groups.setdefault(target, []).append(new_alias.with_changes(comma=cst.MaybeSentinel.DEFAULT))
        return list(groups.items()), renamed

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:  # noqa: N802 - libcst's naming
        """Start collecting the notes of one line (its attribute uses are visited before the line is left)."""
        self._notes = []
        self._lines += 1
        return True

    def leave_Attribute(  # noqa: N802 - libcst dispatches on node class names
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.BaseExpression:
        """Rewrite ``module.Name`` when the module was imported whole and the name moved or was renamed."""
        dotted = _dotted(original_node)
        head, _, name = (dotted or "").rpartition(".")
        op = self.symbols.get((head, name)) if head in self.imported else None
        if isinstance(op, MoveSymbol):
            module, new_name = op.to_module or self._module(head), op.to_name or name
            if module == self.imported[head]:
                self.changed = True
                return _module_node(f"{head}.{new_name}")  # the module's own rename, if any, comes after
            self._note(original_node, op.id, f"{dotted}: use {module}.{new_name} (import {module})")
        elif isinstance(op, RemoveSymbol):
            self._note(original_node, op.id, f"{dotted}: {op.note}")
        return updated_node

    def _note(self, node: cst.CSTNode, operation: str, note: str) -> None:
        if self._lines:
            self._notes.append((operation, note))  # marked on its line, listed when the line is left
        else:  # in a compound statement's header (if, def, ...): listed only
            line = self.get_metadata(libcst.metadata.PositionProvider, node).start.line
            self.todos.append(Todo(line, operation, note))

    def leave_SimpleStatementLine(  # noqa: N802 - libcst dispatches on node class names
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement] | cst.RemovalSentinel:
        """Rewrite the imports of one line, and mark it when something needs a person."""
        self._lines -= 1
        statements: list[cst.SimpleStatementLine] = []
        for statement in updated_node.body:
            if isinstance(statement, cst.ImportFrom) and statement.relative == () and statement.module is not None:
                statements.extend(self._import_from(updated_node, statement))
            elif isinstance(statement, cst.Import):
                statements.append(updated_node.with_changes(body=[self._import(statement)]))
            else:
                statements.append(updated_node.with_changes(body=[statement]))
        if len(updated_node.body) > 1 and len(statements) == len(updated_node.body):
            statements = [updated_node.with_changes(body=[s.body[0] for s in statements])]
        notes, self._notes = self._notes, []
        if notes:
            line = self.get_metadata(libcst.metadata.PositionProvider, original_node).start.line
            self.todos.extend(Todo(line, op_id, note) for op_id, note in notes)
            statements[-1] = self._mark(statements[-1], "; ".join(note for _, note in notes))
        if len(statements) == 1:
            return statements[0]
        return cst.FlattenSentinel(statements)

    def _import_from(self, line: cst.SimpleStatementLine, node: cst.ImportFrom) -> list[cst.SimpleStatementLine]:
        assert node.module is not None
        module = _dotted(node.module) or ""
        flag = next((flag for flag in self.flags if flag.matches(module)), None)
        if isinstance(node.names, cst.ImportStar):
            if flag is not None:
                self._notes.append((flag.id, f"{module} {flag.note}"))
            elif module in self.modules:
                self.changed = True
                return [line.with_changes(body=[node.with_changes(module=_module_node(self._module(module)))])]
            return [line.with_changes(body=[node])]
        groups, renamed = self._split(node, module)
        if flag is not None and any(target == module for target, _ in groups):
            self._notes.append((flag.id, f"{module} {flag.note}"))
        if len(groups) == 1 and groups[0][0] == module and not renamed:
            return [line.with_changes(body=[node])]
        self.changed = True
        if len(groups) == 1 and not renamed:  # the module moved: keep the names as written
            return [line.with_changes(body=[node.with_changes(module=_module_node(groups[0][0]))])]
        result = []
        for index, (target, aliases) in enumerate(groups):
            new = node.with_changes(
                module=_module_node(target),
                names=aliases,
                lpar=node.lpar if len(aliases) > 1 else None,
                rpar=node.rpar if len(aliases) > 1 else None,
            )
            kept = line.with_changes(body=[new])
            if index:
                kept = kept.with_changes(leading_lines=[], trailing_whitespace=cst.TrailingWhitespace())
            result.append(kept)
        return result

    def _import(self, node: cst.Import) -> cst.Import:
        names = []
        for alias in node.names:
            dotted = _alias_name(alias) or ""
            for flag in self.flags:
                if flag.matches(dotted):
                    self._notes.append((flag.id, f"{dotted} {flag.note}"))
            target = self._module(dotted)
            if alias.asname is None:
                self.imported[dotted] = target
            if dotted in self.modules:
                self.changed = True
                if alias.asname is None:
                    self.renames[dotted] = target
                alias = alias.with_changes(name=_module_node(target))
            names.append(alias)
        return node.with_changes(names=names)

    @staticmethod
    def _mark(line: cst.SimpleStatementLine, note: str) -> cst.SimpleStatementLine:
        comment = line.trailing_whitespace.comment
        if comment is not None and MARKER in comment.value:
            return line  # marked by an earlier run
        text = f"# {MARKER} {note}" if comment is None else f"{comment.value}  # {MARKER} {note}"
        whitespace = line.trailing_whitespace.with_changes(
            whitespace=cst.SimpleWhitespace("  "), comment=cst.Comment(text)
        )
        return line.with_changes(trailing_whitespace=whitespace)

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:  # noqa: N802 - libcst dispatches on node class names
        """Rename the uses of renamed symbols and moved modules (a second pass, now that every import is known)."""
        if not self.renames:
            return updated_node
        renamed = updated_node.visit(_Renamer(self.renames))
        assert isinstance(renamed, cst.Module)
        return renamed


class _Renamer(cst.CSTTransformer):
    """Renames the uses of names (``GZipMiddleware``) and dotted module paths (``flama.asgi.X``)."""

    def __init__(self, renames: dict[str, str]) -> None:
        super().__init__()
        self.names = {old: new for old, new in renames.items() if "." not in old}
        self.dotted = {old: new for old, new in renames.items() if "." in old}

    def visit_Import(self, node: cst.Import) -> bool:  # noqa: N802 - libcst dispatches on node class names
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:  # noqa: N802 - libcst dispatches on node class names
        return False

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:  # noqa: N802 - libcst dispatches on node class names
        new = self.names.get(updated_node.value)
        return updated_node if new is None else updated_node.with_changes(value=new)

    def leave_Attribute(self, original_node: cst.Attribute, updated_node: cst.Attribute) -> cst.Attribute | cst.Name:  # noqa: N802 - libcst dispatches on node class names
        dotted = _dotted(original_node)
        if dotted is not None and dotted in self.dotted:
            return _module_node(self.dotted[dotted])
        return updated_node
