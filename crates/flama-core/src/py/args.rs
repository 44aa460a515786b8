//! Argument extractors that report Python's conversion failures as the core's own `InvalidArgumentError`.
//!
//! `PyO3`'s own extraction raises `UnicodeEncodeError` for a `str` holding a lone surrogate and `OverflowError` for
//! an `int` out of the Rust type's range; callers of `flama.core` catch `CoreError` (or `ValueError`) instead.

use std::ops::Deref;

use pyo3::exceptions::{PyOverflowError, PyUnicodeEncodeError};
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::error::Error;

fn surrogate_error() -> PyErr {
    Error::InvalidArgument {
        reason: "the text contains a lone surrogate, which UTF-8 cannot encode".to_owned(),
    }
    .into()
}

/// The UTF-8 text of `text`, or `InvalidArgumentError` for a lone surrogate.
pub fn utf8<'a>(text: &'a Bound<'_, PyString>) -> PyResult<&'a str> {
    text.to_str().map_err(|err| {
        if err.is_instance_of::<PyUnicodeEncodeError>(text.py()) {
            surrogate_error()
        } else {
            err
        }
    })
}

/// A `str` argument borrowed as UTF-8.
pub struct Text<'a>(pub &'a str);

impl Deref for Text<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        self.0
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for Text<'a> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        match <&'a str>::extract(obj) {
            Ok(text) => Ok(Self(text)),
            Err(err) if err.is_instance_of::<PyUnicodeEncodeError>(obj.py()) => {
                Err(surrogate_error())
            }
            Err(err) => Err(err),
        }
    }
}

/// A `str` argument copied as UTF-8, for sequences of strings.
pub struct OwnedText(pub String);

impl<'py> FromPyObject<'_, 'py> for OwnedText {
    type Error = PyErr;

    fn extract(obj: Borrowed<'_, 'py, PyAny>) -> PyResult<Self> {
        Text::extract(obj).map(|text| Self(text.0.to_owned()))
    }
}

/// An `int` argument that must fit `T`; anything outside is `InvalidArgumentError`, not `OverflowError`.
pub struct Int<T>(pub T);

impl<'py, T> FromPyObject<'_, 'py> for Int<T>
where
    T: for<'a> FromPyObject<'a, 'py, Error = PyErr>,
{
    type Error = PyErr;

    fn extract(obj: Borrowed<'_, 'py, PyAny>) -> PyResult<Self> {
        match obj.extract::<T>() {
            Ok(value) => Ok(Self(value)),
            Err(err) if err.is_instance_of::<PyOverflowError>(obj.py()) => {
                let shown = obj.repr().map_or_else(
                    |_| "?".to_owned(),
                    |repr| repr.to_string_lossy().into_owned(),
                );
                // A 5000-digit int is not worth echoing whole.
                let shown = if shown.len() > 40 {
                    format!("{}...", &shown[..40])
                } else {
                    shown
                };
                Err(Error::InvalidArgument {
                    reason: format!("{shown} is out of range"),
                }
                .into())
            }
            Err(err) => Err(err),
        }
    }
}
