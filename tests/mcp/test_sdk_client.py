"""The official MCP SDK client against a live server, in both protocol eras."""

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError as SDKError
from mcp_types import ElicitResult

from tests.mcp.conftest import text_of

MODES = [pytest.param("2026-07-28", id="2026-07-28"), pytest.param("legacy", id="legacy")]


async def _accept(context, params):
    return ElicitResult(action="accept", content={"name": "Ada"})


@pytest.mark.parametrize("mode", MODES)
class TestCaseOfficialClient:
    async def test_tools(self, mcp_url, mode):
        async with mcp_url() as url, Client(url, mode=mode) as client:
            tools = {tool.name: tool for tool in (await client.list_tools()).tools}
            assert {"add", "weather", "divide", "greet"} <= set(tools)
            assert text_of(tools["add"], "annotations").read_only_hint is True  # type: ignore[attr-defined]
            assert tools["weather"].input_schema["properties"]["city"]["description"] == "The city to look at."
            assert tools["show_dashboard"].meta == {"ui": {"resourceUri": "ui://dashboard/app.html"}}

            result = await client.call_tool("add", {"a": 2, "b": 40})
            assert result.structured_content == {"result": 42}
            assert text_of(result.content[0]) == "42"

            weather = await client.call_tool("weather", {"city": "Oslo", "unit": "fahrenheit"})
            assert weather.structured_content == {"city": "Oslo", "degrees": 70.7, "unit": "fahrenheit"}

            failed = await client.call_tool("divide", {"a": 1, "b": 0})
            assert failed.is_error is True
            assert text_of(failed.content[0]) == "cannot divide by zero"
            crashed = await client.call_tool("broken", {})
            assert crashed.is_error is True
            assert "the disk is on fire" in text_of(crashed.content[0])

            picture = await client.call_tool("picture", {})
            assert picture.content[0].type == "image"

    async def test_invalid_arguments_are_protocol_errors(self, mcp_url, mode):
        async with mcp_url() as url, Client(url, mode=mode) as client:
            with pytest.raises(SDKError) as error:
                await client.call_tool("add", {"a": "two", "b": 3})
            assert error.value.code == -32602
            with pytest.raises(SDKError) as error:
                await client.call_tool("nope", {})
            assert error.value.code == -32602
            assert (await client.call_tool("add", {"a": 1, "b": 1})).structured_content == {"result": 2}

    async def test_resources(self, mcp_url, mode):
        async with mcp_url() as url, Client(url, mode=mode) as client:
            uris = {str(resource.uri) for resource in (await client.list_resources()).resources}
            assert uris == {"config://app", "file://logo.png", "ui://dashboard/app.html"}
            templates = (await client.list_resource_templates()).resource_templates
            assert [template.uri_template for template in templates] == ["users://{user}/profile"]

            config = await client.read_resource("config://app")
            assert text_of(config.contents[0]) == '{"debug":true}'
            assert config.contents[0].mime_type == "application/json"
            logo = await client.read_resource("file://logo.png")
            assert logo.contents[0].mime_type == "image/png"
            assert text_of(logo.contents[0], "blob")
            profile = await client.read_resource("users://ada/profile")
            assert text_of(profile.contents[0]) == "profile of ada"
            app = await client.read_resource("ui://dashboard/app.html")
            assert app.contents[0].mime_type == "text/html;profile=mcp-app"
            with pytest.raises(SDKError):
                await client.read_resource("users://nobody")

    async def test_prompts_and_completions(self, mcp_url, mode):
        async with mcp_url() as url, Client(url, mode=mode) as client:
            prompts = {prompt.name: prompt for prompt in (await client.list_prompts()).prompts}
            assert [(arg.name, arg.required) for arg in prompts["summarise"].arguments or []] == [
                ("text", True),
                ("style", False),
            ]
            result = await client.get_prompt("summarise", {"text": "MCP"})
            assert text_of(result.messages[0].content) == "Summarise (brief):\n\nMCP"
            dialogue = await client.get_prompt("dialogue", {"topic": "tea"})
            assert [message.role for message in dialogue.messages] == ["user", "assistant"]
            with pytest.raises(SDKError) as error:
                await client.get_prompt("summarise", {})
            assert error.value.code == -32602

            from mcp_types import PromptReference, ResourceTemplateReference

            completed = await client.complete(
                PromptReference(type="ref/prompt", name="summarise"), {"name": "style", "value": "b"}
            )
            assert completed.completion.values == ["brief", "bullet"]
            completed = await client.complete(
                ResourceTemplateReference(type="ref/resource", uri="users://{user}/profile"),
                {"name": "user", "value": "al"},
            )
            assert completed.completion.values == ["alice", "albert"]

    async def test_elicitation_round_trip(self, mcp_url, mode):
        async with mcp_url() as url, Client(url, mode=mode, elicitation_callback=_accept) as client:
            result = await client.call_tool("greet", {})
            assert text_of(result.content[0]) == "Hello, Ada!"

    async def test_progress(self, mcp_url, mode):
        seen = []

        async def on_progress(progress, total, message):
            seen.append((progress, total, message))

        async with mcp_url() as url, Client(url, mode=mode) as client:
            result = await client.call_tool("slow", {"steps": 3}, progress_callback=on_progress)
            assert text_of(result.content[0]) == "counted to 3"
            assert seen == [(1, 3, "step 1"), (2, 3, "step 2"), (3, 3, "step 3")]


async def test_discover_and_auto_mode(mcp_url):
    async with mcp_url() as url, Client(url) as client:
        assert client.session.protocol_version == "2026-07-28"
        assert text_of(client.session.server_info, "name") == "test-server"
        assert client.session.instructions == "Tools for tests"


async def test_pagination(mcp_url):
    async with mcp_url(page_size=2) as url, Client(url, mode="2026-07-28") as client:
        names, cursor = [], None
        while True:
            from mcp_types import PaginatedRequestParams

            page = await client.session.list_tools(params=PaginatedRequestParams(cursor=cursor) if cursor else None)
            names += [tool.name for tool in page.tools]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert len(names) == len(set(names)) == 10
