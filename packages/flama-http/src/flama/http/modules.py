"""Modules: named extensions attached to a Flama application, reachable as ``app.<name>``.

Other distributions plug in this way: flama-models provides ``app.models`` and flama-mcp ``app.mcp``. A module is
registered explicitly (``Flama(modules=[...])``) or discovered: every entry point of the group ``flama.modules``
names a :class:`Module` subclass, instantiated with no arguments when the application is built (an explicit module
of the same name wins). Declare one in a distribution's ``pyproject.toml``::

    [project.entry-points."flama.modules"]
    models = "flama.models.module:ModelsModule"

Modules start before the application's own startup handlers and stop after its shutdown handlers.
"""

import importlib.metadata
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from flama.http.applications import Flama

__all__ = ["ENTRY_POINT_GROUP", "Module", "Modules"]

ENTRY_POINT_GROUP = "flama.modules"


class Module:
    """Base class of application modules.

    Attributes:
        name: The attribute under which the application exposes the module.
        app: The application, set when the module is registered.
    """

    name: ClassVar[str]
    app: "Flama"

    def bind(self, app: "Flama") -> None:
        """Attach to ``app``; override to add routes or components (call ``super().bind(app)``)."""
        self.app = app

    async def on_startup(self) -> None:
        """Run when the application starts, before its own startup handlers."""

    async def on_shutdown(self) -> None:
        """Run when the application stops, after its own shutdown handlers."""


class Modules:
    """The modules of one application, by name.

    Args:
        app: The application.
        modules: Explicit modules.
        discover: Also load the modules named by ``flama.modules`` entry points.

    Raises:
        ValueError: Two explicit modules share a name.
    """

    def __init__(self, app: "Flama", modules: Sequence[Module] = (), *, discover: bool = True) -> None:
        self._modules: dict[str, Module] = {}
        for module in modules:
            if module.name in self._modules:
                raise ValueError(f"two modules are named {module.name!r}")
            self._modules[module.name] = module
        if discover:
            for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
                if entry_point.name not in self._modules:
                    module_class: Any = entry_point.load()
                    self._modules[entry_point.name] = module_class()
        for module in self._modules.values():
            module.bind(app)

    def get(self, name: str) -> Module | None:
        """The module called ``name``, or ``None``."""
        return self._modules.get(name)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __len__(self) -> int:
        return len(self._modules)

    def __contains__(self, name: object) -> bool:
        return name in self._modules
