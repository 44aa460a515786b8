//! The pre-scan that decides whether decoded JSON must be checked for numbers beyond `f64` (they decode to
//! infinity): for any text, every JSON number in it that overflows must be flagged. A miss would let an
//! infinity through to an encoder that cannot write it back.
#![no_main]

use flama_core::json::may_overflow_float;
use libfuzzer_sys::fuzz_target;

/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
fn is_json_number(text: &[u8]) -> bool {
    let digits = |bytes: &[u8]| {
        bytes
            .iter()
            .take_while(|byte| byte.is_ascii_digit())
            .count()
    };
    let mut rest = text.strip_prefix(b"-").unwrap_or(text);
    let integer = digits(rest);
    if integer == 0 || (integer > 1 && rest[0] == b'0') {
        return false;
    }
    rest = &rest[integer..];
    if let Some(fraction) = rest.strip_prefix(b".") {
        let count = digits(fraction);
        if count == 0 {
            return false;
        }
        rest = &fraction[count..];
    }
    if let Some(exponent) = rest.strip_prefix(b"e").or_else(|| rest.strip_prefix(b"E")) {
        let exponent = exponent
            .strip_prefix(b"+")
            .or_else(|| exponent.strip_prefix(b"-"))
            .unwrap_or(exponent);
        let count = digits(exponent);
        return count > 0 && count == exponent.len();
    }
    rest.is_empty()
}

fuzz_target!(|data: &[u8]| {
    let flagged = may_overflow_float(data);
    for token in data.split(|byte| !(byte.is_ascii_digit() || b"+-.eE".contains(byte))) {
        // Integers (no fraction, no exponent) decode to Python ints of any size, never to an infinite float.
        if !is_json_number(token) || !token.iter().any(|byte| b".eE".contains(byte)) {
            continue;
        }
        let text = std::str::from_utf8(token).expect("ASCII");
        if text.parse::<f64>().is_ok_and(f64::is_infinite) {
            assert!(flagged, "{text} overflows but was not flagged");
        }
    }
});
