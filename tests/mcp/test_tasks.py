"""The tasks extension: a handle at once, then tasks/get, tasks/update and tasks/cancel."""

from typing import Any

import anyio
import httpx
from mcp_types import methods

from tests.mcp.test_protocol import META, VERSION, modern, post

TASKS = {**META, "io.modelcontextprotocol/clientCapabilities": {"extensions": {"io.modelcontextprotocol/tasks": {}}}}


async def call(url: str, method: str, params: dict[str, Any]) -> Any:
    body, headers = modern(method, params)
    body["params"]["_meta"] = TASKS
    response = await post(url, body, headers)
    assert response.status_code == 200, response.text
    return response.json()["result"]


async def poll(url: str, task_id: str, until: set[str]) -> Any:
    for _ in range(200):
        task = await call(url, "tasks/get", {"taskId": task_id})
        if task["status"] in until:
            return task
        await anyio.sleep(0.02)
    raise AssertionError(f"task stayed {task['status']}")


async def test_discover_advertises_tasks(mcp_url):
    async with mcp_url() as url:
        result = await call(url, "server/discover", {})
    assert result["capabilities"]["extensions"]["io.modelcontextprotocol/tasks"] == {}


async def test_long_tool_runs_as_a_task(mcp_url):
    async with mcp_url() as url:
        handle = await call(url, "tools/call", {"name": "long_job", "arguments": {"seconds": 0.1}})
        assert handle["resultType"] == "task"
        assert handle["status"] == "working"
        assert handle["ttlMs"] > 0
        done = await poll(url, handle["taskId"], {"completed"})
        assert done["result"]["content"][0]["text"] == "slept 0.1"
        methods.validate_server_result("tools/call", VERSION, done["result"] | {"resultType": "complete"})


async def test_without_the_capability_the_call_is_inline(mcp_url):
    async with mcp_url() as url:
        body, headers = modern("tools/call", {"name": "long_job", "arguments": {"seconds": 0.01}})
        result = (await post(url, body, headers)).json()["result"]
    assert result["content"][0]["text"] == "slept 0.01"


async def test_input_through_update(mcp_url):
    async with mcp_url() as url:
        handle = await call(url, "tools/call", {"name": "approve", "arguments": {}})
        waiting = await poll(url, handle["taskId"], {"input_required"})
        ((key, request),) = waiting["inputRequests"].items()
        assert request["method"] == "elicitation/create"
        answer = {key: {"action": "accept", "content": {"name": "Ada"}}}
        assert (await call(url, "tasks/update", {"taskId": handle["taskId"], "inputResponses": answer}))[
            "resultType"
        ] == "complete"
        done = await poll(url, handle["taskId"], {"completed"})
        assert done["result"]["content"][0]["text"] == "approved by Ada"


async def test_cancel(mcp_url):
    async with mcp_url() as url:
        handle = await call(url, "tools/call", {"name": "long_job", "arguments": {"seconds": 30}})
        await call(url, "tasks/cancel", {"taskId": handle["taskId"]})
        cancelled = await poll(url, handle["taskId"], {"cancelled"})
        assert cancelled["status"] == "cancelled"
        again = await call(url, "tasks/cancel", {"taskId": handle["taskId"]})
        assert again == {"resultType": "complete"}


async def test_tasks_belong_to_their_caller(mcp_url):
    async def authenticate(token, scope):
        return token

    async with mcp_url(authenticate=authenticate) as url:
        body, headers = modern("tools/call", {"name": "long_job", "arguments": {"seconds": 0.01}})
        body["params"]["_meta"] = TASKS
        handle = (await post(url, body, {**headers, "authorization": "Bearer ada"})).json()["result"]
        body, headers = modern("tasks/get", {"taskId": handle["taskId"]})
        body["params"]["_meta"] = TASKS
        stolen = await post(url, body, {**headers, "authorization": "Bearer mallory"})
        assert stolen.json()["error"]["code"] == -32602
        headers["mcp-name"] = "nope"
        unknown = await post(
            url, {**body, "params": {**body["params"], "taskId": "nope"}}, {**headers, "authorization": "Bearer ada"}
        )
        assert unknown.json()["error"]["code"] == -32602


async def test_cancellation_by_closing_the_stream(mcp_url):
    """At 2026-07-28 a client cancels a call by closing its request; the handler is cancelled, the server goes on."""
    async with mcp_url() as url:
        body, headers = modern("tools/call", {"name": "slow", "arguments": {"steps": 500}})
        with anyio.move_on_after(0.2):
            async with httpx.AsyncClient() as client:
                await client.post(url, json=body, headers=headers)
        body, headers = modern("tools/call", {"name": "add", "arguments": {"a": 1, "b": 2}})
        assert (await post(url, body, headers)).status_code == 200


async def test_task_methods_need_the_extension(mcp_url):
    async with mcp_url() as url:
        body, headers = modern("tasks/get", {"taskId": "whatever"})
        error = (await post(url, body, headers)).json()["error"]
    assert error["code"] == -32021
    assert error["data"] == {"requiredCapabilities": {"extensions": {"io.modelcontextprotocol/tasks": {}}}}
