# The hand-written stub of the private native module; `python -m mypy.stubtest flama.core._native` checks it
# against the binary. Public names are re-exported (and documented) by `flama.core`.

from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Literal, final

__all__ = [
    "MethodNotAllowed",
    "MountMatch",
    "NotFound",
    "RouteMatch",
    "Router",
    "__version__",
    "json_decode",
    "json_encode",
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
    obj: Any,  # noqa: ANN401
    *,
    sort_keys: bool = False,
    indent: int | None = None,
    non_finite: Literal["error", "null"] = "error",
    default: Callable[[Any], Any] | None = None,
) -> bytes: ...
def json_decode(data: bytes | bytearray | memoryview | str) -> Any: ...  # noqa: ANN401

# ---- forms ----

# ---- headers ----

# ---- codecs ----
