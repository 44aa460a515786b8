//! Arbitrary text through the `Cookie` parser and the `Set-Cookie` builder: parsing never panics and keeps
//! only trimmed, non-empty, unique names; a header the builder accepts carries no control character or
//! separator that could end it early or inject an attribute, and its `name=value` pair parses back.
#![no_main]

use flama_core::headers::{parse_cookies, write_imf_fixdate, Expires, SameSite, SetCookie};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let cookies = parse_cookies(&text);
    for (position, (name, value)) in cookies.iter().enumerate() {
        assert!(!name.is_empty() && *name == name.trim_ascii(), "{name:?}");
        assert!(
            !name.contains([';', '=']) && !value.contains(';'),
            "{name:?}={value:?}"
        );
        assert!(cookies[..position].iter().all(|(seen, _)| seen != name));
    }

    // The first bytes pick the flags and the expiry; the rest is split into the textual parts.
    let flags = data.first().copied().unwrap_or(0);
    let seconds = data
        .get(1..9)
        .and_then(|bytes| bytes.try_into().ok())
        .map_or(0, i64::from_le_bytes);
    let mut date = String::new();
    if write_imf_fixdate(&mut date, seconds).is_ok() {
        assert_eq!(date.len(), 29, "{date}");
    }
    let mut parts = text.split('\n').skip(1);
    let name = parts.next().unwrap_or("n");
    let value = parts.next().unwrap_or("");
    let path = parts.next();
    let domain = parts.next();
    let expires = match flags % 3 {
        0 => None,
        1 => Some(Expires::Timestamp(seconds)),
        _ => parts.next().map(Expires::Text),
    };
    let cookie = SetCookie {
        name,
        value,
        max_age: (flags & 8 != 0).then_some(seconds),
        expires,
        path,
        domain,
        secure: flags & 16 != 0,
        httponly: flags & 32 != 0,
        samesite: [
            None,
            Some(SameSite::Lax),
            Some(SameSite::Strict),
            Some(SameSite::None),
        ][usize::from(flags >> 6)],
        partitioned: flags & 4 != 0,
    };
    if let Ok(header) = cookie.build() {
        assert!(!header.chars().any(char::is_control), "{header:?}");
        let pair = header.split("; ").next().unwrap_or_default();
        assert_eq!(pair.split_once('='), Some((name, value)));
        let parsed = parse_cookies(pair);
        let expected = value
            .strip_prefix('"')
            .and_then(|inner| inner.strip_suffix('"'))
            .unwrap_or(value);
        assert_eq!(parsed, vec![(name, expected)]);
        let attributes = header.matches("; ").count();
        let expected_attributes = usize::from(cookie.expires.is_some())
            + usize::from(cookie.max_age.is_some())
            + usize::from(domain.is_some())
            + usize::from(path.is_some())
            + usize::from(cookie.secure)
            + usize::from(cookie.httponly)
            + usize::from(cookie.samesite.is_some())
            + usize::from(cookie.partitioned);
        // An IMF-fixdate holds no "; ", and a textual expiry, path or domain cannot hold ';'.
        assert_eq!(attributes, expected_attributes, "{header:?}");
    }
});
