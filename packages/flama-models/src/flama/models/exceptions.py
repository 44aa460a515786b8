"""Errors raised while writing or reading `.flm` files, and the library version warning."""

__all__ = [
    "ChecksumMismatch",
    "CorruptedFile",
    "LibraryVersionWarning",
    "ModelFileError",
    "TruncatedFile",
    "UnknownCodec",
    "UnknownLibrary",
    "UnknownProtocol",
    "UnsafeArtifactPath",
]


class ModelFileError(ValueError):
    """Base of every problem with a `.flm` file or with what is asked to go into one."""


class TruncatedFile(ModelFileError):
    """The file ends before a section it announces is complete."""

    def __init__(self, where: str, expected: int, got: int) -> None:
        super().__init__(f"Truncated .flm file: {where} needs {expected} bytes but only {got} remain")
        self.where = where
        self.expected = expected
        self.got = got


class CorruptedFile(ModelFileError):
    """The bytes of a section cannot be decoded (bad sizes, bad compressed data, bad JSON, bad tar)."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"Corrupted .flm file: {where}: {reason}")
        self.where = where
        self.reason = reason


class UnknownProtocol(ModelFileError):
    """The header names a protocol version this reader does not know."""

    def __init__(self, protocol: int) -> None:
        super().__init__(f"Unknown .flm protocol version {protocol} (supported: 1, 2)")
        self.protocol = protocol


class UnknownCodec(ModelFileError):
    """A compression id in the file, or a compression name asked for, is not known."""

    def __init__(self, codec: int | str, where: str) -> None:
        shown = f"0x{codec:02x}" if isinstance(codec, int) else repr(codec)
        super().__init__(f"Unknown compression {shown} in {where} (known: bz2, lzma, zlib, zstd, none)")
        self.codec = codec
        self.where = where


class ChecksumMismatch(ModelFileError):
    """The SHA-256 of an extracted section differs from the one recorded in the metadata."""

    def __init__(self, name: str, expected: str, got: str) -> None:
        super().__init__(f"Checksum mismatch for {name!r}: recorded sha256 {expected}, content has {got}")
        self.name = name
        self.expected = expected
        self.got = got


class UnsafeArtifactPath(ModelFileError):
    """An artifact name or a bundle entry would escape its directory or is not a plain file or directory."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"Unsafe path {name!r}: {reason}")
        self.name = name
        self.reason = reason


class UnknownLibrary(ModelFileError):
    """No serializer exists for a library name, or none accepts a model object."""

    def __init__(self, what: str) -> None:
        super().__init__(f"No serializer for {what} (known libraries: sklearn, torch, keras, tensorflow, transformers)")
        self.what = what


class LibraryVersionWarning(UserWarning):
    """The installed version of a model's library differs from the version that wrote the file."""
