"""Byte payloads as Flama 2.x writes and reads them: base64 text in lines of 76 characters."""

import base64
import pathlib
from typing import Final

__all__ = ["decode_base64", "encode_base64"]

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
