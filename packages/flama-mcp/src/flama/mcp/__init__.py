"""Model Context Protocol server for Flama, usable alone inside any ASGI framework."""

__version__ = "0.1.0"

__all__ = ["__version__"]
