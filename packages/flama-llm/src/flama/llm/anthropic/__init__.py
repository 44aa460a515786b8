"""The Anthropic dialect: messages, count_tokens and models, as the official ``anthropic`` SDK expects them."""

from flama.llm.anthropic.routes import AnthropicDialect, Signer

__all__ = ["AnthropicDialect", "Signer"]
