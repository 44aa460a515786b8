"""Generation parameters as a client sends them (JSON values), validated by one pydantic model.

:data:`PARAMETERS_MODEL` declares every parameter with its type and bounds (strict: ``true`` is not a number, ``1.5``
is not an integer); :func:`validate` runs it and words the first problem as an
:class:`~flama.llm.exceptions.InvalidParameter` naming the parameter (``must be > 0 and <= 1, got 0``).
"""

from typing import Annotated, Any

import pydantic
from flama.llm.exceptions import InvalidParameter
from pydantic_core import PydanticCustomError

__all__ = ["MAX_BIAS", "MAX_SEED", "MAX_STOPS", "PARAMETERS_MODEL", "validate"]

# Stop sequences are searched in every chunk; a bound keeps that cheap.
MAX_STOPS = 16
# The most positive or negative bias a token can get (OpenAI's range).
MAX_BIAS = 100.0
MAX_SEED = 2**63 - 1

# Each number: (lowest, highest or None, whether the lowest is excluded, whether it is an integer).
_NUMBERS: dict[str, tuple[float, float | None, bool, bool]] = {
    "max_tokens": (1, None, False, True),
    "temperature": (0.0, None, False, False),
    "top_p": (0.0, 1.0, True, False),
    "top_k": (1, None, False, True),
    "min_p": (0.0, 1.0, False, False),
    "repetition_penalty": (0.0, None, True, False),
    "frequency_penalty": (-2.0, 2.0, False, False),
    "presence_penalty": (-2.0, 2.0, False, False),
    "seed": (0, MAX_SEED, False, True),
}
_BIAS = (-MAX_BIAS, MAX_BIAS, False, False)


def _number(low: float, high: float | None, open_low: bool, integer: bool) -> Any:
    bounds: dict[str, Any] = {"gt": low} if open_low else {"ge": low}
    if high is not None:
        bounds["le"] = high
    if not integer:
        bounds["allow_inf_nan"] = False
    return Annotated[int if integer else float, pydantic.Field(**bounds)]


def _listed(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _non_empty(stops: list[str]) -> list[str]:
    if not all(stops):
        raise PydanticCustomError("parameter", "a stop sequence must not be empty")
    return stops


def _token_ids(value: Any) -> Any:
    # JSON object keys are strings: {"50256": -100} names token 50256.
    if not isinstance(value, dict):
        raise PydanticCustomError("parameter", "must be an object mapping token ids to biases")
    biases = {}
    for key, bias in value.items():
        if isinstance(key, str) and key.isascii() and key.isdigit():
            biases[int(key)] = bias
        elif isinstance(key, int) and not isinstance(key, bool) and key >= 0:
            biases[key] = bias
        else:
            raise PydanticCustomError(
                "parameter", "keys must be token ids (non-negative integers), got {key}", {"key": repr(key)}
            )
    return biases


_FIELDS: dict[str, Any] = {name: (_number(*bounds) | None, None) for name, bounds in _NUMBERS.items()}
_FIELDS["stop"] = (
    Annotated[
        list[str],
        pydantic.BeforeValidator(_listed),
        pydantic.Field(max_length=MAX_STOPS),
        pydantic.AfterValidator(_non_empty),
    ]
    | None,
    None,
)
_FIELDS["logit_bias"] = (
    Annotated[
        dict[int, Annotated[float, pydantic.Field(ge=-MAX_BIAS, le=MAX_BIAS, allow_inf_nan=False)]],
        pydantic.BeforeValidator(_token_ids),
    ]
    | None,
    None,
)

PARAMETERS_MODEL: type[pydantic.BaseModel] = pydantic.create_model(
    "GenerationParameters",
    __config__=pydantic.ConfigDict(extra="forbid", strict=True),
    __doc__="Generation parameters, each optional (absent: the model's default).",
    **_FIELDS,
)
"""The pydantic model of the generation parameters (its JSON Schema documents them)."""


def _value(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _reason(name: str, error: Any) -> str:
    kind, value = error["type"], error.get("input")
    if kind == "parameter":
        return str(error["msg"])
    if kind == "extra_forbidden":
        return "unknown generation parameter"
    if name == "stop":
        if kind == "too_long":
            return f"at most {MAX_STOPS} sequences, got {len(value)}"
        return "must be a string or a list of strings"
    low, high, open_low, integer = _BIAS if name == "logit_bias" else _NUMBERS[name]
    if kind not in ("greater_than", "greater_than_equal", "less_than_equal"):
        return "must be an integer" if integer else "must be a finite number"
    if integer:
        bound = f"between {_value(low)} and {_value(high)}" if high is not None else f">= {_value(low)}"
    else:
        bound = f"{'>' if open_low else '>='} {low:g}" + (f" and <= {high:g}" if high is not None else "")
    return f"must be {bound}, got {_value(value)}"


def validate(values: dict[str, Any]) -> dict[str, Any]:
    """Validate parameters by name; the result holds the given ones, converted (``stop`` as a list, biases by id).

    Raises:
        InvalidParameter: Naming the first parameter at fault and what is wrong with it.
    """
    try:
        model = PARAMETERS_MODEL.model_validate(values)
    except pydantic.ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        name = str(error["loc"][0])
        raise InvalidParameter(name, _reason(name, error)) from None
    return {name: value for name in model.model_fields_set if (value := getattr(model, name)) is not None}
