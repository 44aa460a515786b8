//! Bindings of `crate::routing`: `Router`, the match results and `template_params`.
// Doc comments in this module become Python docstrings (Google style), where names go without backticks.
#![allow(clippy::doc_markdown)]

use std::borrow::Cow;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::pyclass::CompareOp;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString, PyTuple, PyType};

use super::args::{utf8, OwnedText, Text};
use crate::error::Error;
use crate::routing::{self, Match, ScopeType, UrlValue, Value};

static DECIMAL: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static UUID: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static NOT_FOUND: PyOnceLock<Py<NotFound>> = PyOnceLock::new();

/// A route matched the path, the scope type and the method.
///
/// Attributes:
///     index: The index `Router.add_route` returned for the route.
///     params: The converted path parameters by name.
#[pyclass(frozen, module = "flama.core._native")]
pub struct RouteMatch {
    #[pyo3(get)]
    index: usize,
    #[pyo3(get)]
    params: Py<PyDict>,
}

#[pymethods]
impl RouteMatch {
    #[new]
    fn new(index: usize, params: Py<PyDict>) -> Self {
        Self { index, params }
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "RouteMatch(index={}, params={})",
            self.index,
            self.params.bind(py).repr()?
        ))
    }

    fn __richcmp__(&self, other: &Bound<'_, PyAny>, op: CompareOp) -> PyResult<Py<PyAny>> {
        let py = other.py();
        let Ok(other) = other.cast::<Self>() else {
            return Ok(py.NotImplemented());
        };
        let other = other.get();
        let equal = self.index == other.index && self.params.bind(py).eq(other.params.bind(py))?;
        Ok(compare(py, op, equal))
    }
}

/// A mount's prefix matched the path.
///
/// Attributes:
///     index: The index `Router.add_mount` returned for the mount.
///     params: The converted parameters of the prefix by name.
///     matched_path: The part of the path the prefix matched.
///     remaining_path: The rest of the path: empty or starting with "/".
#[pyclass(frozen, module = "flama.core._native")]
pub struct MountMatch {
    #[pyo3(get)]
    index: usize,
    #[pyo3(get)]
    params: Py<PyDict>,
    #[pyo3(get)]
    matched_path: Py<PyString>,
    #[pyo3(get)]
    remaining_path: Py<PyString>,
}

#[pymethods]
impl MountMatch {
    #[new]
    fn new(
        index: usize,
        params: Py<PyDict>,
        matched_path: Py<PyString>,
        remaining_path: Py<PyString>,
    ) -> Self {
        Self {
            index,
            params,
            matched_path,
            remaining_path,
        }
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "MountMatch(index={}, params={}, matched_path={}, remaining_path={})",
            self.index,
            self.params.bind(py).repr()?,
            self.matched_path.bind(py).repr()?,
            self.remaining_path.bind(py).repr()?,
        ))
    }

    fn __richcmp__(&self, other: &Bound<'_, PyAny>, op: CompareOp) -> PyResult<Py<PyAny>> {
        let py = other.py();
        let Ok(other) = other.cast::<Self>() else {
            return Ok(py.NotImplemented());
        };
        let other = other.get();
        let equal = self.index == other.index
            && self.params.bind(py).eq(other.params.bind(py))?
            && self
                .matched_path
                .bind(py)
                .as_any()
                .eq(other.matched_path.bind(py))?
            && self
                .remaining_path
                .bind(py)
                .as_any()
                .eq(other.remaining_path.bind(py))?;
        Ok(compare(py, op, equal))
    }
}

/// No route or mount matched the path.
#[pyclass(frozen, module = "flama.core._native")]
pub struct NotFound;

// Python methods take `self` even though a `NotFound` has no state.
#[allow(clippy::unused_self)]
#[pymethods]
impl NotFound {
    #[new]
    fn new() -> Self {
        Self
    }

    fn __repr__(&self) -> &'static str {
        "NotFound()"
    }

    fn __richcmp__(&self, other: &Bound<'_, PyAny>, op: CompareOp) -> Py<PyAny> {
        let py = other.py();
        if !other.is_instance_of::<Self>() {
            return py.NotImplemented();
        }
        compare(py, op, true)
    }
}

/// Routes matched the path, but none allows the method.
///
/// Attributes:
///     allow: The methods of every route that matched the path, merged and sorted.
#[pyclass(frozen, module = "flama.core._native")]
pub struct MethodNotAllowed {
    #[pyo3(get)]
    allow: Py<PyTuple>,
}

#[pymethods]
impl MethodNotAllowed {
    #[new]
    fn new(allow: Py<PyTuple>) -> Self {
        Self { allow }
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "MethodNotAllowed(allow={})",
            self.allow.bind(py).repr()?
        ))
    }

    fn __richcmp__(&self, other: &Bound<'_, PyAny>, op: CompareOp) -> PyResult<Py<PyAny>> {
        let py = other.py();
        let Ok(other) = other.cast::<Self>() else {
            return Ok(py.NotImplemented());
        };
        let equal = self.allow.bind(py).eq(other.get().allow.bind(py))?;
        Ok(compare(py, op, equal))
    }
}

/// The answer of `==` or `!=` given whether two results are equal; other comparisons are not supported.
fn compare(py: Python<'_>, op: CompareOp, equal: bool) -> Py<PyAny> {
    let answer = match op {
        CompareOp::Eq => equal,
        CompareOp::Ne => !equal,
        _ => return py.NotImplemented(),
    };
    PyBool::new(py, answer).to_owned().into_any().unbind()
}

/// The route table: routes and mounts matched in the order they were added.
///
/// The first added entry that matches wins, but the cost of a match hardly depends on the number of entries.
#[pyclass(module = "flama.core._native")]
pub struct Router {
    inner: routing::Router,
    /// Each entry's parameter names, as interned Python strings, so a match does not build them again.
    names: Vec<Vec<Py<PyString>>>,
}

impl Router {
    fn remember_names(&mut self, py: Python<'_>, index: usize) {
        let names = self
            .inner
            .param_names(index)
            .map(|name| PyString::intern(py, name).unbind())
            .collect();
        self.names.push(names);
    }
}

#[pymethods]
impl Router {
    #[new]
    fn new() -> Self {
        Self {
            inner: routing::Router::new(),
            names: Vec::new(),
        }
    }

    /// Add a route.
    ///
    /// Args:
    ///     template: The path template, such as "/users/{id:int}".
    ///     methods: The allowed methods (upper-cased), or None for any method.
    ///     name: The name `url_path_for` knows the route by; the first entry with a name keeps it.
    ///     scope_type: "http" or "websocket".
    ///
    /// Returns:
    ///     The route's index, shared with mounts.
    ///
    /// Raises:
    ///     RouteTemplateError: The template is invalid, or methods is empty.
    #[pyo3(signature = (template, *, methods = None, name = None, scope_type = Text("http")))]
    #[pyo3(text_signature = "($self, template, *, methods=None, name=None, scope_type='http')")]
    fn add_route(
        &mut self,
        py: Python<'_>,
        template: Text<'_>,
        methods: Option<Vec<OwnedText>>,
        name: Option<Text<'_>>,
        scope_type: Text<'_>,
    ) -> PyResult<usize> {
        let scope_type = &*scope_type;
        let methods: Option<Vec<String>> =
            methods.map(|methods| methods.into_iter().map(|method| method.0).collect());
        let Some(scope) = ScopeType::from_name(scope_type) else {
            return Err(PyValueError::new_err(format!(
                "scope_type must be \"http\" or \"websocket\", not {scope_type:?}"
            )));
        };
        let index = self
            .inner
            .add_route(&template, methods.as_deref(), name.as_deref(), scope)?;
        self.remember_names(py, index);
        Ok(index)
    }

    /// Add a mount: a prefix matching any path that continues it with "/" or ends there, for any scope type.
    ///
    /// Args:
    ///     template: The prefix template, such as "/users/{id:int}"; trailing slashes are dropped.
    ///     name: The name `url_path_for` knows the mount by; the first entry with a name keeps it.
    ///
    /// Returns:
    ///     The mount's index, shared with routes.
    ///
    /// Raises:
    ///     RouteTemplateError: The template is invalid or has a "path" parameter.
    #[pyo3(signature = (template, *, name = None))]
    fn add_mount(
        &mut self,
        py: Python<'_>,
        template: Text<'_>,
        name: Option<Text<'_>>,
    ) -> PyResult<usize> {
        let index = self.inner.add_mount(&template, name.as_deref())?;
        self.remember_names(py, index);
        Ok(index)
    }

    /// Match a path.
    ///
    /// Args:
    ///     scope_type: The ASGI scope type; routes serve one, mounts both "http" and "websocket".
    ///     method: The request method.
    ///     path: The ASGI scope's "path" (percent-decoded), matched exactly.
    ///
    /// Returns:
    ///     The lowest-index entry that matches, else MethodNotAllowed when routes match the path but not the
    ///     method, else NotFound.
    #[pyo3(name = "match")]
    fn match_path<'py>(
        &self,
        py: Python<'py>,
        scope_type: Text<'_>,
        method: Text<'_>,
        path: &Bound<'py, PyString>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let text = utf8(path)?;
        match self.inner.match_path(&scope_type, &method, text) {
            Match::Route { index, params } => {
                let params = self.params_dict(py, index, &params)?.unbind();
                Ok(Bound::new(py, RouteMatch { index, params })?.into_any())
            }
            Match::Mount {
                index,
                params,
                matched_path,
                remaining_path,
            } => {
                let params = self.params_dict(py, index, &params)?.unbind();
                let (matched_path, remaining_path) = if remaining_path.is_empty() {
                    (path.clone().unbind(), PyString::intern(py, "").unbind())
                } else {
                    (
                        PyString::new(py, matched_path).unbind(),
                        PyString::new(py, remaining_path).unbind(),
                    )
                };
                Ok(Bound::new(
                    py,
                    MountMatch {
                        index,
                        params,
                        matched_path,
                        remaining_path,
                    },
                )?
                .into_any())
            }
            Match::NotFound => {
                let found = NOT_FOUND.get_or_try_init(py, || Py::new(py, NotFound))?;
                Ok(found.bind(py).clone().into_any())
            }
            Match::MethodNotAllowed { allow } => {
                let allow = PyTuple::new(py, allow)?.unbind();
                Ok(Bound::new(py, MethodNotAllowed { allow })?.into_any())
            }
        }
    }

    /// Build the path of a named route or mount.
    ///
    /// Args:
    ///     name: The entry's name.
    ///     **params: Every parameter of its template: str, int, float, decimal.Decimal or uuid.UUID values,
    ///         each accepted by its converter.
    ///
    /// Returns:
    ///     The path, each value percent-encoded ("/" too, except in a "path" parameter).
    ///
    /// Raises:
    ///     URLBuildError: Unknown name, missing or unexpected parameters, or a value its converter refuses.
    #[pyo3(signature = (name, /, **params))]
    fn url_path_for(&self, name: Text<'_>, params: Option<&Bound<'_, PyDict>>) -> PyResult<String> {
        let name = &*name;
        let mut values = Vec::new();
        if let Some(params) = params {
            for (key, value) in params.iter() {
                let key = key.cast_into::<PyString>()?;
                let converted = match url_value(&value) {
                    Ok(converted) => converted,
                    Err(type_name) => {
                        let reason = format!(
                            "parameter {:?} cannot take a value of type {type_name}",
                            utf8(&key)?
                        );
                        return Err(Error::UrlBuild {
                            name: name.to_owned(),
                            reason,
                        }
                        .into());
                    }
                };
                values.push((key, converted));
            }
        }
        let keys: Vec<Cow<'_, str>> = values
            .iter()
            .map(|(key, _)| utf8(key).map(Cow::Borrowed))
            .collect::<PyResult<_>>()?;
        let pairs: Vec<(&str, UrlValue<'_>)> = keys
            .iter()
            .zip(values.iter())
            .map(|(key, (_, value))| (&**key, value.clone()))
            .collect();
        Ok(self.inner.url_path_for(name, &pairs)?)
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __repr__(&self) -> String {
        format!("<Router with {} entries>", self.inner.len())
    }
}

impl Router {
    /// The Python dict of a match's parameters.
    fn params_dict<'py>(
        &self,
        py: Python<'py>,
        index: usize,
        params: &[routing::Param<'_, '_>],
    ) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        let names = self.names.get(index);
        for (position, param) in params.iter().enumerate() {
            let value = to_python(py, param.value)?;
            match names.and_then(|names| names.get(position)) {
                Some(name) => dict.set_item(name.bind(py), value)?,
                None => dict.set_item(param.name, value)?,
            }
        }
        Ok(dict)
    }
}

/// The Python object of a converted parameter.
fn to_python<'py>(py: Python<'py>, value: Value<'_>) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Str(text) | Value::Path(text) => PyString::new(py, text).into_any(),
        Value::Int(number) => number.into_pyobject(py)?.into_any(),
        Value::BigInt(digits) => {
            // Built from bytes rather than `int(str)`, which refuses more than `sys.get_int_max_str_digits()`.
            let bytes = routing::digits_to_le_bytes(digits);
            py.get_type::<PyInt>()
                .call_method1("from_bytes", (bytes.as_slice(), "little"))?
        }
        Value::Float(number) => PyFloat::new(py, number).into_any(),
        Value::Decimal(text) => DECIMAL.import(py, "decimal", "Decimal")?.call1((text,))?,
        Value::Uuid(number) => {
            let kwargs = PyDict::new(py);
            kwargs.set_item("int", number)?;
            UUID.import(py, "uuid", "UUID")?.call((), Some(&kwargs))?
        }
    })
}

/// The tagged value of a `url_path_for` argument, or the name of its unsupported type.
fn url_value(value: &Bound<'_, PyAny>) -> Result<UrlValue<'static>, String> {
    let py = value.py();
    let type_name = || {
        value
            .get_type()
            .name()
            .map_or_else(|_| "?".to_owned(), |name| name.to_string())
    };
    if let Ok(flag) = value.cast::<PyBool>() {
        return Ok(UrlValue::Bool(flag.is_true()));
    }
    if let Ok(number) = value.cast::<PyInt>() {
        let text = number
            .str()
            .and_then(|text| text.to_str().map(str::to_owned))
            .map_err(|_| type_name())?;
        return Ok(UrlValue::Int(Cow::Owned(text)));
    }
    if let Ok(number) = value.cast::<PyFloat>() {
        return Ok(UrlValue::Float(number.value()));
    }
    if let Ok(text) = value.cast::<PyString>() {
        let text = text.to_str().map_err(|_| type_name())?;
        return Ok(UrlValue::Str(Cow::Owned(text.to_owned())));
    }
    let is = |lock: &PyOnceLock<Py<PyType>>, module: &str, class: &str| {
        lock.import(py, module, class)
            .and_then(|class| value.is_instance(class))
            .unwrap_or(false)
    };
    if is(&UUID, "uuid", "UUID") {
        let number: u128 = value
            .getattr("int")
            .and_then(|number| number.extract())
            .map_err(|_| type_name())?;
        return Ok(UrlValue::Uuid(number));
    }
    if is(&DECIMAL, "decimal", "Decimal") {
        let text = value
            .str()
            .and_then(|text| text.to_str().map(str::to_owned))
            .map_err(|_| type_name())?;
        return Ok(UrlValue::Decimal(Cow::Owned(text)));
    }
    Err(type_name())
}

/// The parameters of a path template.
///
/// Args:
///     template: The path template, such as "/users/{id:int}/files/{rest:path}".
///
/// Returns:
///     A (name, converter) pair per parameter, in order.
///
/// Raises:
///     RouteTemplateError: The template is invalid.
#[pyfunction]
fn template_params(template: Text<'_>) -> PyResult<Vec<(String, &'static str)>> {
    Ok(routing::template_params(&template)?)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Router>()?;
    m.add_class::<RouteMatch>()?;
    m.add_class::<MountMatch>()?;
    m.add_class::<NotFound>()?;
    m.add_class::<MethodNotAllowed>()?;
    m.add_function(wrap_pyfunction!(template_params, m)?)?;
    Ok(())
}
