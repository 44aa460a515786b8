//! Bindings for the JSON encoder: `json_encode` walks Python objects and writes through `crate::json` (the decoder
//! is `super::json_decode`).

use std::borrow::Cow;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDate, PyDateTime, PyDelta, PyDict, PyFloat, PyFrozenSet, PyInt,
    PyList, PyMemoryView, PySet, PyString, PyTime, PyTuple, PyType,
};
use pyo3::types::{PyDateAccess, PyDeltaAccess, PyTimeAccess, PyTzInfoAccess};

use super::args::{Int, Text};
use crate::error::Error;
use crate::json::{self as write, PathSegment, Writer, MAX_DEPTH, MAX_INDENT};

/// Why encoding stopped; turned into an exception once the path is known.
enum Failure {
    /// An exception raised by Python code we called (`default`, `isoformat`, ...): re-raised as it is.
    Python(PyErr),
    Unsupported(String),
    UnsupportedKey(String),
    NonFinite,
    Circular,
    TooDeep,
    Surrogate,
    Mutated,
    /// An `int` longer than Python agrees to write in decimal (`sys.get_int_max_str_digits()`).
    IntTooLarge,
}

/// A failure and where it happened; `path` is collected innermost first while the recursion unwinds.
struct Failed {
    failure: Failure,
    path: Vec<PathSegment>,
    /// For a circular reference: how many segments of the path lead to the repeated container.
    cut: Option<usize>,
}

/// Boxed so that the `Result` every recursive call returns stays one word wide on the hot path.
struct EncodeError(Box<Failed>);

type Encoded = Result<(), EncodeError>;

fn fail(failure: Failure) -> EncodeError {
    EncodeError(Box::new(Failed {
        failure,
        path: Vec::new(),
        cut: None,
    }))
}

impl From<PyErr> for EncodeError {
    fn from(err: PyErr) -> Self {
        fail(Failure::Python(err))
    }
}

impl EncodeError {
    fn into_pyerr(self) -> PyErr {
        let Failed {
            failure,
            mut path,
            cut,
        } = *self.0;
        path.reverse();
        if let Some(cut) = cut {
            path.truncate(cut);
        }
        let path = write::render_path(&path);
        let reason = match failure {
            Failure::Python(err) => return err,
            Failure::NonFinite => return Error::NonFiniteFloat { path }.into(),
            Failure::Unsupported(name) => format!("unsupported type '{name}'"),
            Failure::UnsupportedKey(name) => {
                format!(
                    "unsupported key type '{name}' (keys must be str, int, float, bool or None)"
                )
            }
            Failure::Circular => "circular reference".to_owned(),
            Failure::TooDeep => format!("nesting deeper than {MAX_DEPTH} levels"),
            Failure::Surrogate => {
                "string contains a lone surrogate, which UTF-8 cannot encode".to_owned()
            }
            Failure::Mutated => "container changed size while it was being encoded".to_owned(),
            Failure::IntTooLarge => {
                "integer has more digits than sys.get_int_max_str_digits() allows".to_owned()
            }
        };
        Error::JsonEncode { path, reason }.into()
    }
}

/// The type name used in error messages.
pub(super) fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map_or_else(|_| "?".to_owned(), |name| name.to_string())
}

/// The key text used in an error path.
pub(super) fn key_label(key: &Bound<'_, PyAny>) -> String {
    match key.cast::<PyString>() {
        Ok(text) => text.to_string_lossy().into_owned(),
        Err(_) => key.str().map_or_else(
            |_| "?".to_owned(),
            |text| text.to_string_lossy().into_owned(),
        ),
    }
}

static SYS_MODULES: PyOnceLock<Py<PyDict>> = PyOnceLock::new();

/// A class from a module that is already imported, cached once found. A module that was never imported cannot
/// have made the object being encoded, so it is not imported here (numpy stays optional and cheap).
fn loaded_class<'py>(
    py: Python<'py>,
    cell: &PyOnceLock<Py<PyAny>>,
    module: &str,
    name: &str,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    if let Some(class) = cell.get(py) {
        return Ok(Some(class.bind(py).clone()));
    }
    let modules = SYS_MODULES.get_or_try_init(py, || -> PyResult<Py<PyDict>> {
        Ok(py
            .import("sys")?
            .getattr("modules")?
            .cast_into::<PyDict>()?
            .unbind())
    })?;
    let Some(loaded) = modules.bind(py).get_item(module)? else {
        return Ok(None);
    };
    let class = loaded.getattr(name)?;
    Ok(Some(
        cell.get_or_init(py, || class.unbind()).bind(py).clone(),
    ))
}

/// `isinstance(obj, module.name)`, false when the module is not imported.
fn is_instance_of_loaded(
    obj: &Bound<'_, PyAny>,
    cell: &PyOnceLock<Py<PyAny>>,
    module: &str,
    name: &str,
) -> PyResult<bool> {
    match loaded_class(obj.py(), cell, module, name)? {
        Some(class) => obj.is_instance(&class),
        None => Ok(false),
    }
}

static UUID: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static DECIMAL: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static ENUM: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static DATACLASS_FIELDS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static FSPATH: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static NP_NDARRAY: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static NP_GENERIC: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static NP_BOOL: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static NP_INTEGER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static NP_FLOATING: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static NP_FLOAT32: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

struct Encoder<'py> {
    writer: Writer,
    sort_keys: bool,
    non_finite_null: bool,
    default: Option<Bound<'py, PyAny>>,
    /// The objects being encoded, outermost first, and whether each is a container (adds a path segment).
    stack: Vec<(usize, bool)>,
    /// Quoted forms of recently seen `str` keys, slotted by object address: records share their key objects,
    /// so most keys are written by one copy. Each slot holds its key alive, so an address cannot be reused.
    keys: Vec<Option<CachedKey<'py>>>,
    uncached_keys: usize,
}

/// How many keys the cache holds, and the longest key it keeps.
const KEY_SLOTS: usize = 512;
const KEY_CACHE_MAX_LEN: usize = 64;
/// How many keys are written before the cache is set up.
const KEY_CACHE_AFTER: usize = 64;

struct CachedKey<'py> {
    key: Bound<'py, PyAny>,
    quoted: Box<[u8]>,
}

impl<'py> Encoder<'py> {
    /// Push `obj` on the nesting stack, refusing to go past `MAX_DEPTH`.
    #[inline]
    fn enter(&mut self, obj: &Bound<'py, PyAny>, container: bool) -> Encoded {
        let id = obj.as_ptr() as usize;
        if self.stack.len() >= MAX_DEPTH {
            return Err(self.too_deep(id));
        }
        self.stack.push((id, container));
        Ok(())
    }

    #[inline]
    fn leave(&mut self) {
        self.stack.pop();
    }

    /// The error for passing the depth limit: a circular reference when an object repeats on the stack.
    #[cold]
    fn too_deep(&self, id: usize) -> EncodeError {
        let ids = self
            .stack
            .iter()
            .map(|&(id, _)| id)
            .chain(std::iter::once(id));
        for (position, candidate) in ids.clone().enumerate() {
            if ids.clone().take(position).any(|seen| seen == candidate) {
                let segments = self
                    .stack
                    .iter()
                    .take(position)
                    .filter(|&&(_, container)| container)
                    .count();
                return EncodeError(Box::new(Failed {
                    failure: Failure::Circular,
                    path: Vec::new(),
                    cut: Some(segments),
                }));
            }
        }
        fail(Failure::TooDeep)
    }

    fn value(&mut self, obj: &Bound<'py, PyAny>) -> Encoded {
        if let Ok(text) = obj.cast_exact::<PyString>() {
            write::write_str(
                &mut self.writer.buf,
                text.to_str().map_err(|_| fail(Failure::Surrogate))?,
            );
            Ok(())
        } else if let Ok(int) = obj.cast_exact::<PyInt>() {
            self.int(int)
        } else if let Ok(float) = obj.cast_exact::<PyFloat>() {
            self.float(float.value())
        } else if let Ok(flag) = obj.cast_exact::<PyBool>() {
            self.writer
                .buf
                .extend_from_slice(if flag.is_true() { b"true" } else { b"false" });
            Ok(())
        } else if obj.is_none() {
            self.writer.buf.extend_from_slice(b"null");
            Ok(())
        } else if let Ok(dict) = obj.cast_exact::<PyDict>() {
            self.dict(dict)
        } else if let Ok(list) = obj.cast_exact::<PyList>() {
            self.array(obj, list.iter())
        } else if let Ok(tuple) = obj.cast_exact::<PyTuple>() {
            self.array(obj, tuple.iter())
        } else {
            self.other(obj)
        }
    }

    fn int(&mut self, int: &Bound<'py, PyInt>) -> Encoded {
        if let Ok(value) = int.extract::<i64>() {
            write::write_i64(&mut self.writer.buf, value);
        } else if let Ok(value) = int.extract::<u64>() {
            write::write_u64(&mut self.writer.buf, value);
        } else {
            // Beyond 64 bits: Python's own decimal text (`int.__repr__`, unaffected by subclasses' overrides).
            let text = py_int_repr(int).map_err(|err| {
                if err.is_instance_of::<PyValueError>(int.py()) {
                    fail(Failure::IntTooLarge)
                } else {
                    err.into()
                }
            })?;
            self.writer.buf.extend_from_slice(text.to_str()?.as_bytes());
        }
        Ok(())
    }

    #[inline]
    fn float(&mut self, value: f64) -> Encoded {
        if write::write_f64(&mut self.writer.buf, value) {
            Ok(())
        } else {
            self.non_finite()
        }
    }

    fn non_finite(&mut self) -> Encoded {
        if self.non_finite_null {
            self.writer.buf.extend_from_slice(b"null");
            Ok(())
        } else {
            Err(fail(Failure::NonFinite))
        }
    }

    fn array(
        &mut self,
        container: &Bound<'py, PyAny>,
        items: impl Iterator<Item = Bound<'py, PyAny>>,
    ) -> Encoded {
        self.enter(container, true)?;
        self.writer.open(b'[');
        let mut count = 0;
        for item in items {
            self.writer.element(count == 0);
            self.value(&item)
                .map_err(|err| at(err, PathSegment::Index(count)))?;
            count += 1;
        }
        self.writer.close(b']', count == 0);
        self.leave();
        Ok(())
    }

    fn dict(&mut self, dict: &Bound<'py, PyDict>) -> Encoded {
        self.enter(dict.as_any(), true)?;
        let len = dict.len();
        self.writer.open(b'{');
        if self.sort_keys {
            let mut members = Vec::with_capacity(len);
            for (key, value) in dict_items(dict, len)? {
                let text = self.key_text(&key)?.into_owned();
                members.push((text, key, value));
            }
            members.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            for (index, (text, key, value)) in members.iter().enumerate() {
                self.writer.element(index == 0);
                write::write_str(&mut self.writer.buf, text);
                self.writer.colon();
                self.value(value)
                    .map_err(|err| at(err, PathSegment::Key(key_label(key))))?;
            }
        } else {
            let mut items = dict.iter();
            for index in 0..len {
                // Checked before each step: pyo3's iterator would panic on a dict that changed size.
                if dict.len() != len {
                    return Err(fail(Failure::Mutated));
                }
                let Some((key, value)) = items.next() else {
                    break;
                };
                self.writer.element(index == 0);
                self.key(&key)?;
                self.writer.colon();
                self.value(&value)
                    .map_err(|err| at(err, PathSegment::Key(key_label(&key))))?;
            }
        }
        self.writer.close(b'}', len == 0);
        self.leave();
        Ok(())
    }

    /// Write a dict key as a quoted member name, from the key cache when this very object was seen before.
    fn key(&mut self, key: &Bound<'py, PyAny>) -> Encoded {
        let Ok(text) = key.cast_exact::<PyString>() else {
            let text = self.key_text(key)?;
            write::write_str(&mut self.writer.buf, &text);
            return Ok(());
        };
        if self.keys.is_empty() {
            // Small documents never fill the cache: setting it up (and dropping it) would cost more than it saves.
            self.uncached_keys += 1;
            if self.uncached_keys <= KEY_CACHE_AFTER {
                let text = text.to_str().map_err(|_| fail(Failure::Surrogate))?;
                write::write_str(&mut self.writer.buf, text);
                return Ok(());
            }
            self.keys.resize_with(KEY_SLOTS, || None);
        }
        let slot = (key.as_ptr() as usize >> 4) % KEY_SLOTS;
        if let Some(Some(cached)) = self.keys.get(slot) {
            if cached.key.is(key) {
                self.writer.buf.extend_from_slice(&cached.quoted);
                return Ok(());
            }
        }
        let start = self.writer.buf.len();
        let text = text.to_str().map_err(|_| fail(Failure::Surrogate))?;
        write::write_str(&mut self.writer.buf, text);
        if text.len() <= KEY_CACHE_MAX_LEN {
            let quoted = self.writer.buf.get(start..).unwrap_or_default().into();
            if let Some(entry) = self.keys.get_mut(slot) {
                *entry = Some(CachedKey {
                    key: key.clone(),
                    quoted,
                });
            }
        }
        Ok(())
    }

    /// The member name for a dict key, converted as the standard library does for non-string keys.
    fn key_text<'a>(&self, key: &'a Bound<'py, PyAny>) -> Result<Cow<'a, str>, EncodeError> {
        if let Ok(text) = key.cast::<PyString>() {
            return text.to_cow().map_err(|_| fail(Failure::Surrogate));
        }
        if let Ok(flag) = key.cast_exact::<PyBool>() {
            return Ok(Cow::Borrowed(if flag.is_true() { "true" } else { "false" }));
        }
        if key.is_none() {
            return Ok(Cow::Borrowed("null"));
        }
        let mut buf = Vec::new();
        if let Ok(int) = key.cast::<PyInt>() {
            if let Ok(value) = int.extract::<i64>() {
                write::write_i64(&mut buf, value);
            } else {
                return Ok(Cow::Owned(py_int_repr(int)?.to_str()?.to_owned()));
            }
        } else if let Ok(float) = key.cast::<PyFloat>() {
            if !write::write_f64(&mut buf, float.value()) {
                if self.non_finite_null {
                    return Ok(Cow::Borrowed("null"));
                }
                return Err(fail(Failure::NonFinite));
            }
        } else {
            return Err(fail(Failure::UnsupportedKey(type_name(key))));
        }
        Ok(Cow::Owned(String::from_utf8(buf).unwrap_or_default()))
    }

    /// Everything that is not an exact built-in JSON type.
    #[inline(never)]
    fn other(&mut self, obj: &Bound<'py, PyAny>) -> Encoded {
        let py = obj.py();
        if let Ok(text) = obj.cast::<PyString>() {
            write::write_str(
                &mut self.writer.buf,
                text.to_str().map_err(|_| fail(Failure::Surrogate))?,
            );
            return Ok(());
        }
        if let Ok(int) = obj.cast::<PyInt>() {
            return self.int(int);
        }
        if let Ok(float) = obj.cast::<PyFloat>() {
            return self.float(float.value());
        }
        if let Ok(dict) = obj.cast::<PyDict>() {
            return self.dict(dict);
        }
        if let Ok(list) = obj.cast::<PyList>() {
            return self.array(obj, list.iter());
        }
        if let Ok(tuple) = obj.cast::<PyTuple>() {
            return self.array(obj, tuple.iter());
        }
        if let Some(done) = self.temporal(obj) {
            return done;
        }
        if let Ok(bytes) = obj.cast::<PyBytes>() {
            write::write_base64(&mut self.writer.buf, bytes.as_bytes());
            return Ok(());
        }
        if let Ok(bytes) = obj.cast::<PyByteArray>() {
            write::write_base64(&mut self.writer.buf, &bytes.to_vec());
            return Ok(());
        }
        if obj.cast::<PyMemoryView>().is_ok() {
            let copy = py.get_type::<PyBytes>().call1((obj,))?;
            write::write_base64(
                &mut self.writer.buf,
                copy.cast::<PyBytes>().map_err(PyErr::from)?.as_bytes(),
            );
            return Ok(());
        }
        if obj.cast::<PySet>().is_ok() || obj.cast::<PyFrozenSet>().is_ok() {
            return self.set(obj);
        }
        if is_instance_of_loaded(obj, &UUID, "uuid", "UUID")? {
            let value: u128 = obj.getattr(pyo3::intern!(py, "int"))?.extract()?;
            write::write_uuid(&mut self.writer.buf, value);
            return Ok(());
        }
        if is_instance_of_loaded(obj, &DECIMAL, "decimal", "Decimal")? {
            if !obj
                .call_method0(pyo3::intern!(py, "is_finite"))?
                .is_truthy()?
            {
                return self.non_finite();
            }
            let text = obj.str()?;
            self.writer.buf.extend_from_slice(text.to_str()?.as_bytes());
            return Ok(());
        }
        if is_instance_of_loaded(obj, &ENUM, "enum", "Enum")? {
            let value = obj.getattr(pyo3::intern!(py, "value"))?;
            return self.nested(obj, &value);
        }
        if let Some(done) = self.numpy(obj)? {
            return done;
        }
        if obj
            .get_type()
            .hasattr(pyo3::intern!(py, "__dataclass_fields__"))?
            && !obj.is_instance_of::<PyType>()
        {
            return self.dataclass(obj);
        }
        if obj.get_type().hasattr(pyo3::intern!(py, "__fspath__"))? {
            let fspath = FSPATH.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
                Ok(py.import("os")?.getattr("fspath")?.unbind())
            })?;
            let path = fspath.bind(py).call1((obj,))?;
            return self.nested(obj, &path);
        }
        if let Some(default) = self.default.clone() {
            let replacement = default.call1((obj,))?;
            return self.nested(obj, &replacement);
        }
        Err(fail(Failure::Unsupported(type_name(obj))))
    }

    /// datetime, date, time and timedelta values; `None` when `obj` is none of them.
    fn temporal(&mut self, obj: &Bound<'py, PyAny>) -> Option<Encoded> {
        if let Ok(moment) = obj.cast::<PyDateTime>() {
            return Some(self.datetime(moment));
        }
        if let Ok(day) = obj.cast::<PyDate>() {
            if day.is_exact_instance_of::<PyDate>() {
                let buf = &mut self.writer.buf;
                buf.push(b'"');
                write::write_date_fields(buf, day.get_year(), day.get_month(), day.get_day());
                buf.push(b'"');
                return Some(Ok(()));
            }
            return Some(self.isoformat(obj));
        }
        if let Ok(time) = obj.cast::<PyTime>() {
            if time.is_exact_instance_of::<PyTime>() && time.get_tzinfo().is_none() {
                let buf = &mut self.writer.buf;
                buf.push(b'"');
                write::write_time_fields(
                    buf,
                    time.get_hour(),
                    time.get_minute(),
                    time.get_second(),
                    time.get_microsecond(),
                );
                buf.push(b'"');
                return Some(Ok(()));
            }
            return Some(self.isoformat(obj));
        }
        if let Ok(delta) = obj.cast::<PyDelta>() {
            write::write_duration(
                &mut self.writer.buf,
                delta.get_days().into(),
                delta.get_seconds().into(),
                delta.get_microseconds().into(),
            );
            return Some(Ok(()));
        }
        None
    }

    /// Encode `replacement` in place of `obj` (an enum's value, a path's text, `default`'s result), counting the
    /// step towards the depth limit so that a replacement chain that never ends is caught.
    fn nested(&mut self, obj: &Bound<'py, PyAny>, replacement: &Bound<'py, PyAny>) -> Encoded {
        self.enter(obj, false)?;
        self.value(replacement)?;
        self.leave();
        Ok(())
    }

    fn datetime(&mut self, moment: &Bound<'py, PyDateTime>) -> Encoded {
        if !moment.is_exact_instance_of::<PyDateTime>() || moment.get_tzinfo().is_some() {
            return self.isoformat(moment.as_any());
        }
        let buf = &mut self.writer.buf;
        buf.push(b'"');
        write::write_date_fields(buf, moment.get_year(), moment.get_month(), moment.get_day());
        buf.push(b'T');
        write::write_time_fields(
            buf,
            moment.get_hour(),
            moment.get_minute(),
            moment.get_second(),
            moment.get_microsecond(),
        );
        buf.push(b'"');
        Ok(())
    }

    /// Aware values and subclasses go through their own `isoformat()`.
    fn isoformat(&mut self, obj: &Bound<'py, PyAny>) -> Encoded {
        let text = obj.call_method0(pyo3::intern!(obj.py(), "isoformat"))?;
        let text = text.cast::<PyString>().map_err(PyErr::from)?;
        write::write_str(
            &mut self.writer.buf,
            text.to_str().map_err(|_| fail(Failure::Surrogate))?,
        );
        Ok(())
    }

    fn set(&mut self, obj: &Bound<'py, PyAny>) -> Encoded {
        let py = obj.py();
        let items = PyList::empty(py);
        for item in obj.try_iter()? {
            items.append(item?)?;
        }
        if self.sort_keys && items.sort().is_err() {
            // Items that cannot be compared keep their iteration order; the comparison error is dropped on purpose.
            let _ = PyErr::take(py);
        }
        self.array(obj, items.iter())
    }

    fn dataclass(&mut self, obj: &Bound<'py, PyAny>) -> Encoded {
        let py = obj.py();
        let fields = DATACLASS_FIELDS.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
            Ok(py.import("dataclasses")?.getattr("fields")?.unbind())
        })?;
        let fields = fields.bind(py).call1((obj,))?;
        let fields = fields.cast::<PyTuple>().map_err(PyErr::from)?;
        self.enter(obj, true)?;
        self.writer.open(b'{');
        let name_attr = pyo3::intern!(py, "name");
        for (index, field) in fields.iter().enumerate() {
            let name = field.getattr(name_attr)?;
            let name = name.cast::<PyString>().map_err(PyErr::from)?;
            let value = obj.getattr(name)?;
            self.writer.element(index == 0);
            let text = name.to_str().map_err(|_| fail(Failure::Surrogate))?;
            write::write_str(&mut self.writer.buf, text);
            self.writer.colon();
            self.value(&value)
                .map_err(|err| at(err, PathSegment::Key(text.to_owned())))?;
        }
        self.writer.close(b'}', fields.is_empty());
        self.leave();
        Ok(())
    }

    /// numpy arrays and scalars, recognised without importing numpy. `None` when `obj` is not one.
    fn numpy(&mut self, obj: &Bound<'py, PyAny>) -> PyResult<Option<Encoded>> {
        if is_instance_of_loaded(obj, &NP_NDARRAY, "numpy", "ndarray")? {
            let list = obj.call_method0(pyo3::intern!(obj.py(), "tolist"))?;
            return Ok(Some(self.nested(obj, &list)));
        }
        if !is_instance_of_loaded(obj, &NP_GENERIC, "numpy", "generic")? {
            return Ok(None);
        }
        if is_instance_of_loaded(obj, &NP_BOOL, "numpy", "bool_")? {
            let buf = &mut self.writer.buf;
            buf.extend_from_slice(if obj.is_truthy()? { b"true" } else { b"false" });
            return Ok(Some(Ok(())));
        }
        if is_instance_of_loaded(obj, &NP_INTEGER, "numpy", "integer")? {
            if let Ok(value) = obj.extract::<i64>() {
                write::write_i64(&mut self.writer.buf, value);
            } else {
                write::write_u64(&mut self.writer.buf, obj.extract::<u64>()?);
            }
            return Ok(Some(Ok(())));
        }
        if is_instance_of_loaded(obj, &NP_FLOATING, "numpy", "floating")? {
            let value: f64 = obj.extract()?;
            if is_instance_of_loaded(obj, &NP_FLOAT32, "numpy", "float32")? {
                // Exact: the value was widened from f32. Its own shortest digits read better (0.1, not 0.10000000149).
                #[allow(clippy::cast_possible_truncation)]
                // a float32 widened to f64 narrows back exactly
                let narrow = value as f32;
                if write::write_f32(&mut self.writer.buf, narrow) {
                    return Ok(Some(Ok(())));
                }
                return Ok(Some(self.non_finite()));
            }
            return Ok(Some(self.float(value)));
        }
        Ok(None)
    }
}

/// Add a path segment to an error on its way out of a container.
fn at(mut err: EncodeError, segment: PathSegment) -> EncodeError {
    err.0.path.push(segment);
    err
}

/// `int.__repr__(value)`: the decimal text of any int, ignoring a subclass's `__repr__`.
fn py_int_repr<'py>(int: &Bound<'py, PyInt>) -> PyResult<Bound<'py, PyString>> {
    let py = int.py();
    py.get_type::<PyInt>()
        .getattr(pyo3::intern!(py, "__repr__"))?
        .call1((int,))?
        .cast_into::<PyString>()
        .map_err(Into::into)
}

type Items<'py> = Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)>;

/// Snapshot a dict's items for sorting, refusing a dict that changes size meanwhile.
fn dict_items<'py>(dict: &Bound<'py, PyDict>, len: usize) -> Result<Items<'py>, EncodeError> {
    let mut items = Vec::with_capacity(len);
    let mut iter = dict.iter();
    for _ in 0..len {
        if dict.len() != len {
            return Err(fail(Failure::Mutated));
        }
        match iter.next() {
            Some(item) => items.push(item),
            None => break,
        }
    }
    Ok(items)
}

/// Encode `obj` as compact UTF-8 JSON bytes.
///
/// Besides the JSON types, encodes tuples, sets, bytes (base64), datetime values (ISO 8601), UUIDs, decimals,
/// enums, dataclasses, paths and numpy values; anything else goes through `default` when given.
///
/// Args:
///     obj: The value to encode.
///     sort_keys: Write object members sorted by key (and sets sorted when their items compare).
///     indent: Pretty-print with newlines and this many spaces per level (at most 1024).
///     non_finite: What to do with NaN and infinities: ``"error"`` raises, ``"null"`` writes ``null``.
///     default: Called with each unsupported object; its result is encoded instead.
///
/// Returns:
///     The JSON document.
///
/// Raises:
///     JSONEncodeError: A value cannot be encoded; the message names its path, e.g. ``$.items[3].when``.
///     NonFiniteFloatError: NaN or an infinity met with ``non_finite="error"``.
// The doc comment is the Python docstring (Google style), not rustdoc Markdown.
#[allow(clippy::doc_markdown)]
#[pyfunction]
#[pyo3(signature = (obj, *, sort_keys = false, indent = None, non_finite = Text("error"), default = None))]
#[pyo3(text_signature = "(obj, *, sort_keys=False, indent=None, non_finite='error', default=None)")]
fn json_encode<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
    sort_keys: bool,
    indent: Option<Int<i64>>,
    non_finite: Text<'_>,
    default: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let indent = match indent {
        None => None,
        Some(Int(width)) => match usize::try_from(width) {
            Ok(width) if width <= MAX_INDENT => Some(width),
            _ => {
                return Err(Error::InvalidArgument {
                    reason: format!(
                        "indent must be None or between 0 and {MAX_INDENT}, got {width}"
                    ),
                }
                .into())
            }
        },
    };
    let non_finite_null = match &*non_finite {
        "error" => false,
        "null" => true,
        other => {
            return Err(Error::InvalidArgument {
                reason: format!("non_finite must be 'error' or 'null', got {other:?}"),
            }
            .into());
        }
    };
    if let Some(callable) = &default {
        if !callable.is_callable() {
            return Err(PyTypeError::new_err("default must be callable or None"));
        }
    }
    let mut encoder = Encoder {
        writer: Writer::new(indent, 4096),
        sort_keys,
        non_finite_null,
        default,
        stack: Vec::with_capacity(16),
        keys: Vec::new(),
        uncached_keys: 0,
    };
    encoder.value(obj).map_err(EncodeError::into_pyerr)?;
    Ok(PyBytes::new(py, &encoder.writer.buf))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(json_encode, m)?)?;
    Ok(())
}
