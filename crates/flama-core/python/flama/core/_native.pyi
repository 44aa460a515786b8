# The hand-written stub of the private native module; `python -m mypy.stubtest flama.core._native` checks it
# against the binary. Public names are re-exported (and documented) by `flama.core`.

from collections.abc import Sequence
from datetime import datetime
from typing import Literal, final

from typing_extensions import Self

__all__ = [
    "Compressor",
    "Decompressor",
    "__version__",
    "build_set_cookie",
    "compress",
    "decompress",
    "negotiate_encoding",
    "parse_content_type",
    "parse_cookies",
    "supported_encodings",
]
__version__: str

# ---- routing ----

# ---- json ----

# ---- forms ----

# ---- headers ----

def parse_cookies(header: str) -> dict[str, str]: ...
def build_set_cookie(
    name: str,
    value: str = "",
    *,
    max_age: int | None = None,
    expires: datetime | str | int | None = None,
    path: str | None = "/",
    domain: str | None = None,
    secure: bool = False,
    httponly: bool = False,
    samesite: Literal["lax", "strict", "none"] | None = "lax",
    partitioned: bool = False,
) -> str: ...
def parse_content_type(value: str) -> tuple[str, dict[str, str]]: ...
def negotiate_encoding(accept_encoding: str, available: Sequence[str]) -> str | None: ...

# ---- codecs ----

def supported_encodings() -> tuple[str, ...]: ...
def compress(data: bytes, encoding: str, *, level: int | None = None) -> bytes: ...
def decompress(data: bytes, encoding: str, *, max_size: int | None = None) -> bytes: ...
@final
class Compressor:
    def __new__(cls, encoding: str, *, level: int | None = None) -> Self: ...
    @property
    def encoding(self) -> str: ...
    def compress(self, chunk: bytes) -> bytes: ...
    def finish(self) -> bytes: ...

@final
class Decompressor:
    def __new__(cls, encoding: str, *, max_size: int | None = None) -> Self: ...
    @property
    def encoding(self) -> str: ...
    @property
    def eof(self) -> bool: ...
    def decompress(self, chunk: bytes) -> bytes: ...
    def finish(self) -> bytes: ...
