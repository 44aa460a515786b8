"""The Flama chat front end: built, self-contained assets served at each language model's ``chat/``.

``ChatApp`` serves the page (an ASGI application); ``ChatUI`` holds the options an application sets per model
(title, logo, colours, system prompt, suggested prompts, tools, generation settings). flama-llm mounts a
``ChatApp`` for every model it serves with the native dialect when this distribution is installed.
"""

import importlib.metadata

from flama.chat_ui.app import STATIC, ChatApp, MissingAssets
from flama.chat_ui.options import COLORS, PARAMS, ChatUI

__version__ = importlib.metadata.version("flama-chat-ui")

__all__ = ["COLORS", "PARAMS", "STATIC", "ChatApp", "ChatUI", "MissingAssets", "__version__"]
