"""Schemas from type hints, and arguments converted to the annotated types after validation."""

import dataclasses
from typing import Literal

import pydantic
import pytest
from flama.mcp import Context
from flama.mcp.schemas import Signature, docstring_params


@dataclasses.dataclass
class Box:
    width: int
    height: int = 1


class Tag(pydantic.BaseModel):
    name: str


def shipping(box: Box, mode: Literal["air", "sea"], tags: list[Tag], ctx: Context, note: str | None = None) -> Box:
    """Ship a box.

    Longer text that is not the summary.

    Args:
        box: The box to ship,
            measured in centimetres.
        mode: How it travels.
        tags: Labels for the box.
        ctx: The call's context.
        note: A note for the courier.

    Returns:
        The box as shipped.
    """
    return box


class TestCaseSignature:
    def test_input_schema(self):
        signature = Signature(shipping, {Context: lambda ctx: ctx}, outputs=True)
        schema = signature.input_schema
        assert signature.description == "Ship a box."
        assert set(schema["properties"]) == {"box", "mode", "tags", "note"}
        assert schema["required"] == ["box", "mode", "tags"]
        assert schema["properties"]["box"] == {
            "$ref": "#/$defs/Box",
            "description": "The box to ship, measured in centimetres.",
        }
        assert schema["$defs"]["Box"]["properties"]["height"] == {"default": 1, "type": "integer"}
        assert schema["properties"]["mode"]["enum"] == ["air", "sea"]
        assert schema["properties"]["note"]["default"] is None
        assert signature.output_schema is not None
        assert signature.output_schema["required"] == ["width"]
        assert not signature.wrap_output

    def test_arguments_become_the_annotated_types(self):
        signature = Signature(shipping, {Context: lambda ctx: ctx})
        arguments = {"box": {"width": 3}, "mode": "air", "tags": [{"name": "fragile"}]}
        assert signature.errors(arguments) == []
        bound = signature.bind(arguments)
        assert bound["box"] == Box(3, 1)
        assert bound["tags"] == [Tag(name="fragile")]
        assert bound["note"] is None

    @pytest.mark.parametrize(
        ("arguments", "error"),
        [
            pytest.param(
                {"box": {"width": "x"}, "mode": "air", "tags": []}, "box/width: 'x' is not of type", id="nested"
            ),
            pytest.param({"box": {"width": 1}, "mode": "rail", "tags": []}, "mode: 'rail' is not one of", id="literal"),
            pytest.param({"mode": "air", "tags": []}, "arguments: 'box' is a required property", id="missing"),
        ],
    )
    def test_errors_name_the_argument(self, arguments, error):
        errors = Signature(shipping, {Context: lambda ctx: ctx}).errors(arguments)
        assert any(message.startswith(error) for message in errors), errors


def test_docstring_without_args():
    assert docstring_params("Just a summary.\n\nMore.") == ("Just a summary.", {})
    assert docstring_params(None) == ("", {})
