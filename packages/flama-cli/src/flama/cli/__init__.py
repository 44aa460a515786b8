"""The `flama` command line: get, model, serve, run, start, upgrade."""

__version__ = "0.1.0"

__all__ = ["__version__"]
