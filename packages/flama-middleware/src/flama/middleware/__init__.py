"""ASGI middleware for Flama (and any ASGI framework): CORS, compression, sessions, limits and more."""

__version__ = "0.1.0"

__all__ = ["__version__"]
