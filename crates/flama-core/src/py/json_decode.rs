//! `json_decode`: JSON text to Python objects, parsed by `jiter`.
//!
//! By default under the interpreter lock, with jiter's own builder of Python objects (the quickest way for the small
//! bodies most requests carry). With `release_gil=True`, for a large body decoded in a worker thread: jiter parses
//! it into its own tree without the lock; the Python objects are built from the tree with the lock, running a no-op
//! Python function every `YIELD_EVERY` objects; the tree is freed without the lock. A thread that has waited for the
//! lock for a switch interval (5 ms) asks for it, and the interpreter hands it over when that function runs, as it
//! does between any two Python calls. Releasing and retaking the lock instead would not do: the retaking thread wins
//! the race against a waiter that is still waking up, and each release restarts the waiter's 5 ms wait, so it would
//! never ask. A 16 MiB body then stops the event loop for a few milliseconds at a time instead of for the whole
//! decode.

use jiter::{cached_py_string, FloatMode, JsonValue, PartialMode, PythonParse, StringCacheMode};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyList, PyMemoryView, PyString};

use super::json::{key_label, type_name};
use crate::error::Error;
use crate::json::{self as write, PathSegment};

/// Python objects built between two chances for another thread to take the interpreter lock (about 0.5 ms of work).
const YIELD_EVERY: usize = 16_384;

/// A Python function that does nothing: calling it is a point where the interpreter switches threads.
static SWITCH_POINT: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Decode a JSON document.
///
/// Integers of any size up to 4300 digits become ``int``, other numbers ``float``; ``NaN`` and ``Infinity`` are
/// refused, as is a byte order mark. Nesting is limited to 200 levels.
///
/// Args:
///     data: UTF-8 JSON text, as bytes or as ``str``.
///     release_gil: Parse without holding the interpreter lock and let other threads run while the objects are
///         built: for a large document decoded in a worker thread, so that the event loop goes on meanwhile. The
///         result and the errors are the same; a small document decodes faster without it.
///
/// Returns:
///     The decoded value.
///
/// Raises:
///     JSONDecodeError: The input is not valid JSON; the message gives the line and column.
// The doc comment is the Python docstring (Google style), not rustdoc Markdown.
#[allow(clippy::doc_markdown)]
#[pyfunction]
#[pyo3(signature = (data, *, release_gil = false))]
fn json_decode<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    release_gil: bool,
) -> PyResult<Bound<'py, PyAny>> {
    if let Ok(bytes) = data.cast::<PyBytes>() {
        return parse(py, bytes.as_bytes(), release_gil);
    }
    if let Ok(text) = data.cast::<PyString>() {
        let text = text.to_str().map_err(|_| Error::JsonDecode {
            reason: "the text contains a lone surrogate, which is not valid Unicode".to_owned(),
        })?;
        return parse(py, text.as_bytes(), release_gil);
    }
    if let Ok(bytes) = data.cast::<PyByteArray>() {
        return parse(py, &bytes.to_vec(), release_gil);
    }
    if data.cast::<PyMemoryView>().is_ok() {
        let copy = py.get_type::<PyBytes>().call1((data,))?;
        return parse(py, copy.cast::<PyBytes>()?.as_bytes(), release_gil);
    }
    Err(PyTypeError::new_err(format!(
        "json_decode() takes bytes, bytearray, memoryview or str, not '{}'",
        type_name(data)
    )))
}

fn parse<'py>(py: Python<'py>, data: &[u8], release_gil: bool) -> PyResult<Bound<'py, PyAny>> {
    if release_gil {
        return parse_detached(py, data);
    }
    let parser = PythonParse {
        allow_inf_nan: false,
        cache_mode: StringCacheMode::Keys,
        partial_mode: PartialMode::Off,
        catch_duplicate_keys: false,
        float_mode: FloatMode::Float,
    };
    let value = parser
        .python_parse(py, data)
        .map_err(|err| invalid(err.description(data)))?;
    finite(value, write::may_overflow_float(data))
}

/// Parse and scan the numbers without the interpreter lock, build the Python objects, free the tree without the lock.
fn parse_detached<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let parsed = py.detach(|| {
        JsonValue::parse(data, false).map(|tree| (tree, write::may_overflow_float(data)))
    });
    let (tree, suspicious) = parsed.map_err(|err| invalid(err.description(data)))?;
    let built = Builder { py, made: 0 }.build(&tree);
    py.detach(move || drop(tree));
    finite(built?, suspicious)
}

/// The value, unless it holds an infinite float (looked for only when the text was `suspicious`).
///
/// jiter turns a number beyond f64's range into infinity, which no JSON encoder can write back: it is refused here,
/// as an input error, rather than let it surface later as a server error.
fn finite(value: Bound<'_, PyAny>, suspicious: bool) -> PyResult<Bound<'_, PyAny>> {
    let mut path = Vec::new();
    if suspicious && find_non_finite(&value, &mut path) {
        path.reverse();
        return Err(invalid(format!(
            "number out of range at {}: it does not fit a 64-bit float",
            write::render_path(&path)
        )));
    }
    Ok(value)
}

fn invalid(reason: String) -> PyErr {
    Error::JsonDecode { reason }.into()
}

/// Builds Python objects from a parsed tree, letting other threads take the interpreter lock now and then.
struct Builder<'py> {
    py: Python<'py>,
    made: usize,
}

impl<'py> Builder<'py> {
    fn build(&mut self, value: &JsonValue<'_>) -> PyResult<Bound<'py, PyAny>> {
        let py = self.py;
        self.made += 1;
        if self.made % YIELD_EVERY == 0 {
            let point = SWITCH_POINT.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
                Ok(py.eval(c"lambda: None", None, None)?.unbind())
            })?;
            point.call0(py)?;
        }
        Ok(match value {
            JsonValue::Null => py.None().into_bound(py),
            JsonValue::Bool(flag) => PyBool::new(py, *flag).to_owned().into_any(),
            JsonValue::Int(number) => number.into_pyobject(py)?.into_any(),
            JsonValue::BigInt(number) => number.into_pyobject(py)?.into_any(),
            JsonValue::Float(number) => PyFloat::new(py, *number).into_any(),
            JsonValue::Str(text) => PyString::new(py, text).into_any(),
            JsonValue::Array(items) => {
                let items = items
                    .iter()
                    .map(|item| self.build(item))
                    .collect::<PyResult<Vec<_>>>()?;
                PyList::new(py, items)?.into_any()
            }
            JsonValue::Object(pairs) => {
                let dict = PyDict::new(py);
                for (key, item) in pairs.iter() {
                    dict.set_item(cached_py_string(py, key), self.build(item)?)?;
                }
                dict.into_any()
            }
        })
    }
}

/// Whether a decoded value holds an infinite float; `path` collects where, innermost first.
fn find_non_finite(value: &Bound<'_, PyAny>, path: &mut Vec<PathSegment>) -> bool {
    if let Ok(number) = value.cast::<PyFloat>() {
        return !number.value().is_finite();
    }
    if let Ok(list) = value.cast::<PyList>() {
        for (index, item) in list.iter().enumerate() {
            if find_non_finite(&item, path) {
                path.push(PathSegment::Index(index));
                return true;
            }
        }
    } else if let Ok(dict) = value.cast::<PyDict>() {
        for (key, item) in dict.iter() {
            if find_non_finite(&item, path) {
                path.push(PathSegment::Key(key_label(&key)));
                return true;
            }
        }
    }
    false
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(json_decode, m)?)?;
    Ok(())
}
