"""The `flama` command line: get, model, serve, run, start, upgrade."""

import importlib.metadata

__version__ = importlib.metadata.version("flama-cli")

__all__ = ["__version__"]
