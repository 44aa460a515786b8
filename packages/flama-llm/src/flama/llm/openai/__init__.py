"""The OpenAI dialect: chat completions, completions and models, as the official ``openai`` SDK expects them."""

from flama.llm.openai.routes import OpenAIDialect

__all__ = ["OpenAIDialect"]
