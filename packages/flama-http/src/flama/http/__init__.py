"""The ASGI foundation of Flama: requests, responses, routing, the application, injection, schemas and OpenAPI."""

__version__ = "0.1.0"

__all__ = ["__version__"]
