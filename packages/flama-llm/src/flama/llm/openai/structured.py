"""What OpenAI's requests ask of the output's shape, as a :class:`~flama.llm.constraints.Constraint`.

Chat completions and the Responses API share it: ``response_format`` / ``text.format`` (``json_object``,
``json_schema``), ``tool_choice`` (``required``, a named function) and ``parallel_tool_calls``.
"""

from typing import Any

from flama.llm.constraints import Constraint
from flama.llm.exceptions import InvalidParameter
from flama.llm.serving import DialectError

__all__ = ["constraint"]


def _named(choice: Any) -> str | None:
    """The function a ``tool_choice`` names: chat's ``{"function": {"name"}}`` or the Responses API's ``{"name"}``."""
    function = getattr(choice, "function", None)
    return getattr(function, "name", None) if function is not None else getattr(choice, "name", None)


def constraint(
    kind: str | None,
    schema: Any,
    tools: list[dict[str, Any]] | None,
    choice: Any,
    parallel: bool | None,
    format_field: str = "response_format",
    schema_field: str = "response_format.json_schema.schema",
) -> Constraint | None:
    """What constrained decoding enforces: a JSON answer, a forced tool call, at most one call.

    Args:
        kind: The format's ``type``: ``json_object`` or ``json_schema`` ask for JSON (``text`` or ``None``: free).
        schema: The ``json_schema`` format's schema.
        tools: The tools offered (``{"type": "function", "function": {"name", "parameters"}}`` each).
        choice: ``required`` forces a call of any tool, a named function a call of that one.
        parallel: ``False`` allows one call at most.
        format_field: Where the format sits in the request (for errors).
        schema_field: Where its schema sits.

    Raises:
        DialectError: A bad schema, an unknown tool name, a tool call forced without tools (400, naming the field).
    """
    try:
        name = None if choice is None or isinstance(choice, str) else _named(choice)
        forced = [tool for tool in tools or [] if choice == "required" or tool["function"]["name"] == name]
        if name is not None and not forced:
            raise InvalidParameter("tool_choice", f"names {name!r}, which is not among the tools offered")
        if choice == "required" or forced:
            if kind not in (None, "text"):
                raise InvalidParameter(format_field, "cannot be combined with a forced tool call")
            calls = [
                (tool["function"]["name"], tool["function"].get("parameters"), f"tools[{index}].function.parameters")
                for index, tool in enumerate(tools or [])
                if tool in forced
            ]
            return Constraint.tool_call(calls, single=parallel is False, field="tool_choice")
        if kind == "json_object":
            return Constraint.json(field=format_field)
        if kind == "json_schema":
            if schema is None:
                raise InvalidParameter(schema_field, "a json_schema format needs a schema")
            return Constraint.json(schema, field=schema_field)
        if parallel is False and tools and choice != "none":
            return Constraint(single=True, field="parallel_tool_calls")
    except InvalidParameter as exc:
        raise DialectError.of(exc) from exc
    return None
