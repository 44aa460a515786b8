"""Model Context Protocol server for Flama, usable alone inside any ASGI framework."""

import importlib.metadata

from flama.mcp.content import Audio, Content, EmbeddedResource, Image, Message, ResourceLink, Text, ToolResult
from flama.mcp.context import Context, Elicited
from flama.mcp.primitives import Annotations
from flama.mcp.protocol import MCPError, ToolError
from flama.mcp.server import MCPServer
from flama.mcp.tasks import InMemoryTaskStore, Task, TaskStore

__version__ = importlib.metadata.version("flama-mcp")

__all__ = [
    "Annotations",
    "Audio",
    "Content",
    "Context",
    "Elicited",
    "EmbeddedResource",
    "Image",
    "InMemoryTaskStore",
    "MCPError",
    "MCPServer",
    "Message",
    "ResourceLink",
    "Task",
    "TaskStore",
    "Text",
    "ToolError",
    "ToolResult",
    "__version__",
]
