"""``app.mcp`` in Flama, the issue's example, and the server mounted in Starlette and FastAPI."""

import importlib.util
import json
import pathlib
import re
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from flama import Flama
from flama.mcp import MCPServer
from flama.mcp.module import MCPModule
from mcp import Client
from mcp_types import Implementation

from tests.mcp.conftest import text_of

EXAMPLE = pathlib.Path(__file__).parents[2] / "examples" / "mcp_tools.py"


def load_example() -> Any:
    spec = importlib.util.spec_from_file_location("mcp_tools_example", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


def test_every_flama_app_has_mcp():
    assert isinstance(Flama().mcp, MCPModule)


def test_server_lookup_errors():
    app = Flama()
    with pytest.raises(LookupError):
        app.mcp.tool("x")
    app.mcp.add_server("/a/", "a")
    app.mcp.add_server("/b/", "b")
    with pytest.raises(LookupError):
        app.mcp.tool("x")
    with pytest.raises(ValueError, match="already added"):
        app.mcp.add_server("/c/", "a")


@pytest.mark.parametrize("mode", ["2026-07-28", "legacy"])
async def test_issue_example_with_the_official_client(server_factory, mode):
    base = server_factory(load_example(), lifespan="on")
    async with Client(f"{base}/mcp/tools/", mode=mode) as client:
        if mode == "legacy":
            info, instructions = client.session.server_info, client.session.instructions
        else:
            discovered = await client.session.send_discover(mode)
            info = Implementation.model_validate(discovered["_meta"]["io.modelcontextprotocol/serverInfo"])
            instructions = discovered["instructions"]
        assert info is not None
        assert (info.name, info.version, instructions) == ("tools", "2.0.0", "Demo MCP tools server")
        (tool,) = (await client.list_tools()).tools
        assert (tool.name, tool.description) == ("add", "Add two integers")
        assert (await client.call_tool("add", {"a": 2, "b": 3})).structured_content == {"result": 5}
        config = await client.read_resource("config://app")
        assert json.loads(text_of(config.contents[0])) == {"debug": True, "name": "flama-mcp"}
        assert config.contents[0].mime_type == "application/json"
        prompt = await client.get_prompt("summarise", {"text": "MCP"})
        assert text_of(prompt.messages[0].content) == "Summarise the following:\n\nMCP"


async def test_calls_are_counted_in_the_apps_metrics(server_factory):
    app = load_example()
    module: MCPModule = app.mcp

    @module.tool("fail", description="Always fails", mcp="tools")
    def fail() -> int:
        raise RuntimeError("no")

    base = server_factory(app, lifespan="on")
    async with Client(f"{base}/mcp/tools/", mode="2026-07-28") as client:
        await client.call_tool("add", {"a": 1, "b": 2})
        assert (await client.call_tool("fail", {})).is_error
        await client.list_tools()
    async with httpx.AsyncClient() as http:
        metrics = (await http.get(f"{base}/metrics")).text
    assert 'flama_mcp_calls_total{method="tools/call",outcome="ok",server="tools"} 1.0' in metrics
    assert 'flama_mcp_calls_total{method="tools/call",outcome="tool_error",server="tools"} 1.0' in metrics
    # The client lists the tools itself too (to check structured results against their schemas): at least once.
    assert re.search(r'flama_mcp_calls_total\{method="tools/list",outcome="ok",server="tools"\} [1-9]', metrics)


async def test_mounted_in_fastapi(server_factory):
    server = MCPServer("fastapi-tools")

    @server.tool()
    async def echo(text: str) -> str:
        """Say it back."""
        return text

    @asynccontextmanager
    async def lifespan(app):
        async with server.lifespan():
            yield

    app = FastAPI(lifespan=lifespan)
    app.mount("/mcp", server)
    base = server_factory(app, lifespan="on")
    async with Client(f"{base}/mcp/", mode="2026-07-28") as client:
        assert (await client.call_tool("echo", {"text": "hi"})).structured_content == {"result": "hi"}


async def test_server_is_its_own_asgi_app_with_lifespan(server_factory):
    server = MCPServer("alone")

    @server.tool()
    def double(x: int) -> int:
        """Twice x."""
        return 2 * x

    base = server_factory(server, lifespan="on")
    async with Client(f"{base}/", mode="legacy") as client:
        assert (await client.call_tool("double", {"x": 21})).structured_content == {"result": 42}
