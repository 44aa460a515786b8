r"""The native dialect's request body, read into the canonical request.

::

    {"prompt": "..."}                                   raw prompt
    {"message": "...", "system": "...", "tools": [...]}  chat prompt
    {"messages": [...], "tools": [...]}                  conversation prompt
    + "params": {"max_tokens": 64, "temperature": 0, "stop": ["\\n\\n"], ...}
    + "template": {"enable_thinking": false}            chat template arguments
"""

import dataclasses
from collections.abc import Mapping
from typing import Any

from flama.llm.exceptions import InvalidRequest
from flama.llm.prompts import Prompt, parse_prompt, template_kwargs

__all__ = ["NativeRequest", "parse_params", "parse_request"]

_FIELDS = frozenset({"prompt", "message", "messages", "system", "tools", "params", "template"})


@dataclasses.dataclass(frozen=True, slots=True)
class NativeRequest:
    """A native generation request: what to generate from, the parameters over the defaults, template arguments."""

    source: Prompt
    params: dict[str, Any]
    template: dict[str, Any]


def parse_params(value: Any, field: str = "params") -> dict[str, Any]:
    """Check that generation parameters are an object (their values are validated by ``GenerationParams``).

    Raises:
        InvalidRequest: ``value`` is not an object.
    """
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidRequest(field, "must be an object of generation parameters")
    return dict(value)


def parse_request(body: Any) -> NativeRequest:
    """Read a native request body.

    Raises:
        InvalidRequest: The body is not an object, has an unknown field, or a malformed one.
    """
    if not isinstance(body, Mapping):
        raise InvalidRequest("body", "must be a JSON object")
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise InvalidRequest(unknown[0], "is not a field of a native request")
    return NativeRequest(parse_prompt(body), parse_params(body.get("params")), template_kwargs(body.get("template")))
