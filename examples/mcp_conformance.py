"""The fixture the MCP conformance suite runs against: every tool, resource and prompt its server scenarios name.

Serve it with ``uvicorn examples.mcp_conformance:app --port 3000`` and point the suite at
``http://127.0.0.1:3000/mcp``; ``make mcp-conformance`` does both, for both protocol eras.
"""

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from flama.mcp import Audio, Context, EmbeddedResource, Image, MCPError, MCPServer, Message, Text, ToolError
from starlette.applications import Starlette
from starlette.routing import Mount

# A 1x1 red pixel PNG and a tiny WAV header: the smallest media the scenarios accept.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
WAV = base64.b64decode("UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQAAAAA=")

NAME_SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
SAMPLING = (
    "sampling/createMessage",
    {
        "messages": [{"role": "user", "content": {"type": "text", "text": "What is the capital of France?"}}],
        "maxTokens": 100,
    },
)

server = MCPServer("flama-mcp-conformance", "1.0.0", instructions="Conformance fixture")


@server.tool()
def test_simple_text() -> Text:
    """Returns simple text."""
    return Text("This is a simple text response for testing.")


@server.tool()
def test_image_content() -> Image:
    """Returns an image."""
    return Image(PNG, "image/png")


@server.tool()
def test_audio_content() -> Audio:
    """Returns audio."""
    return Audio(WAV, "audio/wav")


@server.tool()
def test_embedded_resource() -> EmbeddedResource:
    """Returns an embedded resource."""
    return EmbeddedResource(
        "test://embedded-resource", text="This is an embedded resource content.", mime_type="text/plain"
    )


@server.tool()
def test_multiple_content_types() -> list[Text | Image | EmbeddedResource]:
    """Returns text, an image and a resource."""
    return [
        Text("Multiple content types test:"),
        Image(PNG, "image/png"),
        EmbeddedResource(
            "test://mixed-content-resource", text='{"test":"data","value":123}', mime_type="application/json"
        ),
    ]


@server.tool()
def test_error_handling() -> str:
    """Always fails."""
    raise ToolError("This tool intentionally returns an error for testing")


@server.tool()
async def test_tool_with_progress(ctx: Context) -> str:
    """Reports progress three times."""
    for progress in (0, 50, 100):
        await ctx.report_progress(progress, 100, f"Completed step {progress}")
        await anyio.sleep(0.05)
    return "Progress test completed"


@server.tool()
async def test_missing_capability(ctx: Context) -> str:
    """Needs the sampling capability (answered -32021 to clients that do not declare it)."""
    await ctx.request_inputs({"question": SAMPLING})
    return "sampled"


@server.tool()
async def test_streaming_elicitation(ctx: Context) -> str:
    """Elicits during a call: at 2026-07-28 through input_required, never as a request on the response stream."""
    answer = await ctx.elicit("Your name?", NAME_SCHEMA)
    return f"Hello, {(answer.content or {}).get('name')}!"


@server.tool()
def test_logging_tool() -> str:
    """Does its work without log notifications (the server sends none unless a request opts in)."""
    return "done"


@server.tool()
async def test_input_required_result_elicitation(ctx: Context) -> str:
    """Asks the user's name (input_required), then greets them."""
    answer = await ctx.elicit("What is your name?", NAME_SCHEMA, key="user_name")
    return f"Hello, {(answer.content or {}).get('name', 'stranger')}!"


@server.tool()
async def test_input_required_result_sampling(ctx: Context) -> str:
    """Asks the client's model a question."""
    answer = (await ctx.request_inputs({"capital_question": SAMPLING}))["capital_question"]
    content = answer.get("content", {}) if isinstance(answer, dict) else {}
    return f"The model answered: {content.get('text', '') if isinstance(content, dict) else content}"


@server.tool()
async def test_input_required_result_list_roots(ctx: Context) -> str:
    """Asks the client's roots."""
    answer = (await ctx.request_inputs({"client_roots": ("roots/list", {})}))["client_roots"]
    roots = answer.get("roots", []) if isinstance(answer, dict) else []
    return "Roots: " + ", ".join(str(root.get("uri")) for root in roots if isinstance(root, dict))


@server.tool()
async def test_input_required_result_request_state(ctx: Context) -> str:
    """Checks that the signed state comes back."""
    await ctx.elicit("Confirm to continue", {"type": "object", "properties": {"confirmed": {"type": "boolean"}}})
    return "state-ok: the requestState came back intact"


@server.tool()
async def test_input_required_result_multiple_inputs(ctx: Context) -> str:
    """Asks three things at once."""
    schema = {"type": "object", "properties": {"name": {"type": "string"}}}
    await ctx.request_inputs(
        {
            "user_name": ("elicitation/create", {"mode": "form", "message": "Your name?", "requestedSchema": schema}),
            "capital_question": SAMPLING,
            "client_roots": ("roots/list", {}),
        }
    )
    return "all inputs received"


@server.tool()
async def test_input_required_result_multi_round(ctx: Context) -> str:
    """Asks twice, one question per round."""
    first = await ctx.elicit("Your name?", NAME_SCHEMA, key="step1")
    color = {"type": "object", "properties": {"color": {"type": "string"}}, "required": ["color"]}
    second = await ctx.elicit("Your favourite colour?", color, key="step2")
    return f"{(first.content or {}).get('name')} likes {(second.content or {}).get('color')}"


@server.tool()
async def test_input_required_result_tampered_state(ctx: Context) -> str:
    """Rejects a forged state."""
    await ctx.elicit("Confirm", {"type": "object", "properties": {"confirmed": {"type": "boolean"}}})
    return "state verified"


@server.tool()
async def test_input_required_result_capabilities(ctx: Context) -> str:
    """Asks only for what the client declared."""
    wanted = {"capital_question": SAMPLING, "client_roots": ("roots/list", {})}
    wanted["user_name"] = ("elicitation/create", {"mode": "form", "message": "Name?", "requestedSchema": NAME_SCHEMA})
    needs = {"capital_question": "sampling", "client_roots": "roots", "user_name": "elicitation"}
    asked = {key: request for key, request in wanted.items() if needs[key] in ctx.client_capabilities}
    if asked:
        await ctx.request_inputs(asked)
    return f"asked for {sorted(asked)}"


@server.tool()
async def test_elicitation(message: str, ctx: Context) -> str:
    """Asks the user (handshake era: a request on the call's event stream)."""
    schema = {
        "type": "object",
        "properties": {
            "username": {"type": "string", "description": "User's response"},
            "email": {"type": "string", "description": "User's email address"},
        },
        "required": ["username", "email"],
    }
    answer = await ctx.elicit(message, schema)
    return f"User response: action={answer.action}, content={answer.content}"


@server.tool()
async def test_sampling(prompt: str, ctx: Context) -> str:
    """Asks the client's model."""
    params = {"messages": [{"role": "user", "content": {"type": "text", "text": prompt}}], "maxTokens": 100}
    answer = (await ctx.request_inputs({"sample": ("sampling/createMessage", params)}))["sample"]
    content = answer.get("content", {}) if isinstance(answer, dict) else {}
    return f"LLM response: {content.get('text', '') if isinstance(content, dict) else content}"


@server.tool()
async def test_elicitation_sep1034_defaults(ctx: Context) -> str:
    """Asks with a default for every primitive type."""
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "default": "John Doe"},
            "age": {"type": "integer", "default": 30},
            "score": {"type": "number", "default": 95.5},
            "status": {"type": "string", "enum": ["active", "inactive", "pending"], "default": "active"},
            "verified": {"type": "boolean", "default": True},
        },
    }
    answer = await ctx.elicit("Confirm your details", schema)
    return f"Elicitation completed: action={answer.action}, content={answer.content}"


@server.tool()
async def test_elicitation_sep1330_enums(ctx: Context) -> str:
    """Asks with every enum form."""
    titled = [{"const": f"value{n}", "title": title} for n, title in enumerate(["First Option", "Second Option"], 1)]
    choices = [{"const": f"value{n}", "title": title} for n, title in enumerate(["First Choice", "Second Choice"], 1)]
    options = ["option1", "option2", "option3"]
    schema = {
        "type": "object",
        "properties": {
            "untitledSingle": {"type": "string", "enum": options},
            "titledSingle": {"type": "string", "oneOf": titled},
            "legacyEnum": {
                "type": "string",
                "enum": ["opt1", "opt2", "opt3"],
                "enumNames": ["Option One", "Option Two", "Option Three"],
            },
            "untitledMulti": {"type": "array", "items": {"type": "string", "enum": options}},
            "titledMulti": {"type": "array", "items": {"anyOf": choices}},
        },
    }
    answer = await ctx.elicit("Pick options", schema)
    return f"Elicitation completed: action={answer.action}, content={answer.content}"


@server.tool()
def greet(name: str) -> str:
    """Greets (a tool that never runs as a task)."""
    return f"Hello, {name}!"


@server.tool(task="required")
async def slow_compute(seconds: float) -> str:
    """Sleeps, then answers; run as a task for clients that support them."""
    await anyio.sleep(seconds)
    return f"computed after {seconds} s"


@server.tool(task="required")
async def failing_job() -> str:
    """Fails as a tool (the task completes with isError)."""
    await anyio.sleep(1)
    raise ToolError("the job failed")


@server.tool(task="required")
async def protocol_error_job() -> str:
    """Fails with a protocol error (the task fails)."""
    raise MCPError(-32603, "the job crashed")


@server.tool(task="required")
async def confirm_delete(filename: str, ctx: Context) -> str:
    """Asks for confirmation while running as a task."""
    schema = {"type": "object", "properties": {"confirm": {"type": "boolean"}}, "required": ["confirm"]}
    answer = await ctx.elicit(f"Delete {filename}?", schema, key="confirm")
    return f"{filename} {'deleted' if (answer.content or {}).get('confirm') else 'kept'}"


@server.tool(task="required")
async def multi_input(ctx: Context) -> str:
    """Asks two questions at once while running as a task."""
    schema = {"type": "object", "properties": {"value": {"type": "string"}}}
    form = {"mode": "form", "requestedSchema": schema}
    answers = await ctx.request_inputs(
        {
            "first": ("elicitation/create", {**form, "message": "First value?"}),
            "second": ("elicitation/create", {**form, "message": "Second value?"}),
        }
    )
    return f"received {sorted(answers)}"


@server.resource("test://static-text", mime_type="text/plain")
def static_text() -> str:
    """A static text resource."""
    return "This is the content of the static text resource."


@server.resource("test://static-binary", mime_type="image/png")
def static_binary() -> bytes:
    """A static binary resource."""
    return PNG


@server.resource("test://template/{id}/data", mime_type="application/json")
def template_data(id: str) -> dict[str, Any]:
    """Data for an id."""
    return {"id": id, "templateTest": True, "data": f"Data for ID: {id}"}


@server.prompt()
def test_simple_prompt() -> str:
    """A simple prompt."""
    return "This is a simple prompt for testing."


@server.prompt(completions={"arg1": ["test", "testing", "tested"], "arg2": ["value"]})
def test_prompt_with_arguments(arg1: str, arg2: str) -> str:
    """A prompt with arguments.

    Args:
        arg1: First test argument.
        arg2: Second test argument.
    """
    return f"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"


@server.prompt()
def test_prompt_with_embedded_resource(resourceUri: str) -> list[Message]:  # noqa: N803 - the scenario's name
    """A prompt embedding a resource.

    Args:
        resourceUri: URI of the resource to embed.
    """
    embedded = EmbeddedResource(resourceUri, text="Embedded resource content for testing.", mime_type="text/plain")
    return [Message(embedded), Message("Please process the embedded resource above.")]


@server.prompt()
def test_prompt_with_image() -> list[Message]:
    """A prompt with an image."""
    return [Message(Image(PNG, "image/png")), Message("Please analyze the image above.")]


@server.prompt()
async def test_input_required_result_prompt(ctx: Context) -> str:
    """A prompt that asks for context first."""
    schema = {"type": "object", "properties": {"context": {"type": "string"}}, "required": ["context"]}
    answer = await ctx.elicit("What context should the prompt use?", schema, key="prompt_context")
    return f"Use this context: {(answer.content or {}).get('context')}"


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    """Run the server's background work with the application."""
    async with server.lifespan():
        yield


app = Starlette(routes=[Mount("/mcp", app=server)], lifespan=lifespan)
