//! `json_decode`: JSON text to Python objects, parsed by `jiter`.
//!
//! By default with jiter's own builder of Python objects, which holds the interpreter lock for the whole decode (the
//! quickest way, for the small bodies most requests carry). With `yield_gil=True`, for a large body decoded in a worker
//! thread: jiter's pull parser (`Jiter`) is walked here, each value built as it is read, and every `YIELD_EVERY` values
//! a no-op Python function runs. A thread that has waited for the lock for a switch interval (5 ms) asks for it, and
//! the interpreter hands it over when that function runs, as it does between any two Python calls. Releasing and
//! retaking the lock instead would not do: the retaking thread wins the race against a waiter that is still waking
//! up, and each release restarts the waiter's 5 ms wait, so it would never ask; parsing into jiter's tree without the
//! lock first would, but the tree beside the objects doubles the memory a decode takes. A 16 MiB body then stops the
//! event loop for a few milliseconds at a time instead of for the whole decode.

use jiter::{
    cached_py_string, FloatMode, Jiter, JiterError, JsonError, JsonErrorType, NumberAny, NumberInt,
    PartialMode, Peek, PythonParse, StringCacheMode,
};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyList, PyMemoryView, PyString};

use super::json::{key_label, type_name};
use crate::error::Error;
use crate::json::{self as write, PathSegment};

/// Values built between two chances for another thread to take the interpreter lock (about 0.5 ms of work).
const YIELD_EVERY: usize = 16_384;

/// A Python function that does nothing: calling it is a point where the interpreter switches threads.
static SWITCH_POINT: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Decode a JSON document.
///
/// Integers of any size up to 4300 digits become ``int``, other numbers ``float``; ``NaN`` and ``Infinity`` are
/// refused, as is a byte order mark. Nesting is limited: 201 arrays or objects inside one another decode, 202 do not.
///
/// Args:
///     data: UTF-8 JSON text, as bytes or as ``str``.
///     yield_gil: Let other threads take the interpreter lock every few milliseconds while the document decodes: for
///         a large document decoded in a worker thread, so that the event loop goes on meanwhile. The result and the
///         errors are the same; a small document decodes faster without it.
///
/// Returns:
///     The decoded value.
///
/// Raises:
///     JSONDecodeError: The input is not valid JSON; the message gives the line and column.
// The doc comment is the Python docstring (Google style), not rustdoc Markdown.
#[allow(clippy::doc_markdown)]
#[pyfunction]
#[pyo3(signature = (data, *, yield_gil = false))]
fn json_decode<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    yield_gil: bool,
) -> PyResult<Bound<'py, PyAny>> {
    if let Ok(bytes) = data.cast::<PyBytes>() {
        return parse(py, bytes.as_bytes(), yield_gil);
    }
    if let Ok(text) = data.cast::<PyString>() {
        let text = text.to_str().map_err(|_| Error::JsonDecode {
            reason: "the text contains a lone surrogate, which is not valid Unicode".to_owned(),
        })?;
        return parse(py, text.as_bytes(), yield_gil);
    }
    if let Ok(bytes) = data.cast::<PyByteArray>() {
        return parse(py, &bytes.to_vec(), yield_gil);
    }
    if data.cast::<PyMemoryView>().is_ok() {
        let copy = py.get_type::<PyBytes>().call1((data,))?;
        return parse(py, copy.cast::<PyBytes>()?.as_bytes(), yield_gil);
    }
    Err(PyTypeError::new_err(format!(
        "json_decode() takes bytes, bytearray, memoryview or str, not '{}'",
        type_name(data)
    )))
}

fn parse<'py>(py: Python<'py>, data: &[u8], yield_gil: bool) -> PyResult<Bound<'py, PyAny>> {
    if yield_gil {
        return parse_yielding(py, data);
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

/// Walk jiter's pull parser, building each value as it is read and letting other threads run now and then.
fn parse_yielding<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    // A pass over every byte (10 to 15 ms for 16 MiB), which needs no Python object: done without the lock.
    let suspicious = py.detach(|| write::may_overflow_float(data));
    let mut walk = Walk {
        py,
        jiter: Jiter::new(data),
        data,
        made: 0,
        depth_left: MAX_NESTING,
    };
    let peek = walk.jiter.peek().map_err(|err| walk.invalid(&err))?;
    let value = walk.value(peek)?;
    walk.jiter.finish().map_err(|err| walk.invalid(&err))?;
    finite(value, suspicious)
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

/// Values nested in the document's own value before the recursion limit (jiter's parsers' own limit).
const MAX_NESTING: u8 = 200;

/// A decode in progress over jiter's pull parser.
struct Walk<'j, 'py> {
    py: Python<'py>,
    jiter: Jiter<'j>,
    data: &'j [u8],
    made: usize,
    depth_left: u8,
}

impl<'py> Walk<'_, 'py> {
    /// The value starting at `peek`, read and built.
    fn value(&mut self, peek: Peek) -> PyResult<Bound<'py, PyAny>> {
        let py = self.py;
        self.made += 1;
        if self.made % YIELD_EVERY == 0 {
            let point = SWITCH_POINT.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
                Ok(py.eval(c"lambda: None", None, None)?.unbind())
            })?;
            point.call0(py)?;
        }
        Ok(match peek {
            Peek::Null => {
                self.jiter.known_null().map_err(|err| self.invalid(&err))?;
                py.None().into_bound(py)
            }
            Peek::True | Peek::False => {
                let flag = self
                    .jiter
                    .known_bool(peek)
                    .map_err(|err| self.invalid(&err))?;
                PyBool::new(py, flag).to_owned().into_any()
            }
            Peek::String => match self.jiter.known_str() {
                Ok(text) => PyString::new(py, text).into_any(),
                Err(err) => return Err(self.invalid(&err)),
            },
            Peek::Array => {
                let mut items = Vec::new();
                let mut next = self.jiter.known_array().map_err(|err| self.invalid(&err))?;
                while let Some(peek) = next {
                    items.push(self.nested(peek)?);
                    next = self.jiter.array_step().map_err(|err| self.invalid(&err))?;
                }
                PyList::new(py, items)?.into_any()
            }
            Peek::Object => {
                let dict = PyDict::new(py);
                let mut key = match self.jiter.known_object() {
                    Ok(key) => key.map(|key| cached_py_string(py, key)),
                    Err(err) => return Err(self.invalid(&err)),
                };
                while let Some(name) = key {
                    let peek = self.jiter.peek().map_err(|err| self.invalid(&err))?;
                    dict.set_item(name, self.nested(peek)?)?;
                    key = match self.jiter.next_key() {
                        Ok(key) => key.map(|key| cached_py_string(py, key)),
                        Err(err) => return Err(self.invalid(&err)),
                    };
                }
                dict.into_any()
            }
            _ => match self
                .jiter
                .known_number(peek)
                .map_err(|err| self.invalid(&err))?
            {
                NumberAny::Int(NumberInt::Int(number)) => number.into_pyobject(py)?.into_any(),
                NumberAny::Int(NumberInt::BigInt(number)) => number.into_pyobject(py)?.into_any(),
                NumberAny::Float(number) => PyFloat::new(py, number).into_any(),
            },
        })
    }

    /// A value inside an array or an object, within the recursion limit.
    fn nested(&mut self, peek: Peek) -> PyResult<Bound<'py, PyAny>> {
        let Some(left) = self.depth_left.checked_sub(1) else {
            let error = JsonError {
                error_type: JsonErrorType::RecursionLimitExceeded,
                index: self.jiter.current_index(),
            };
            return Err(invalid(error.description(self.data)));
        };
        self.depth_left = left;
        let value = self.value(peek);
        self.depth_left += 1;
        value
    }

    fn invalid(&self, error: &JiterError) -> PyErr {
        invalid(error.description(&self.jiter))
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
