//! Arbitrary bytes through the urlencoded parser: it must never panic, and without a limit it never fails.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let pairs = flama_core::forms::parse_urlencoded(data, None).expect("no limit, no error");
    assert!(pairs.len() <= data.len());
    let limit = usize::from(data.first().copied().unwrap_or(0) % 8);
    if let Ok(limited) = flama_core::forms::parse_urlencoded(data, Some(limit)) {
        assert_eq!(limited, pairs);
    }
});
