"""The ML libraries that an environment may leave out on purpose: torch and Keras in `make test-matrix`'s.

Such an environment names them in ``FLAMA_TESTS_WITHOUT`` (``"torch keras"``), and the tests that need one of them are
skipped there. Anywhere else a missing library is an error, never a skip: the main environment runs every test.
"""

import importlib
import importlib.util
import os
from typing import Any

import pytest

LEFT_OUT = frozenset(os.environ.get("FLAMA_TESTS_WITHOUT", "").split())


def missing(*names: str) -> list[str]:
    """Those of ``names`` that this environment leaves out on purpose and does not have."""
    return [name for name in names if name in LEFT_OUT and importlib.util.find_spec(name) is None]


def needs(*names: str) -> pytest.MarkDecorator:
    """A mark that skips a test where this environment leaves out one of the libraries ``names``."""
    absent = missing(*names)
    return pytest.mark.skipif(bool(absent), reason=f"{', '.join(absent)} left out of this environment")


def require(name: str) -> Any:
    """The library ``name``, imported; the calling test module is skipped where this environment leaves it out."""
    if missing(name):
        pytest.skip(f"{name} left out of this environment", allow_module_level=True)
    return importlib.import_module(name)
