# The hand-written stub of the private native module; `python -m mypy.stubtest flama.core._native` checks it
# against the binary. Public names are re-exported (and documented) by `flama.core`.

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, ClassVar, Literal, final

from typing_extensions import Self

__all__ = [
    "Compressor",
    "Decompressor",
    "MethodNotAllowed",
    "MountMatch",
    "MultipartParser",
    "NotFound",
    "PartEnd",
    "PartStart",
    "RouteMatch",
    "Router",
    "__version__",
    "build_set_cookie",
    "compress",
    "decompress",
    "json_decode",
    "json_encode",
    "negotiate_encoding",
    "parse_boundary",
    "parse_content_type",
    "parse_cookies",
    "parse_urlencoded",
    "supported_encodings",
    "template_params",
]

__version__: str

# ---- routing ----

@final
class RouteMatch:
    @property
    def index(self) -> int: ...
    @property
    def params(self) -> dict[str, Any]: ...
    def __new__(cls, index: int, params: dict[str, Any]) -> RouteMatch: ...
    def __eq__(self, other: object, /) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

@final
class MountMatch:
    @property
    def index(self) -> int: ...
    @property
    def params(self) -> dict[str, Any]: ...
    @property
    def matched_path(self) -> str: ...
    @property
    def remaining_path(self) -> str: ...
    def __new__(cls, index: int, params: dict[str, Any], matched_path: str, remaining_path: str) -> MountMatch: ...
    def __eq__(self, other: object, /) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

@final
class NotFound:
    def __new__(cls) -> NotFound: ...
    def __eq__(self, other: object, /) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

@final
class MethodNotAllowed:
    @property
    def allow(self) -> tuple[str, ...]: ...
    def __new__(cls, allow: tuple[str, ...]) -> MethodNotAllowed: ...
    def __eq__(self, other: object, /) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

@final
class Router:
    def __new__(cls) -> Router: ...
    def add_route(
        self,
        template: str,
        *,
        methods: Sequence[str] | None = None,
        name: str | None = None,
        scope_type: Literal["http", "websocket"] = "http",
    ) -> int: ...
    def add_mount(self, template: str, *, name: str | None = None) -> int: ...
    def match(
        self, scope_type: str, method: str, path: str
    ) -> RouteMatch | MountMatch | NotFound | MethodNotAllowed: ...
    def url_path_for(self, name: str, /, **params: object) -> str: ...
    def __len__(self) -> int: ...

def template_params(template: str) -> list[tuple[str, str]]: ...

# ---- json ----

# Any JSON-able object goes in and any decoded value comes out: `Any` is the honest type for both.
def json_encode(
    obj: Any,
    *,
    sort_keys: bool = False,
    indent: int | None = None,
    non_finite: Literal["error", "null"] = "error",
    default: Callable[[Any], Any] | None = None,
) -> bytes: ...
def json_decode(data: bytes | bytearray | memoryview | str, *, yield_gil: bool = False) -> Any: ...

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
