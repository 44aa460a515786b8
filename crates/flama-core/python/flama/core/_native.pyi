# The hand-written stub of the private native module; `python -m mypy.stubtest flama.core._native` checks it
# against the binary. Public names are re-exported (and documented) by `flama.core`.

from collections.abc import Callable
from typing import Any, Literal

__all__ = ["__version__", "json_decode", "json_encode"]
__version__: str

# ---- routing ----

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
