"""What the serializers of array libraries share: Flama 2.x's base64 payloads, and JSON Schemas of arrays.

Flama 2.x writes a byte payload as base64 text in lines of 76 characters, and reads it only in that form.
"""

import base64
import pathlib
from collections.abc import Sequence
from typing import Any, Final

__all__ = ["array_schema", "decode_base64", "encode_base64", "sequence_schema"]

_BASE64_LINE: Final = 57  # raw bytes per line of 76 characters
_BASE64_ALPHABET: Final = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\n")


def encode_base64(path: pathlib.Path) -> None:
    """Rewrite the payload file at `path` as base64 text, the form in which Flama 2.x reads byte payloads.

    Args:
        path: A payload file; it is replaced, streaming, without holding it in memory.
    """
    encoded = path.with_name(path.name + ".b64")
    with path.open("rb") as src, encoded.open("wb") as dst:
        while chunk := src.read(_BASE64_LINE * 1024):
            dst.write(base64.encodebytes(chunk))
    encoded.replace(path)


def decode_base64(path: pathlib.Path) -> bytes | None:
    """The decoded payload when the file at `path` is base64 text (a Flama 2.x byte payload), else None.

    Args:
        path: A payload file.

    Returns:
        The decoded bytes, or None when the file does not start like base64 text (a payload written here).
    """
    with path.open("rb") as file:
        head = file.read(_BASE64_LINE)
        if not head or not _BASE64_ALPHABET.issuperset(head):
            return None
        return base64.decodebytes(head + file.read())


# JSON Schema types of array elements, by the leading part of a dtype name (numpy, torch and keras spell them alike).
_ELEMENT_TYPES: Final = (("bool", "boolean"), ("int", "integer"), ("uint", "integer"))


def array_schema(shape: Sequence[int | None], dtype: str) -> dict[str, Any]:
    """The JSON Schema of an array as nested JSON arrays; the first dimension (the batch) takes any size.

    Args:
        shape: The array's dimensions; None for one of any size.
        dtype: The element type's name, such as `float32` or `int64`.

    Returns:
        The schema, with the non-standard keywords `x-dtype` and `x-shape` (None for dimensions of any size).
    """
    element = next((kind for prefix, kind in _ELEMENT_TYPES if dtype.startswith(prefix)), "number")
    schema: dict[str, Any] = {"type": element}
    for position in reversed(range(len(shape))):
        schema = {"type": "array", "items": schema}
        if position and (size := shape[position]) is not None:
            schema |= {"minItems": size, "maxItems": size}
    return schema | {"x-dtype": dtype, "x-shape": [None, *shape[1:]] if shape else []}


def sequence_schema(schemas: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The JSON Schema of several arrays side by side (inputs or outputs of a model); one array's own schema alone.

    Args:
        schemas: The schema of each array, in order.

    Returns:
        The one schema, or an array schema with one `prefixItems` entry per array.
    """
    if len(schemas) == 1:
        return schemas[0]
    return {"type": "array", "prefixItems": list(schemas), "items": False}
