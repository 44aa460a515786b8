//! Bindings for `codecs`: one-shot and streaming compression.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

use super::args::{Int, Text};
use crate::codecs::{self, Encoding, SUPPORTED};

/// Inputs larger than this are processed with the GIL released.
const DETACH_THRESHOLD: usize = 64 * 1024;

/// Run one streaming `work` step into `buffer` (emptied first), with the GIL released when `detach`, and return
/// what it wrote.
fn step<'py>(
    py: Python<'py>,
    detach: bool,
    buffer: &mut Vec<u8>,
    work: impl FnOnce(&mut Vec<u8>) -> crate::error::Result<()> + Send,
) -> PyResult<Bound<'py, PyBytes>> {
    buffer.clear();
    if detach {
        py.detach(|| work(buffer))?;
    } else {
        work(buffer)?;
    }
    Ok(PyBytes::new(py, buffer))
}

/// The canonical names of the supported encodings, in the order a server should prefer them.
#[pyfunction]
fn supported_encodings(py: Python<'_>) -> PyResult<Bound<'_, PyTuple>> {
    PyTuple::new(py, SUPPORTED)
}

/// Compress `data` in one go.
#[pyfunction]
#[pyo3(signature = (data, encoding, *, level = None))]
fn compress<'py>(
    py: Python<'py>,
    data: &[u8],
    encoding: Text<'_>,
    level: Option<Int<i64>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let encoding = Encoding::from_name(&encoding)?;
    let level = level.map(|level| level.0);
    let out = if data.len() > DETACH_THRESHOLD {
        py.detach(|| codecs::compress(data, encoding, level))?
    } else {
        codecs::compress(data, encoding, level)?
    };
    Ok(PyBytes::new(py, &out))
}

/// Decompress `data` in one go, failing once the output passes `max_size` bytes.
#[pyfunction]
#[pyo3(signature = (data, encoding, *, max_size = None))]
fn decompress<'py>(
    py: Python<'py>,
    data: &[u8],
    encoding: Text<'_>,
    max_size: Option<Int<u64>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let encoding = Encoding::from_name(&encoding)?;
    let max_size = max_size.map(|size| size.0);
    let out = if data.len() > DETACH_THRESHOLD {
        py.detach(|| codecs::decompress(data, encoding, max_size))?
    } else {
        codecs::decompress(data, encoding, max_size)?
    };
    Ok(PyBytes::new(py, &out))
}

/// A streaming compressor that flushes after every chunk.
#[pyclass(module = "flama.core._native", name = "Compressor")]
struct PyCompressor {
    inner: codecs::Compressor,
    /// Reused between calls so that steady streaming does not allocate.
    buffer: Vec<u8>,
}

#[pymethods]
impl PyCompressor {
    #[new]
    #[pyo3(signature = (encoding, *, level = None))]
    fn new(encoding: Text<'_>, level: Option<Int<i64>>) -> PyResult<Self> {
        let inner =
            codecs::Compressor::new(Encoding::from_name(&encoding)?, level.map(|level| level.0))?;
        Ok(Self {
            inner,
            buffer: Vec::new(),
        })
    }

    /// The canonical name of the encoding.
    #[getter]
    fn encoding(&self) -> &'static str {
        self.inner.encoding().name()
    }

    fn compress<'py>(&mut self, py: Python<'py>, chunk: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
        let Self { inner, buffer } = self;
        step(py, chunk.len() > DETACH_THRESHOLD, buffer, |out| {
            inner.compress(chunk, out)
        })
    }

    fn finish<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let Self { inner, buffer } = self;
        let out = step(py, false, buffer, |out| inner.finish(out))?;
        // The stream is over: give the buffer's memory back.
        *buffer = Vec::new();
        Ok(out)
    }
}

/// A streaming decompressor with a cumulative output limit.
#[pyclass(module = "flama.core._native", name = "Decompressor")]
struct PyDecompressor {
    inner: codecs::Decompressor,
    buffer: Vec<u8>,
}

#[pymethods]
impl PyDecompressor {
    #[new]
    #[pyo3(signature = (encoding, *, max_size = None))]
    fn new(encoding: Text<'_>, max_size: Option<Int<u64>>) -> PyResult<Self> {
        let inner = codecs::Decompressor::new(
            Encoding::from_name(&encoding)?,
            max_size.map(|size| size.0),
        )?;
        Ok(Self {
            inner,
            buffer: Vec::new(),
        })
    }

    /// The canonical name of the encoding.
    #[getter]
    fn encoding(&self) -> &'static str {
        self.inner.encoding().name()
    }

    /// Whether the input so far ends exactly at the end of a stream.
    #[getter]
    fn eof(&self) -> bool {
        self.inner.eof()
    }

    fn decompress<'py>(&mut self, py: Python<'py>, chunk: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
        let Self { inner, buffer } = self;
        step(py, chunk.len() > DETACH_THRESHOLD, buffer, |out| {
            inner.decompress(chunk, out)
        })
    }

    fn finish<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let Self { inner, buffer } = self;
        let out = step(py, false, buffer, |out| inner.finish(out))?;
        // The stream is over: give the buffer's memory back.
        *buffer = Vec::new();
        Ok(out)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(supported_encodings, m)?)?;
    m.add_function(wrap_pyfunction!(compress, m)?)?;
    m.add_function(wrap_pyfunction!(decompress, m)?)?;
    m.add_class::<PyCompressor>()?;
    m.add_class::<PyDecompressor>()?;
    Ok(())
}
