//! Arbitrary text through content-coding negotiation and the `Content-Type` parser: never a panic, the chosen
//! coding is one the server offers and the client did not refuse, and parameters come back lower-cased and
//! unique.
#![no_main]

use flama_core::headers::{negotiate_encoding, parse_content_type, Negotiated};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // The first line is the header; the next lines (at most 6) are the codings the server offers.
    let mut lines = text.split('\n');
    let header = lines.next().unwrap_or_default();
    let available: Vec<&str> = lines.take(6).collect();
    match negotiate_encoding(header, &available) {
        Negotiated::Coding(index) => {
            let coding = available.get(index).expect("an offered coding");
            assert!(!coding.eq_ignore_ascii_case("identity"));
            assert!(
                !header.trim_ascii().is_empty(),
                "codings need a header naming them or *"
            );
        }
        Negotiated::Identity | Negotiated::NotAcceptable => {}
    }
    if header.trim_ascii().is_empty() {
        assert_eq!(negotiate_encoding(header, &available), Negotiated::Identity);
    }

    let (media_type, params) = parse_content_type(&text);
    assert_eq!(media_type, media_type.trim_ascii().to_ascii_lowercase());
    for (position, (name, _)) in params.iter().enumerate() {
        assert!(
            !name.is_empty() && *name == name.to_ascii_lowercase(),
            "{name:?}"
        );
        assert!(params[..position].iter().all(|(seen, _)| seen != name));
    }
});
