"""The MCP benchmark server on the official SDK: ``mcp.server.mcpserver.MCPServer``, stateless JSON, on Starlette.

It runs only in the ``mcp`` benchmark venv, where the SDK is installed.
"""

from mcp.server.mcpserver import MCPServer

server = MCPServer("bench")


@server.tool(description="Add two integers")
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


app = server.streamable_http_app(streamable_http_path="/mcp/", stateless_http=True, json_response=True)
