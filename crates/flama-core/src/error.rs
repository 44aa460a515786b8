//! The one error type of the crate. Bindings convert it to Python exceptions in `py::errors`.

use std::fmt;

/// Every failure the pure Rust modules report.
#[derive(Debug)]
pub enum Error {
    /// A path template is invalid.
    Template { template: String, reason: String },
    /// A URL cannot be built by name.
    UrlBuild { name: String, reason: String },
    /// A value cannot be encoded as JSON; `path` is a JSONPath-like location such as `$.items[3].when`.
    JsonEncode { path: String, reason: String },
    /// NaN or infinity met while the caller forbids them.
    NonFiniteFloat { path: String },
    /// Invalid JSON input.
    JsonDecode { reason: String },
    /// A form or multipart body is malformed.
    MalformedBody { reason: String },
    /// The multipart content type lacks a usable boundary.
    MissingBoundary,
    /// A configured limit was exceeded.
    PayloadTooLarge { limit: &'static str, maximum: u64 },
    /// The client disconnected before the body ended.
    ClientDisconnected,
    /// An encoding name no codec handles.
    UnknownEncoding { name: String },
    /// Compressed input is corrupt or truncated.
    CorruptData { codec: &'static str, reason: String },
    /// Decompressed output would pass the caller's maximum.
    DecompressionLimit { maximum: u64 },
    /// An argument is out of range or malformed (a compression level, a cookie attribute); Python's `ValueError`.
    InvalidArgument { reason: String },
    /// An I/O error, e.g. while spooling an upload to a temporary file.
    Io(std::io::Error),
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Template { template, reason } => write!(f, "invalid path template {template:?}: {reason}"),
            Self::UrlBuild { name, reason } => write!(f, "cannot build a URL for {name:?}: {reason}"),
            Self::JsonEncode { path, reason } => write!(f, "cannot encode {path}: {reason}"),
            Self::NonFiniteFloat { path } => write!(
                f,
                "cannot encode {path}: NaN and infinities are not JSON (pass non_finite=\"null\" to encode them as null)"
            ),
            Self::JsonDecode { reason } => write!(f, "invalid JSON: {reason}"),
            Self::MalformedBody { reason } => write!(f, "malformed body: {reason}"),
            Self::MissingBoundary => f.write_str("multipart content type without a valid boundary parameter"),
            Self::PayloadTooLarge { limit, maximum } => write!(f, "payload too large: {limit} exceeds {maximum}"),
            Self::ClientDisconnected => f.write_str("client disconnected before the body was complete"),
            Self::UnknownEncoding { name } => write!(f, "unknown content encoding '{name}'"),
            Self::CorruptData { codec, reason } => write!(f, "corrupt {codec} data: {reason}"),
            Self::DecompressionLimit { maximum } => {
                write!(f, "decompressed data exceeds the maximum of {maximum} bytes")
            }
            Self::InvalidArgument { reason } => f.write_str(reason),
            Self::Io(err) => write!(f, "I/O error: {err}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(err) => Some(err),
            _ => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        Self::Io(err)
    }
}
