# The hand-written stub of the private native module; `python -m mypy.stubtest flama.core._native` checks it
# against the binary. Public names are re-exported (and documented) by `flama.core`.

from typing import final

__all__ = [
    "MultipartParser",
    "PartEnd",
    "PartStart",
    "__version__",
    "parse_boundary",
    "parse_urlencoded",
]
__version__: str

# ---- routing ----

# ---- json ----

# ---- forms ----

def parse_urlencoded(data: bytes, *, max_fields: int | None = None) -> list[tuple[str, str]]: ...
def parse_boundary(content_type: str) -> bytes: ...

@final
class PartStart:
    @property
    def name(self) -> str: ...
    @property
    def filename(self) -> str | None: ...
    @property
    def content_type(self) -> str | None: ...
    @property
    def headers(self) -> list[tuple[str, str]]: ...

@final
class PartEnd: ...

@final
class MultipartParser:
    def __new__(
        cls, boundary: bytes, *, max_header_size: int = 16384, max_parts: int | None = None
    ) -> MultipartParser: ...
    def feed(self, chunk: bytes) -> list[PartStart | bytes | PartEnd]: ...
    def finish(self) -> None: ...

# ---- headers ----

# ---- codecs ----
