"""The Ollama dialect: chat, generate, tags, show, ps and version, as the official ``ollama`` SDK expects them."""

from flama.llm.ollama.routes import OllamaDialect

__all__ = ["OllamaDialect"]
