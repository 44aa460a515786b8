r"""The native dialect's request body: a pydantic model (:class:`NativeBody`), read into the canonical request.

::

    {"prompt": "..."}                                   raw prompt
    {"message": "...", "system": "...", "tools": [...]}  chat prompt
    {"messages": [...], "tools": [...]}                  conversation prompt
    + "params": {"max_tokens": 64, "temperature": 0, "stop": ["\\n\\n"], ...}
    + "template": {"enable_thinking": false}            chat template arguments

A body that does not validate is an :class:`InvalidRequest` naming the field (``messages[1].role``), in the native
dialect's own words (:func:`flama.llm.prompts.invalid`).
"""

import dataclasses
from typing import Annotated, Any

from flama.llm.backends.params import PARAMETERS_MODEL
from flama.llm.exceptions import InvalidRequest
from flama.llm.prompts import Prompt, PromptBody, check_template, invalid
from pydantic import AfterValidator, ConfigDict, Field, TypeAdapter, ValidationError, WithJsonSchema

__all__ = ["NativeBody", "NativeRequest", "parse_params", "parse_request"]


class NativeBody(PromptBody):
    """A native generation request: the prompt fields, generation parameters over the defaults, template arguments."""

    model_config = ConfigDict(extra="forbid")

    # Checked over the model's defaults when the generation is prepared (`GenerationParams.parse`).
    params: Annotated[
        dict[str, Any] | None,
        WithJsonSchema({"anyOf": [PARAMETERS_MODEL.model_json_schema(), {"type": "null"}]}),
    ] = Field(default=None, description="Generation parameters over the model's defaults.")
    template: Annotated[dict[str, Any] | None, AfterValidator(check_template)] = Field(
        default=None, description='Chat template arguments, e.g. {"enable_thinking": false}.'
    )


@dataclasses.dataclass(frozen=True, slots=True)
class NativeRequest:
    """A native generation request: what to generate from, the parameters over the defaults, template arguments."""

    source: Prompt
    params: dict[str, Any]
    template: dict[str, Any]


_PARAMS: TypeAdapter[dict[str, Any] | None] = TypeAdapter(dict[str, Any] | None)


def parse_params(value: Any, field: str = "params") -> dict[str, Any]:
    """Check that generation parameters are an object (their values are validated by ``GenerationParams``).

    Raises:
        InvalidRequest: ``value`` is not an object.
    """
    try:
        return dict(_PARAMS.validate_python(value) or {})
    except ValidationError:
        raise InvalidRequest(field, "must be an object of generation parameters") from None


def parse_request(body: Any) -> NativeRequest:
    """Read a native request body.

    Raises:
        InvalidRequest: The body is not an object, has an unknown field, or a malformed one.
    """
    try:
        native = NativeBody.model_validate(body)
    except ValidationError as exc:
        raise invalid(exc) from None
    return NativeRequest(native.source(), dict(native.params or {}), dict(native.template or {}))
