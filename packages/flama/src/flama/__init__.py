"""Flama: serve predictive models and large language models as production APIs.

This module is the one ``flama/__init__.py`` of the namespace. Every other distribution contributes a portion
(``flama.core``, ``flama.http``, ...) without an ``__init__.py`` of its own at this level, so the path is extended
here: that finds the portions whether they live in one ``site-packages`` or in separate editable source trees.
"""

from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)

__version__ = "3.0.0a0"

__all__ = ["__version__"]
