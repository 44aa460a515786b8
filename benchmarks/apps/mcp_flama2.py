"""The MCP benchmark server on Flama 2.2.2 from PyPI (its ``app.mcp``); runs only in the ``flama2`` venv."""

# mypy: ignore-errors
# Flama 2 is installed only in its own benchmark venv; in the development environment ``flama`` is this tree's.

from flama import Flama

app = Flama(schema=None, docs=None)
app.mcp.add_server("/mcp/", "bench", version="1.0.0")


@app.mcp.tool("add", description="Add two integers", mcp="bench")
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b
