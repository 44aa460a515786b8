//! Conversion of the crate's `Error` into the Python exceptions of `flama.core.exceptions`.

use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

use crate::error::Error;

static EXCEPTIONS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// The exception class `name` of `flama.core.exceptions`.
fn exception_class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyType>> {
    let module =
        EXCEPTIONS.get_or_try_init(py, || py.import("flama.core.exceptions").map(Bound::unbind))?;
    Ok(module.bind(py).getattr(name)?.cast_into::<PyType>()?)
}

/// Build the Python exception for `err`.
pub fn to_pyerr(py: Python<'_>, err: &Error) -> PyErr {
    let message = err.to_string();
    let (name, extra): (&str, Option<(&str, u64)>) = match err {
        Error::Template { .. } => ("RouteTemplateError", None),
        Error::UrlBuild { .. } => ("URLBuildError", None),
        Error::JsonEncode { .. } => ("JSONEncodeError", None),
        Error::NonFiniteFloat { .. } => ("NonFiniteFloatError", None),
        Error::JsonDecode { .. } => ("JSONDecodeError", None),
        Error::MalformedBody { .. } => ("MalformedBody", None),
        Error::MissingBoundary => ("MissingBoundary", None),
        Error::PayloadTooLarge { limit, maximum } => ("PayloadTooLarge", Some((*limit, *maximum))),
        Error::ClientDisconnected => ("ClientDisconnected", None),
        Error::UnknownEncoding { .. } | Error::CorruptData { .. } => ("CodecError", None),
        Error::DecompressionLimit { .. } => ("DecompressionLimitExceeded", None),
        Error::InvalidArgument { .. } => ("InvalidArgumentError", None),
        Error::Io(_) => return PyOSError::new_err(message),
    };
    let class = match exception_class(py, name) {
        Ok(class) => class,
        Err(import_error) => return import_error,
    };
    let instance = match extra {
        Some((limit, maximum)) => class.call1((message, limit, maximum)),
        None => class.call1((message,)),
    };
    match instance {
        Ok(instance) => PyErr::from_value(instance),
        Err(call_error) => call_error,
    }
}

impl From<Error> for PyErr {
    fn from(err: Error) -> Self {
        Python::attach(|py| to_pyerr(py, &err))
    }
}
