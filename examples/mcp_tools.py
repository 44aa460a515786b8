# The example of the flama-mcp issue, verbatim: `app.mcp` is reached through the module system (typed Any), and the
# handlers have no annotations or docstrings where the schema does not need them (ruff format splits its one-liners).
# mypy: disable-error-code="untyped-decorator,no-untyped-def"
# ruff: noqa: D103, ANN201
import json

from flama import Flama

app = Flama()
app.mcp.add_server("/mcp/tools/", "tools", version="2.0.0", instructions="Demo MCP tools server")


@app.mcp.tool("add", description="Add two integers", mcp="tools")
def add(a: int, b: int) -> int:
    return a + b


@app.mcp.resource(
    "config://app", name="config", description="Application configuration", mime_type="application/json", mcp="tools"
)
def config():
    return json.dumps({"debug": True, "name": "flama-mcp"})


@app.mcp.prompt("summarise", description="Summarise the given text", mcp="tools")
def summarise(text: str):
    return f"Summarise the following:\n\n{text}"
