"""The context of one call, injected into handlers that ask for it (a parameter annotated :class:`Context`)."""

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Literal

import pydantic
from flama.mcp.elicitation import InputRequired
from flama.mcp.protocol import INVALID_PARAMS, MISSING_REQUIRED_CLIENT_CAPABILITY, MCPError

__all__ = ["Context", "Elicited"]

Notify = Callable[[str, dict[str, Any]], Awaitable[None]]
Ask = Callable[[dict[str, dict[str, Any]]], Awaitable[dict[str, Any]]]
"""Asks the client for inputs right away (``{key: {"method", "params"}}``) and returns the answers by key."""
# The client capability each kind of input request needs.
_CAPABILITIES = {"elicitation/create": "elicitation", "sampling/createMessage": "sampling", "roots/list": "roots"}


class Elicited(pydantic.BaseModel):
    """The user's answer to an elicitation.

    Attributes:
        action: ``accept`` (``content`` holds the answers), ``decline`` or ``cancel``.
        content: The submitted values, checked against the requested schema.
    """

    action: Literal["accept", "decline", "cancel"]
    content: dict[str, Any] | None = None


def _requested_schema(schema: type[pydantic.BaseModel] | dict[str, Any]) -> dict[str, Any]:
    if isinstance(schema, dict):
        return schema
    document = schema.model_json_schema()
    properties = {
        name: {key: value for key, value in field.items() if key != "title" or len(field) == 1}
        for name, field in document.get("properties", {}).items()
    }
    requested: dict[str, Any] = {"type": "object", "properties": properties}
    if document.get("required"):
        requested["required"] = document["required"]
    return requested


class Context:
    """What a handler may know and do during its call.

    Attributes:
        method: The JSON-RPC method (``tools/call``, ``resources/read``, ``prompts/get``).
        protocol_version: The revision this request speaks.
        client_capabilities: The capabilities the client declared (for this request at 2026-07-28).
        client_info: The client's self-reported name and version, when sent.
        scope: The ASGI scope of the HTTP request.
        auth: What the server's authentication hook returned for this request.
    """

    def __init__(
        self,
        *,
        method: str,
        protocol_version: str,
        client_capabilities: dict[str, Any],
        client_info: dict[str, Any] | None,
        scope: MutableMapping[str, Any],
        progress_token: str | int | None,
        answers: dict[str, Any],
        notify: Notify,
        ask: Ask | None,
        auth: Any = None,
    ) -> None:
        self.method = method
        self.protocol_version = protocol_version
        self.client_capabilities = client_capabilities
        self.client_info = client_info
        self.scope = scope
        self.auth = auth
        self._progress_token = progress_token
        self._answers = answers
        self._notify = notify
        self._ask = ask
        self._asked = 0

    async def report_progress(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        """Send a progress notification, when the client asked for progress (a ``progressToken``)."""
        if self._progress_token is None:
            return
        params: dict[str, Any] = {"progressToken": self._progress_token, "progress": progress}
        if total is not None:
            params["total"] = total
        if message is not None:
            params["message"] = message
        await self._notify("notifications/progress", params)

    async def request_inputs(self, requests: dict[str, tuple[str, dict[str, Any]]]) -> dict[str, Any]:
        """Ask the client for inputs: ``elicitation/create``, ``sampling/createMessage`` or ``roots/list`` requests.

        At 2026-07-28 the call is answered ``input_required`` with every request not answered yet; the handler runs
        again from the start once the client retries with the answers, so it should do nothing irreversible before
        its questions are answered. Handshake-era clients are asked over the call's event stream instead.

        Args:
            requests: Each request by the key its answer comes back under: ``{key: (method, params)}``.

        Returns:
            The raw answers by key.

        Raises:
            MCPError: ``MISSING_REQUIRED_CLIENT_CAPABILITY``: the client did not declare what a request needs.
        """
        missing = {
            key: capability
            for key, (method, _) in requests.items()
            if (capability := _CAPABILITIES.get(method, method)) not in self.client_capabilities and self._ask is None
        }
        if missing:
            needed: dict[str, Any] = {capability: {} for capability in missing.values()}
            message = f"this call needs the client capabilities {sorted(needed)}"
            raise MCPError(MISSING_REQUIRED_CLIENT_CAPABILITY, message, {"requiredCapabilities": needed})
        answers = {key: self._answers[key] for key in requests if key in self._answers}
        pending = {
            key: {"method": method, "params": params}
            for key, (method, params) in requests.items()
            if key not in self._answers
        }
        if pending and self._ask is not None:
            answers.update(await self._ask(pending))
        elif pending:
            raise InputRequired(pending, self._answers)
        return answers

    async def elicit(
        self, message: str, schema: type[pydantic.BaseModel] | dict[str, Any], *, key: str | None = None
    ) -> Elicited:
        """Ask the user for input through the client (see :meth:`request_inputs` for how the call proceeds).

        Args:
            message: What to tell the user.
            schema: The fields to ask for: a flat pydantic model or a JSON Schema object.
            key: The key of the request (``elicit-<n>``, counting this call's questions, by default).

        Returns:
            The user's answer; accepted content is validated against the schema.

        Raises:
            MCPError: The client did not declare the elicitation capability, or answered with invalid content.
        """
        requested = _requested_schema(schema)
        if key is None:
            key = f"elicit-{self._asked}"
            self._asked += 1
        params = {"mode": "form", "message": message, "requestedSchema": requested}
        raw = (await self.request_inputs({key: ("elicitation/create", params)}))[key]
        try:
            answer = Elicited.model_validate(raw)
        except pydantic.ValidationError:
            raise MCPError(INVALID_PARAMS, f"the answer to {key!r} is not an elicitation result") from None
        if answer.action == "accept":
            import jsonschema  # here, not at the top: only an elicitation needs it

            errors = [error.message for error in jsonschema.Draft202012Validator(requested).iter_errors(answer.content)]
            if errors:
                raise MCPError(
                    INVALID_PARAMS, f"the answer to {key!r} does not match the requested schema: {errors[0]}"
                )
        return answer
