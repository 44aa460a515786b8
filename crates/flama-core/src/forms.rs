//! The `application/x-www-form-urlencoded` parser, following the WHATWG URL standard.
//!
//! The body is split on `&` (never `;`), empty pairs are skipped, the first `=` splits name from value, `+`
//! becomes a space, `%XX` escapes are decoded and invalid escapes are kept literally, and bytes that are not
//! UTF-8 become U+FFFD. Order and repeated names are kept. A name or value that needs no decoding is borrowed
//! from the input rather than copied.

use std::borrow::Cow;

use memchr::{memchr, memchr2, memchr_iter};

use crate::error::{Error, Result};

/// One decoded `name=value` pair; borrowed from the input where nothing needed decoding.
pub type Pair<'a> = (Cow<'a, str>, Cow<'a, str>);

/// Parse an urlencoded body into its pairs, in order.
///
/// `max_fields` caps the number of non-empty pairs; one more raises `PayloadTooLarge` naming `max_fields`.
pub fn parse_urlencoded(data: &[u8], max_fields: Option<usize>) -> Result<Vec<Pair<'_>>> {
    let mut pairs = Vec::new();
    let mut start = 0;
    // `&` positions, then one virtual separator at the end of the input.
    for end in memchr_iter(b'&', data).chain(std::iter::once(data.len())) {
        let piece = data.get(start..end).unwrap_or_default();
        start = end.saturating_add(1);
        if piece.is_empty() {
            continue;
        }
        if let Some(maximum) = max_fields {
            if pairs.len() >= maximum {
                return Err(Error::PayloadTooLarge {
                    limit: "max_fields",
                    maximum: maximum as u64,
                });
            }
        }
        let (name, value) = match memchr(b'=', piece) {
            Some(eq) => (&piece[..eq], piece.get(eq + 1..).unwrap_or_default()),
            None => (piece, &b""[..]),
        };
        pairs.push((decode_component(name), decode_component(value)));
    }
    Ok(pairs)
}

/// Decode one name or value: `+` to space, percent escapes, then UTF-8 with U+FFFD for invalid sequences.
pub fn decode_component(raw: &[u8]) -> Cow<'_, str> {
    if memchr2(b'+', b'%', raw).is_none() {
        return String::from_utf8_lossy(raw);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut index = 0;
    while let Some(&byte) = raw.get(index) {
        match byte {
            b'+' => {
                out.push(b' ');
                index += 1;
            }
            b'%' => {
                let high = raw.get(index + 1).copied().and_then(hex_value);
                let low = raw.get(index + 2).copied().and_then(hex_value);
                if let (Some(high), Some(low)) = (high, low) {
                    out.push(high << 4 | low);
                    index += 3;
                } else {
                    // An invalid escape stays as it was written.
                    out.push(b'%');
                    index += 1;
                }
            }
            _ => {
                out.push(byte);
                index += 1;
            }
        }
    }
    Cow::Owned(match String::from_utf8(out) {
        Ok(text) => text,
        Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
    })
}

/// The value of one hexadecimal digit.
fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(data: &[u8]) -> Vec<(String, String)> {
        parse_urlencoded(data, None)
            .expect("no limit")
            .into_iter()
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect()
    }

    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn splits_and_decodes() {
        assert_eq!(
            owned(b"a=1&b=2&a=3"),
            pairs(&[("a", "1"), ("b", "2"), ("a", "3")])
        );
        assert_eq!(owned(b"&&a=1&&"), pairs(&[("a", "1")]));
        assert_eq!(owned(b"a&b="), pairs(&[("a", ""), ("b", "")]));
        assert_eq!(owned(b"a=b=c"), pairs(&[("a", "b=c")]));
        assert_eq!(owned(b"=x"), pairs(&[("", "x")]));
        assert_eq!(owned(b"a;b=1"), pairs(&[("a;b", "1")]));
        assert_eq!(owned(b"a+b=c+d%2B"), pairs(&[("a b", "c d+")]));
        assert_eq!(owned(b"e=%E2%82%ac"), pairs(&[("e", "\u{20ac}")]));
        assert_eq!(owned(b"p=%zz%4%"), pairs(&[("p", "%zz%4%")]));
        assert_eq!(owned(b"u=%FF\xfe"), pairs(&[("u", "\u{fffd}\u{fffd}")]));
        assert!(owned(b"").is_empty());
    }

    #[test]
    fn borrows_plain_components() {
        let parsed = parse_urlencoded(b"name=value&x=a+b", None).expect("no limit");
        assert!(matches!(
            parsed[0],
            (Cow::Borrowed("name"), Cow::Borrowed("value"))
        ));
        assert!(matches!(&parsed[1].1, Cow::Owned(value) if value == "a b"));
    }

    #[test]
    fn limits_fields() {
        assert_eq!(
            parse_urlencoded(b"a=1&&b=2", Some(2))
                .expect("within")
                .len(),
            2
        );
        let err = parse_urlencoded(b"a=1&b=2&c=3", Some(2)).expect_err("over");
        assert!(matches!(
            err,
            Error::PayloadTooLarge {
                limit: "max_fields",
                maximum: 2
            }
        ));
        assert!(parse_urlencoded(b"a", Some(0)).is_err());
        assert!(parse_urlencoded(b"&&", Some(0))
            .expect("only empty pairs")
            .is_empty());
    }
}
