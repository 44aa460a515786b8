//! Bindings for `forms` (urlencoded) and `multipart`.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};

use super::args::{Int, Text};
use crate::forms;
use crate::multipart::{self, Event, Span};

/// Parse an `application/x-www-form-urlencoded` body into `(name, value)` pairs.
#[pyfunction]
#[pyo3(signature = (data, *, max_fields = None))]
fn parse_urlencoded<'py>(
    py: Python<'py>,
    data: &[u8],
    max_fields: Option<Int<usize>>,
) -> PyResult<Bound<'py, PyList>> {
    let pairs = forms::parse_urlencoded(data, max_fields.map(|count| count.0))?;
    let list = PyList::empty(py);
    for (name, value) in pairs {
        let pair = PyTuple::new(py, [PyString::new(py, &name), PyString::new(py, &value)])?;
        list.append(pair)?;
    }
    Ok(list)
}

/// The boundary of a multipart content type, as bytes.
#[pyfunction]
fn parse_boundary<'py>(py: Python<'py>, content_type: Text<'_>) -> PyResult<Bound<'py, PyBytes>> {
    Ok(PyBytes::new(py, &multipart::parse_boundary(&content_type)?))
}

/// The start of a multipart part: its parsed headers.
#[pyclass(module = "flama.core._native", frozen, get_all)]
struct PartStart {
    name: String,
    filename: Option<String>,
    content_type: Option<String>,
    headers: Vec<(String, String)>,
}

#[pymethods]
impl PartStart {
    fn __repr__(&self) -> String {
        format!(
            "PartStart(name={:?}, filename={:?}, content_type={:?})",
            self.name, self.filename, self.content_type
        )
    }
}

/// The end of a multipart part.
#[pyclass(module = "flama.core._native", frozen)]
struct PartEnd;

#[pymethods]
impl PartEnd {
    #[allow(
        clippy::unused_self,
        reason = "Python's __repr__ protocol passes the instance"
    )]
    fn __repr__(&self) -> &'static str {
        "PartEnd()"
    }
}

/// The streaming multipart parser.
#[pyclass(module = "flama.core._native")]
struct MultipartParser {
    // Boxed: memchr's searcher holds SIMD vectors aligned to 32 bytes, more than Python's allocator guarantees
    // for the object that would embed it.
    inner: Box<multipart::MultipartParser>,
}

#[pymethods]
impl MultipartParser {
    #[new]
    // The default is spelled out so that Python's signature shows it; it equals DEFAULT_MAX_HEADER_SIZE.
    #[pyo3(signature = (boundary, *, max_header_size = Int(16384), max_parts = None))]
    #[pyo3(text_signature = "(boundary, *, max_header_size=16384, max_parts=None)")]
    fn new(
        boundary: &[u8],
        max_header_size: Int<usize>,
        max_parts: Option<Int<usize>>,
    ) -> PyResult<Self> {
        Ok(Self {
            inner: Box::new(multipart::MultipartParser::new(
                boundary,
                max_header_size.0,
                max_parts.map(|count| count.0),
            )?),
        })
    }

    /// Feed a chunk; returns the events it completes: `PartStart`, `bytes` data runs and `PartEnd`.
    fn feed<'py>(&mut self, chunk: &Bound<'py, PyBytes>) -> PyResult<Bound<'py, PyList>> {
        let py = chunk.py();
        let data = chunk.as_bytes();
        let events = self.inner.feed(data)?;
        let list = PyList::empty(py);
        for event in events {
            match event {
                Event::PartStart(part) => list.append(Bound::new(
                    py,
                    PartStart {
                        name: part.name,
                        filename: part.filename,
                        content_type: part.content_type,
                        headers: part.headers,
                    },
                )?)?,
                // The whole chunk is data: hand the same object back rather than a copy.
                Event::Data(Span::Chunk(range)) if range.start == 0 && range.end == data.len() => {
                    list.append(chunk)?;
                }
                Event::Data(span) => list.append(PyBytes::new(py, span.bytes(data)))?,
                Event::PartEnd => list.append(Bound::new(py, PartEnd)?)?,
            }
        }
        Ok(list)
    }

    /// Declare the body complete; raises `MalformedBody` unless the closing boundary was read.
    fn finish(&mut self) -> PyResult<()> {
        Ok(self.inner.finish()?)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(parse_urlencoded, m)?)?;
    m.add_function(wrap_pyfunction!(parse_boundary, m)?)?;
    m.add_class::<PartStart>()?;
    m.add_class::<PartEnd>()?;
    m.add_class::<MultipartParser>()?;
    Ok(())
}
