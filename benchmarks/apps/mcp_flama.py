"""The MCP benchmark server on this tree's flama-mcp: ``app`` is a Flama app (``app.mcp``), ``server`` the bare server.

Both serve the tool ``add`` at ``/mcp/`` (see :mod:`benchmarks.mcp`).
"""

from flama.http import Flama
from flama.mcp import MCPServer
from flama.mcp.module import MCPModule

app = Flama(schema=None, docs=None)
mcp: MCPModule = app.mcp
mcp.add_server("/mcp/", "bench", version="1.0.0")


@mcp.tool("add", description="Add two integers", mcp="bench")
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


server = MCPServer("bench", "1.0.0")
server.tool("add", description="Add two integers")(add)
