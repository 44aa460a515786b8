//! The JSON writing primitives on arbitrary input: strings must come back unchanged through a JSON string parse
//! of our own escaping, floats must round-trip, durations and base64 must never panic.
#![no_main]

use flama_core::json;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    if let Ok(text) = std::str::from_utf8(data) {
        json::write_str(&mut out, text);
        assert!(out.len() >= text.len() + 2);
        assert!(!out[1..out.len() - 1].iter().any(|&b| b < 0x20));
    }
    for chunk in data.chunks_exact(8) {
        let bits = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        let value = f64::from_bits(bits);
        out.clear();
        if json::write_f64(&mut out, value) {
            let text = std::str::from_utf8(&out).unwrap_or_default();
            assert_eq!(text.parse::<f64>().map(f64::to_bits), Ok(bits), "{text}");
        } else {
            assert!(!value.is_finite());
        }
        let signed = bits as i64;
        json::write_duration(&mut out, signed, signed.rotate_left(17), signed.rotate_left(33));
        out.clear();
        json::write_f32(&mut out, f32::from_bits(bits as u32));
    }
    out.clear();
    json::write_base64(&mut out, data);
    assert_eq!(out.len(), data.len().div_ceil(3) * 4 + 2);
});
