//! Python bindings: the private module `flama.core._native`. Each topic registers its own names.

use pyo3::prelude::*;

mod args;
mod codecs;
mod errors;
mod forms;
mod headers;
mod json;
mod json_decode;
mod routing;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    routing::register(m)?;
    json::register(m)?;
    json_decode::register(m)?;
    forms::register(m)?;
    headers::register(m)?;
    codecs::register(m)?;
    Ok(())
}
