"""Flama: serve predictive models and large language models as production APIs.

This module is the one ``flama/__init__.py`` of the namespace. Every other distribution contributes a portion
(``flama.core``, ``flama.http``, ...) without an ``__init__.py`` of its own at this level, so the path is extended
here: that finds the portions whether they live in one ``site-packages`` or in separate editable source trees.
"""

import importlib
import importlib.metadata
from pkgutil import extend_path
from typing import TYPE_CHECKING, Any

__path__ = extend_path(__path__, __name__)

__version__ = importlib.metadata.version("flama")

if TYPE_CHECKING:
    from flama.http import Flama, Module, Mount, Request, Route, Router, run
    from flama.models import dump, load

# The short API, imported on first use so that `import flama.core` alone stays as light as flama-core itself.
_SHORT_API = dict.fromkeys(("Flama", "Module", "Mount", "Request", "Route", "Router", "run"), "flama.http")
_SHORT_API.update(dict.fromkeys(("dump", "load"), "flama.models"))

__all__ = ["Flama", "Module", "Mount", "Request", "Route", "Router", "__version__", "dump", "load", "run"]


def __getattr__(name: str) -> Any:
    if name in _SHORT_API:
        return getattr(importlib.import_module(_SHORT_API[name]), name)
    raise AttributeError(f"module 'flama' has no attribute {name!r}")
