# The hand-written stub of the private native module; `python -m mypy.stubtest flama.core._native` checks it
# against the binary. Public names are re-exported (and documented) by `flama.core`.

__all__ = ["__version__"]
__version__: str

# ---- routing ----

# ---- json ----

# ---- forms ----

# ---- headers ----

# ---- codecs ----
