//! flama-core: the compiled core of Flama.
//!
//! The topic modules below are pure Rust and never touch Python: `cargo test`, the benches and the fuzz
//! targets use them directly. The `python` feature adds `py`, the one place where they are bound to Python as
//! the private module `flama.core._native`.

pub mod codecs;
pub mod error;
pub mod forms;
pub mod headers;
pub mod json;
pub mod multipart;
pub mod routing;

#[cfg(feature = "python")]
mod py;

pub use error::{Error, Result};
