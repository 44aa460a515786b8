"""The wire, byte for byte: bad input gets the right JSON-RPC error, and the server keeps serving."""

from typing import Any

import httpx
import pytest
from flama.mcp import Context, MCPServer
from mcp_types import methods

from tests.mcp.conftest import SECRET, Name

VERSION = "2026-07-28"
META = {
    "io.modelcontextprotocol/protocolVersion": VERSION,
    "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}},
    "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "0"},
}


def modern(
    method: str, params: dict[str, Any] | None = None, request_id: int = 1, **headers: str | None
) -> tuple[dict[str, Any], dict[str, str]]:
    body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": {**(params or {}), "_meta": META}}
    names = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}
    names |= {"tasks/get": "taskId", "tasks/update": "taskId", "tasks/cancel": "taskId"}
    head = {"mcp-protocol-version": VERSION, "mcp-method": method, "accept": "application/json, text/event-stream"}
    if method in names and (params or {}).get(names[method]) is not None:
        head["mcp-name"] = (params or {})[names[method]]
    head.update({key.replace("_", "-"): value for key, value in headers.items() if value is not None})
    for key in [key for key, value in headers.items() if value is None]:
        head.pop(key.replace("_", "-"), None)
    return body, head


async def post(url: str, body: Any, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(url, json=body, headers=headers)


async def assert_alive(url: str) -> None:
    body, headers = modern("tools/call", {"name": "add", "arguments": {"a": 1, "b": 2}})
    response = await post(url, body, headers)
    assert response.status_code == 200
    assert response.json()["result"]["structuredContent"] == {"result": 3}


class TestCaseResultShapes:
    @pytest.mark.parametrize(
        ("method", "params"),
        [
            pytest.param("server/discover", {}, id="discover"),
            pytest.param("tools/list", {}, id="tools-list"),
            pytest.param("tools/call", {"name": "add", "arguments": {"a": 1, "b": 2}}, id="tools-call"),
            pytest.param("tools/call", {"name": "weather", "arguments": {"city": "Oslo"}}, id="tools-call-model"),
            pytest.param("resources/list", {}, id="resources-list"),
            pytest.param("resources/templates/list", {}, id="templates-list"),
            pytest.param("resources/read", {"uri": "file://logo.png"}, id="read-blob"),
            pytest.param("prompts/list", {}, id="prompts-list"),
            pytest.param("prompts/get", {"name": "summarise", "arguments": {"text": "x"}}, id="prompts-get"),
            pytest.param(
                "completion/complete",
                {"ref": {"type": "ref/prompt", "name": "summarise"}, "argument": {"name": "style", "value": ""}},
                id="complete",
            ),
        ],
    )
    async def test_the_sdk_accepts_every_result(self, mcp_url, method, params):
        async with mcp_url() as url:
            body, headers = modern(method, params)
            response = await post(url, body, headers)
        assert response.status_code == 200, response.text
        result = response.json()["result"]
        methods.validate_server_result(method, VERSION, result)
        assert result["resultType"] == "complete"
        if method.endswith("list") or method in ("server/discover", "resources/read"):
            assert result["ttlMs"] == 0
            assert result["cacheScope"] == "public"

    async def test_input_schema_from_type_hints(self, mcp_url):
        async with mcp_url() as url:
            body, headers = modern("tools/list")
            tools = {tool["name"]: tool for tool in (await post(url, body, headers)).json()["result"]["tools"]}
        schema = tools["weather"]["inputSchema"]
        assert schema["required"] == ["city"]
        assert schema["properties"]["unit"] == {
            "$ref": "#/$defs/Unit",
            "default": "celsius",
            "description": "Degrees in this unit.",
        }
        assert schema["$defs"]["Unit"] == {"enum": ["celsius", "fahrenheit"], "type": "string"}
        assert schema["properties"]["where"]["anyOf"] == [{"$ref": "#/$defs/Point"}, {"type": "null"}]
        assert tools["weather"]["outputSchema"]["$defs"]["Unit"]["enum"] == ["celsius", "fahrenheit"]
        assert tools["weather"]["description"] == "Tell the weather."
        assert "ctx" not in tools["greet"]["inputSchema"]["properties"]
        assert tools["add"]["annotations"] == {"readOnlyHint": True, "idempotentHint": True}


class TestCaseBadInput:
    @pytest.mark.parametrize(
        ("content", "status", "code"),
        [
            pytest.param(b"{not json", 400, -32700, id="malformed"),
            pytest.param(b"[]", 400, -32600, id="batch"),
            pytest.param(b'{"jsonrpc": "1.0", "id": 1, "method": "ping"}', 400, -32600, id="not-2.0"),
            pytest.param(b'{"jsonrpc": "2.0", "id": {"x": 1}, "method": "ping"}', 400, -32600, id="bad-id"),
        ],
    )
    async def test_malformed_messages(self, mcp_url, content, status, code):
        async with mcp_url() as url, httpx.AsyncClient() as client:
            response = await client.post(url, content=content, headers={"content-type": "application/json"})
            assert response.status_code == status
            assert response.json()["error"]["code"] == code
            await assert_alive(url)

    async def test_unknown_method(self, mcp_url):
        async with mcp_url() as url:
            body, headers = modern("tools/frobnicate")
            response = await post(url, body, headers)
            assert response.status_code == 404
            assert response.json() == {
                "jsonrpc": "2.0",
                "id": 1,
                "error": {"code": -32601, "message": "method not found: tools/frobnicate"},
            }

    @pytest.mark.parametrize(
        ("params", "message"),
        [
            pytest.param({"name": "add", "arguments": {"a": 1}}, "'b' is a required property", id="missing"),
            pytest.param({"name": "add", "arguments": {"a": 1, "b": "x"}}, "'x' is not of type 'integer'", id="type"),
            pytest.param(
                {"name": "weather", "arguments": {"city": "Oslo", "unit": "kelvin"}},
                "'kelvin' is not one of",
                id="enum",
            ),
            pytest.param({"name": "add", "arguments": [1, 2]}, "arguments must be an object", id="not-object"),
            pytest.param({"name": "missing"}, "unknown tool", id="unknown-tool"),
        ],
    )
    async def test_wrong_params(self, mcp_url, params, message):
        async with mcp_url() as url:
            body, headers = modern("tools/call", params)
            response = await post(url, body, headers)
            assert response.status_code == 400
            error = response.json()["error"]
            assert error["code"] == -32602
            assert message in error["message"]
            await assert_alive(url)

    @pytest.mark.parametrize(
        "headers",
        [
            pytest.param({"mcp_method": "tools/list"}, id="method"),
            pytest.param({"mcp_method": None}, id="method-missing"),
            pytest.param({"mcp_name": "divide"}, id="name"),
            pytest.param({"mcp_protocol_version": "2025-11-25"}, id="version"),
        ],
    )
    async def test_mismatched_routing_headers(self, mcp_url, headers):
        async with mcp_url() as url:
            body, head = modern("tools/call", {"name": "add", "arguments": {"a": 1, "b": 2}}, **headers)
            response = await post(url, body, head)
            assert response.status_code == 400
            assert response.json()["error"]["code"] == -32020
            await assert_alive(url)

    async def test_unsupported_version_lists_the_supported(self, mcp_url):
        async with mcp_url() as url:
            body, headers = modern("tools/list", mcp_protocol_version="2099-01-01")
            body["params"]["_meta"] = {**META, "io.modelcontextprotocol/protocolVersion": "2099-01-01"}
            response = await post(url, body, headers)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == -32022
        assert response.json()["error"]["data"] == {"supported": ["2026-07-28"], "requested": "2099-01-01"}

    async def test_oversized_body(self, mcp_url):
        async with mcp_url(max_body_size=1024) as url:
            body, headers = modern("tools/call", {"name": "add", "arguments": {"a": 1, "b": 2, "pad": "x" * 2000}})
            response = await post(url, body, headers)
            assert response.status_code == 413
            assert response.json()["error"]["code"] == -32600
            await assert_alive(url)

    async def test_transport_rules(self, mcp_url):
        async with mcp_url() as url, httpx.AsyncClient() as client:
            assert (await client.get(url)).status_code == 405
            assert (await client.delete(url)).status_code == 405
            response = await client.post(url, content=b"{}", headers={"content-type": "text/plain"})
            assert response.status_code == 415
            note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
            response = await client.post(url, json=note)
            assert response.status_code == 202
            assert response.content == b""


class TestCaseElicitationState:
    async def greet(self, url: str, **params: Any) -> httpx.Response:
        body, headers = modern("tools/call", {"name": "greet", "arguments": {}, **params})
        return await post(url, body, headers)

    async def test_round_trip(self, mcp_url):
        async with mcp_url() as url:
            first = (await self.greet(url)).json()["result"]
            methods.validate_server_result("tools/call", VERSION, first)
            assert first["resultType"] == "input_required"
            assert first["inputRequests"]["elicit-0"]["method"] == "elicitation/create"
            answer = {"elicit-0": {"action": "accept", "content": {"name": "Ada"}}}
            second = (await self.greet(url, inputResponses=answer, requestState=first["requestState"])).json()
            assert second["result"]["content"][0]["text"] == "Hello, Ada!"

    @pytest.mark.parametrize(
        ("method", "target", "text_of"),
        [
            pytest.param(
                "prompts/get",
                lambda drink: {"name": "order", "arguments": {"drink": drink}},
                lambda result: result["messages"][0]["content"]["text"],
                id="prompt",
            ),
            pytest.param(
                "resources/read",
                lambda drink: {"uri": f"order://{drink}"},
                lambda result: result["contents"][0]["text"],
                id="resource-template",
            ),
        ],
    )
    async def test_round_trip_outside_tools(self, server_factory, method, target, text_of):
        server = MCPServer("elicit")

        async def ask(ctx: Context, drink: str) -> str:
            answer = await ctx.elicit(f"Who is the {drink} for?", Name)
            return f"{drink} for {answer.content['name'] if answer.content else 'nobody'}"

        @server.prompt()
        async def order(drink: str, ctx: Context) -> str:
            return await ask(ctx, drink)

        @server.resource("order://{drink}")
        async def order_resource(drink: str, ctx: Context) -> str:
            return await ask(ctx, drink)

        url = server_factory(server) + "/"
        first = (await post(url, *modern(method, target("tea")))).json()["result"]
        methods.validate_server_result(method, VERSION, first)
        assert first["resultType"] == "input_required"
        answer = {"elicit-0": {"action": "accept", "content": {"name": "Ada"}}}
        again = {"inputResponses": answer, "requestState": first["requestState"]}
        second = (await post(url, *modern(method, {**target("tea"), **again}))).json()["result"]
        assert second["resultType"] == "complete"
        assert text_of(second) == "tea for Ada"
        # The state is bound to the call it was issued for: another drink cannot reuse it.
        response = await post(url, *modern(method, {**target("coffee"), **again}))
        assert response.json()["error"]["code"] == -32602

    @pytest.mark.parametrize(
        "tamper",
        [
            pytest.param(lambda state: state[:-2] + ("AA" if not state.endswith("AA") else "BB"), id="signature"),
            pytest.param(lambda state: "e30" + state[3:], id="payload"),
            pytest.param(lambda state: "garbage", id="garbage"),
        ],
    )
    async def test_tampered_state(self, mcp_url, tamper):
        async with mcp_url() as url:
            first = (await self.greet(url)).json()["result"]
            answer = {"elicit-0": {"action": "accept", "content": {"name": "Mallory"}}}
            response = await self.greet(url, inputResponses=answer, requestState=tamper(first["requestState"]))
            assert response.status_code == 400
            assert response.json()["error"]["code"] == -32602
            await assert_alive(url)

    async def test_state_from_another_secret_or_call(self, mcp_url):
        from flama.mcp.elicitation import RequestState

        forged = RequestState(b"another secret").sign("tools/call", "greet", {}, {"elicit-0": {"action": "accept"}})
        other_call = RequestState(SECRET).sign("tools/call", "add", {}, {})
        async with mcp_url() as url:
            for state in (forged, other_call):
                response = await self.greet(url, requestState=state)
                assert response.json()["error"]["code"] == -32602

    async def test_answer_must_match_the_schema(self, mcp_url):
        async with mcp_url() as url:
            first = (await self.greet(url)).json()["result"]
            answer = {"elicit-0": {"action": "accept", "content": {"name": 42}}}
            response = await self.greet(url, inputResponses=answer, requestState=first["requestState"])
            assert response.json()["error"]["code"] == -32602

    async def test_needs_the_capability(self, mcp_url):
        async with mcp_url() as url:
            body, headers = modern("tools/call", {"name": "greet", "arguments": {}})
            body["params"]["_meta"] = {**META, "io.modelcontextprotocol/clientCapabilities": {}}
            response = await post(url, body, headers)
            assert response.json()["error"]["code"] == -32021


class TestCaseSecurity:
    async def test_foreign_origin_and_host_are_refused_on_loopback(self, mcp_url):
        async with mcp_url() as url:
            body, headers = modern("tools/list")
            assert (await post(url, body, {**headers, "origin": "https://evil.example"})).status_code == 403
            assert (await post(url, body, {**headers, "host": "evil.example"})).status_code == 421
            assert (await post(url, body, {**headers, "origin": "http://localhost:3000"})).status_code == 200

    async def test_allow_list(self, mcp_url):
        async with mcp_url(allowed_origins=["https://app.example"]) as url:
            body, headers = modern("tools/list")
            assert (await post(url, body, {**headers, "origin": "https://app.example"})).status_code == 200
            assert (await post(url, body, {**headers, "origin": "http://localhost"})).status_code == 403

    async def test_bearer_hook(self, mcp_url):
        async def authenticate(token, scope):
            return {"user": "ada"} if token == "sesame" else None

        async with mcp_url(authenticate=authenticate) as url:
            body, headers = modern("tools/list")
            refused = await post(url, body, headers)
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"].startswith("Bearer")
            response = await post(url, body, {**headers, "authorization": "Bearer sesame"})
            assert response.json()["result"]["cacheScope"] == "private"
