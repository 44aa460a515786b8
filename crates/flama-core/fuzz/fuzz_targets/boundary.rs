//! Arbitrary text as a multipart `Content-Type`: the boundary parser never panics, and a boundary it returns is
//! valid (RFC 2046) and accepted by the streaming parser.
#![no_main]

use flama_core::multipart::{is_valid_boundary, parse_boundary, MultipartParser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(boundary) = parse_boundary(&text) {
        assert!(is_valid_boundary(&boundary), "{boundary:?}");
        assert!(text.to_ascii_lowercase().contains("boundary"));
        assert!(MultipartParser::new(&boundary, 1024, None).is_ok());
    }
});
