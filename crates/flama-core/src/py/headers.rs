//! Bindings for `headers`: cookies, content type and content-coding negotiation.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDateTime, PyDict, PyInt, PyString, PyTzInfo};

use super::args::{utf8, Int, OwnedText, Text};
use crate::headers::{self, Expires, Negotiated, SameSite, SetCookie};

/// Parse a `Cookie` header into a dict; when a name repeats, the first occurrence wins.
#[pyfunction]
fn parse_cookies<'py>(py: Python<'py>, header: Text<'_>) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (name, value) in headers::parse_cookies(&header) {
        dict.set_item(name, value)?;
    }
    Ok(dict)
}

/// Seconds since the epoch of `value`; a naive datetime is taken as UTC.
fn datetime_timestamp(py: Python<'_>, value: &Bound<'_, PyDateTime>) -> PyResult<i64> {
    let aware = if value.getattr("tzinfo")?.is_none() {
        let kwargs = PyDict::new(py);
        kwargs.set_item("tzinfo", PyTzInfo::utc(py)?)?;
        value.call_method("replace", (), Some(&kwargs))?
    } else {
        value.clone().into_any()
    };
    let seconds: f64 = aware.call_method0("timestamp")?.extract()?;
    // Any datetime fits (years 1 to 9999 are about 3e11 seconds); `as` saturates anyway.
    #[allow(clippy::cast_possible_truncation)] // Intended: whole seconds, floored.
    Ok(seconds.floor() as i64)
}

/// Build a `Set-Cookie` header value.
#[pyfunction]
#[pyo3(signature = (
    name, value = Text(""), *, max_age = None, expires = None, path = Some(Text("/")), domain = None,
    secure = false, httponly = false, samesite = Some(Text("lax")), partitioned = false
))]
// PyO3 cannot render the `Some(..)` defaults itself.
#[pyo3(
    text_signature = "(name, value='', *, max_age=None, expires=None, path='/', domain=None, secure=False, \
                      httponly=False, samesite='lax', partitioned=False)"
)]
#[allow(clippy::too_many_arguments, clippy::fn_params_excessive_bools)] // Mirrors the Python signature.
fn build_set_cookie(
    py: Python<'_>,
    name: Text<'_>,
    value: Text<'_>,
    max_age: Option<Int<i64>>,
    expires: Option<Bound<'_, PyAny>>,
    path: Option<Text<'_>>,
    domain: Option<Text<'_>>,
    secure: bool,
    httponly: bool,
    samesite: Option<Text<'_>>,
    partitioned: bool,
) -> PyResult<String> {
    let text;
    let expires = match &expires {
        None => None,
        Some(given) => {
            if let Ok(date) = given.cast::<PyDateTime>() {
                Some(Expires::Timestamp(datetime_timestamp(py, date)?))
            } else if let Ok(string) = given.cast::<PyString>() {
                text = utf8(string)?.to_owned();
                Some(Expires::Text(&text))
            } else if given.is_instance_of::<PyInt>() && !given.is_instance_of::<PyBool>() {
                Some(Expires::Timestamp(given.extract::<Int<i64>>()?.0))
            } else {
                return Err(PyTypeError::new_err(format!(
                    "expires must be a datetime, a str or an int timestamp, not {}",
                    given.get_type().name()?
                )));
            }
        }
    };
    let max_age = max_age.map(|seconds| seconds.0);
    let cookie = SetCookie {
        name: &name,
        value: &value,
        max_age,
        expires,
        path: path.as_deref(),
        domain: domain.as_deref(),
        secure,
        httponly,
        samesite: samesite.as_deref().map(SameSite::from_name).transpose()?,
        partitioned,
    };
    Ok(cookie.build()?)
}

/// Parse a `Content-Type` value into the lower-cased media type and its parameters.
#[pyfunction]
fn parse_content_type<'py>(
    py: Python<'py>,
    value: Text<'_>,
) -> PyResult<(String, Bound<'py, PyDict>)> {
    let (media_type, params) = headers::parse_content_type(&value);
    let dict = PyDict::new(py);
    for (name, value) in params {
        dict.set_item(name, value)?;
    }
    Ok((media_type, dict))
}

/// Pick a content coding from `available` for an `Accept-Encoding` header.
#[pyfunction]
fn negotiate_encoding(accept_encoding: Text<'_>, available: Vec<OwnedText>) -> Option<String> {
    let available: Vec<String> = available.into_iter().map(|name| name.0).collect();
    match headers::negotiate_encoding(&accept_encoding, &available) {
        Negotiated::Coding(index) => available.into_iter().nth(index),
        Negotiated::Identity => Some("identity".to_owned()),
        Negotiated::NotAcceptable => None,
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(parse_cookies, m)?)?;
    m.add_function(wrap_pyfunction!(build_set_cookie, m)?)?;
    m.add_function(wrap_pyfunction!(parse_content_type, m)?)?;
    m.add_function(wrap_pyfunction!(negotiate_encoding, m)?)?;
    Ok(())
}
