//! A body fed to the multipart parser in chunks: the first bytes choose the boundary, the chunk size and the
//! header limit; the rest is the body. It must never panic, and the events must be well formed.

#![no_main]

use flama_core::multipart::{Event, MultipartParser};
use libfuzzer_sys::fuzz_target;

const BOUNDARIES: [&[u8]; 4] = [b"b", b"xYzZY", b"----WebKitFormBoundary7MA4YWxkTrZu0gW", b"a'()+_,-./:=? z"];

fuzz_target!(|data: &[u8]| {
    let [choice, size, header, body @ ..] = data else {
        return;
    };
    let boundary = BOUNDARIES[usize::from(*choice) % BOUNDARIES.len()];
    let chunk_size = usize::from(*size).max(1);
    let Ok(mut parser) = MultipartParser::new(boundary, usize::from(*header) * 4, Some(64)) else {
        return;
    };
    let mut open = false;
    let mut data_len = 0;
    for chunk in body.chunks(chunk_size) {
        let Ok(events) = parser.feed(chunk) else {
            return;
        };
        for event in events {
            match event {
                Event::PartStart(_) => {
                    assert!(!open);
                    open = true;
                }
                Event::Data(span) => {
                    assert!(open);
                    let bytes = span.bytes(chunk);
                    assert!(!bytes.is_empty());
                    data_len += bytes.len();
                }
                Event::PartEnd => {
                    assert!(open);
                    open = false;
                }
            }
        }
    }
    assert!(data_len <= body.len());
    if parser.finish().is_ok() {
        assert!(!open);
    }
});
