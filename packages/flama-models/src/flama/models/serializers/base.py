"""The interface every framework serializer implements."""

from __future__ import annotations

import abc
import base64
import importlib.metadata
import pathlib
import typing as t

__all__ = ["Serializer", "decode_base64", "encode_base64"]


class Serializer(abc.ABC):
    """Writes a model of one framework as the payload of a `.flm` file, and reads it back.

    Attributes:
        lib: The framework name recorded in the metadata (`framework.lib`), as Flama 2.x writes it.
        distribution: The PyPI distribution whose installed version is recorded.
        bundle: Whether the payload is a directory (packed as a tar bundle) rather than one file.
    """

    lib: t.ClassVar[str]
    distribution: t.ClassVar[str]
    bundle: t.ClassVar[bool]

    @classmethod
    def accepts(cls, obj: t.Any) -> bool:
        """Whether this serializer handles `obj`, judged from the modules of its classes (nothing is imported).

        Args:
            obj: A model object.

        Returns:
            True when a class in `type(obj).__mro__` comes from the package named `lib`.
        """
        return any(klass.__module__.partition(".")[0] == cls.lib for klass in type(obj).__mro__)

    def version(self) -> str | None:
        """The installed version of the framework's distribution, or None when it is not installed."""
        try:
            return importlib.metadata.version(self.distribution)
        except importlib.metadata.PackageNotFoundError:
            return None

    def family(self, obj: t.Any) -> t.Literal["ml", "llm"]:
        """The model family of `obj`: predictive (`"ml"`) unless a serializer knows better."""
        return "ml"

    @abc.abstractmethod
    def dump(self, obj: t.Any, destination: pathlib.Path, **options: t.Any) -> None:
        """Write the payload of `obj` at `destination`: a file, or a new directory when `bundle` is True.

        Args:
            obj: The model object.
            destination: Where the payload goes; it does not exist yet.
            **options: Framework-specific options.
        """

    @abc.abstractmethod
    def load(self, source: pathlib.Path, **options: t.Any) -> t.Any:
        """Read a payload back into a model object.

        Args:
            source: The payload file, or the extracted directory of a bundle (also as Flama 2.x wrote them).
            **options: Framework-specific options.

        Returns:
            The model object.
        """

    def describe(self, obj: t.Any) -> dict[str, t.Any]:
        """The `ModelInfo` fields of `obj`: `obj` (its class path), and `params` and `info` where known.

        Args:
            obj: The model object.

        Returns:
            A JSON-safe mapping with the key `obj`, and `params` and `info` when the serializer knows them.
        """
        return {"obj": f"{type(obj).__module__}.{type(obj).__qualname__}"}


# Flama 2.x stored byte payloads as base64 text in lines of 76 characters; 57 raw bytes make one such line.
_BASE64_LINE = 57
_BASE64_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\n")


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
