"""skops, imported and called with the lazy alias modules of other libraries out of its way.

To name an object that has no ``__module__`` (numpy's ufuncs, when it imports and when it dumps or audits a model
using one), skops reads the object's name from every module in ``sys.modules`` and skips only the modules that raise
``AttributeError`` or ``ImportError``. transformers 5 registers hundreds of alias modules
(``transformers.models.<model>.image_processing_<model>_fast``) whose attribute lookups import the module they stand
for: skops would import every image processor transformers has, and one that needs Pillow, where Pillow is not
installed, raises ``NameError`` and fails skops (so a skops model could not be loaded in a process serving a
transformers LLM). Alias modules forward to real modules, which ``sys.modules`` holds under their own names once
imported, so hiding them while skops runs loses it nothing.
"""

import contextlib
import sys
import threading
import types
from collections.abc import Iterator

__all__ = ["is_alias_module", "skops_io"]

_LOCK = threading.Lock()


def is_alias_module(module: object) -> bool:
    """A module with no file that computes its attributes (a module-level ``__getattr__``): a lazy alias."""
    if not isinstance(module, types.ModuleType):
        return False
    namespace = vars(module)
    return "__getattr__" in namespace and namespace.get("__file__", "") is None


@contextlib.contextmanager
def skops_io() -> Iterator[types.ModuleType]:
    """``skops.io``, with alias modules out of ``sys.modules`` until the block ends (one block at a time).

    Raises:
        ImportError: When skops is not installed.
    """
    with _LOCK:
        hidden = {name: module for name, module in list(sys.modules.items()) if is_alias_module(module)}
        for name in hidden:
            sys.modules.pop(name, None)
        try:
            import skops.io

            yield skops.io
        finally:
            for name, module in hidden.items():
                sys.modules.setdefault(name, module)
