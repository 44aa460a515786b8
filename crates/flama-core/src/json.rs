//! JSON writing primitives for the encoder binding: a buffer writer with optional indentation, string
//! escaping, number formatting (Python's float repr layout), base64 and ISO 8601 durations.
//!
//! Nothing here touches Python: the binding walks Python objects and calls these to write bytes.

/// The longest nesting the encoder accepts, counted in containers and in values reached through `default`,
/// enum values or dataclass fields. Deeper input (usually a circular reference) is an error, never a crash.
pub const MAX_DEPTH: usize = 512;

/// The widest indentation accepted, so that `indent * depth` stays a sane amount of memory.
pub const MAX_INDENT: usize = 1024;

/// How many integer digits a number needs before its exponent can no longer keep it below `f64::MAX`
/// (1.8e308): an exponent of at most 99 leaves 210 digits to spare, so 200 is on the safe side.
const LONG_MANTISSA: usize = 200;

/// Whether JSON text may hold a number too large for `f64`, which a decoder would turn into infinity.
///
/// A cheap, conservative scan: true for an exponent of three or more digits that is not negative (`1e400`), and for
/// a run of 200 or more digits followed by a fraction or an exponent. Text inside strings may match too; callers
/// then check the decoded values, so a false positive costs time, never a wrong answer.
#[must_use]
pub fn may_overflow_float(data: &[u8]) -> bool {
    for at in memchr::memchr3_iter(b'e', b'E', b'.', data) {
        let before = data.get(..at).unwrap_or_default();
        let run = before
            .iter()
            .rev()
            .take_while(|byte| byte.is_ascii_digit())
            .count();
        if run == 0 {
            continue;
        }
        if run >= LONG_MANTISSA {
            return true;
        }
        if data.get(at) != Some(&b'.') {
            let exponent = data.get(at + 1..).unwrap_or_default();
            let exponent = exponent.strip_prefix(b"+").unwrap_or(exponent);
            let digits = exponent
                .iter()
                .take_while(|byte| byte.is_ascii_digit())
                .count();
            let significant = exponent
                .iter()
                .take(digits)
                .skip_while(|&&byte| byte == b'0')
                .count();
            if significant >= 3 {
                return true;
            }
        }
    }
    false
}

/// How each byte of a string is written: `0` copies it, `b'u'` writes `\u00XX`, anything else writes a
/// backslash followed by that byte.
static ESCAPE: [u8; 256] = {
    let mut table = [0_u8; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = b'u';
        byte += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Append `text` as a quoted JSON string. Non-ASCII characters are kept as UTF-8; only `"`, `\` and control
/// characters are escaped.
pub fn write_str(out: &mut Vec<u8>, text: &str) {
    let mut rest = text.as_bytes();
    out.reserve(rest.len() + 2);
    out.push(b'"');
    while let Some(at) = first_escape(rest) {
        let (run, tail) = rest.split_at(at);
        out.extend_from_slice(run);
        let Some((&byte, after)) = tail.split_first() else {
            break;
        };
        let escape = ESCAPE[byte as usize];
        if escape == b'u' {
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(byte >> 4) as usize],
                HEX[(byte & 0xf) as usize],
            ]);
        } else {
            out.extend_from_slice(&[b'\\', escape]);
        }
        rest = after;
    }
    out.extend_from_slice(rest);
    out.push(b'"');
}

const LOW_BITS: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// The high bit of every byte of `word` that JSON must escape: below 0x20, `"` or `\`. The lowest flagged byte
/// is always a real one (borrows only run upwards), which is all [`first_escape`] needs.
fn escape_flags(word: u64) -> u64 {
    let quote = word ^ (LOW_BITS * u64::from(b'"'));
    let backslash = word ^ (LOW_BITS * u64::from(b'\\'));
    let control = word.wrapping_sub(LOW_BITS * 0x20) & !word;
    let quote = quote.wrapping_sub(LOW_BITS) & !quote;
    let backslash = backslash.wrapping_sub(LOW_BITS) & !backslash;
    (control | quote | backslash) & HIGH_BITS
}

/// The index of the first byte JSON must escape, scanning eight bytes at a time.
fn first_escape(bytes: &[u8]) -> Option<usize> {
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut word = [0_u8; 8];
        word.copy_from_slice(chunk);
        let flags = escape_flags(u64::from_le_bytes(word));
        if flags != 0 {
            return Some(offset + (flags.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    let remainder = chunks.remainder();
    if remainder.is_empty() {
        return None;
    }
    // Pad with spaces, which never need escaping, so the tail takes one more word test.
    let mut word = [b' '; 8];
    word.get_mut(..remainder.len())?.copy_from_slice(remainder);
    let flags = escape_flags(u64::from_le_bytes(word));
    (flags != 0).then(|| offset + (flags.trailing_zeros() / 8) as usize)
}

/// Append a signed integer.
pub fn write_i64(out: &mut Vec<u8>, value: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// Append an unsigned integer.
pub fn write_u64(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// Append a finite `f64` exactly as Python's `repr(float)` writes it: the shortest digits that round-trip,
/// positional when the decimal exponent is in `-4..16` (always with a fraction, `1.0`), scientific otherwise with
/// a signed, at least two-digit exponent (`1e+16`, `1.5e-07`). Returns `false`, writing nothing, for NaN and
/// infinities, which JSON cannot represent.
pub fn write_f64(out: &mut Vec<u8>, value: f64) -> bool {
    if !value.is_finite() {
        return false;
    }
    let magnitude = value.abs();
    if (1.0..1e16).contains(&magnitude) && value.fract() == 0.0 {
        // Integral values below 1e16 are exact in an i64 and print as the integer and `.0`.
        write_i64(out, value as i64);
        out.extend_from_slice(b".0");
        return true;
    }
    let mut buffer = zmij::Buffer::new();
    write_shortest(
        out,
        buffer.format_finite(value),
        (1e-4..1e16).contains(&magnitude),
    );
    true
}

/// Append a finite `f32` with the shortest digits that round-trip through `f32` (numpy `float32` values), in the
/// same layout as [`write_f64`]. Returns `false` for NaN and infinities.
pub fn write_f32(out: &mut Vec<u8>, value: f32) -> bool {
    if !value.is_finite() {
        return false;
    }
    let mut buffer = zmij::Buffer::new();
    write_shortest(
        out,
        buffer.format_finite(value),
        (1e-4..1e16).contains(&value.abs()),
    );
    true
}

/// Append the shortest digits `printed` by zmij: verbatim when the value lies where Python prints plain decimals
/// and zmij did too, otherwise re-laid in Python's layout.
fn write_shortest(out: &mut Vec<u8>, printed: &str, plain_range: bool) {
    if plain_range && memchr::memchr(b'e', printed.as_bytes()).is_none() {
        out.extend_from_slice(printed.as_bytes());
    } else {
        write_python_layout(out, printed);
    }
}

/// Re-lay a number printed by `zmij` (`1.5`, `1e16`, `1.5e-7`, `-0.0`, `123.0`) in Python's repr layout.
fn write_python_layout(out: &mut Vec<u8>, printed: &str) {
    let bytes = printed.as_bytes();
    let (negative, body) = match bytes.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, bytes),
    };
    let (mantissa, exponent) = match body.iter().position(|&b| b == b'e' || b == b'E') {
        Some(at) => (
            &body[..at],
            parse_exponent(body.get(at + 1..).unwrap_or_default()),
        ),
        None => (body, 0),
    };
    // Collect the significant digits and the position of the decimal point within them.
    let mut digits = [0_u8; 32];
    let mut count = 0_usize;
    let mut point: i32 = -1;
    for &byte in mantissa {
        if byte == b'.' {
            point = i32::try_from(count).unwrap_or(i32::MAX);
        } else if let Some(slot) = digits.get_mut(count) {
            *slot = byte;
            count += 1;
        }
    }
    if point < 0 {
        point = i32::try_from(count).unwrap_or(i32::MAX);
    }
    // Strip leading zeros (e.g. `0.001`), moving the point with them.
    let mut first = 0_usize;
    while first + 1 < count && digits[first] == b'0' {
        first += 1;
        point -= 1;
    }
    let mut last = count;
    while last > first + 1 && digits[last - 1] == b'0' {
        last -= 1;
    }
    let significant = &digits[first..last];
    if negative {
        out.push(b'-');
    }
    if significant == b"0" {
        out.extend_from_slice(b"0.0");
        return;
    }
    // The value is 0.d1d2d3... * 10^(point + exponent); Python's exponent is for the d1.d2d3... form.
    let decimal_exponent = point + exponent - 1;
    if (-4..16).contains(&decimal_exponent) {
        if decimal_exponent < 0 {
            out.extend_from_slice(b"0.");
            for _ in 0..(-decimal_exponent - 1) {
                out.push(b'0');
            }
            out.extend_from_slice(significant);
        } else {
            let integer_digits = usize::try_from(decimal_exponent + 1).unwrap_or(0);
            if significant.len() <= integer_digits {
                out.extend_from_slice(significant);
                for _ in significant.len()..integer_digits {
                    out.push(b'0');
                }
                out.extend_from_slice(b".0");
            } else {
                out.extend_from_slice(&significant[..integer_digits]);
                out.push(b'.');
                out.extend_from_slice(&significant[integer_digits..]);
            }
        }
    } else {
        out.push(significant[0]);
        if significant.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&significant[1..]);
        }
        out.push(b'e');
        out.push(if decimal_exponent < 0 { b'-' } else { b'+' });
        let magnitude = decimal_exponent.unsigned_abs();
        if magnitude < 10 {
            out.push(b'0');
        }
        out.extend_from_slice(itoa::Buffer::new().format(magnitude).as_bytes());
    }
}

/// Parse the exponent `zmij` prints (`16`, `-7`); it is always a small, well-formed integer.
fn parse_exponent(text: &[u8]) -> i32 {
    let (sign, digits) = match text.split_first() {
        Some((b'-', rest)) => (-1, rest),
        Some((b'+', rest)) => (1, rest),
        _ => (1, text),
    };
    let mut value: i32 = 0;
    for &digit in digits {
        value = value
            .saturating_mul(10)
            .saturating_add(i32::from(digit.wrapping_sub(b'0') % 10));
    }
    sign * value
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Append `data` as a quoted string of standard base64 (RFC 4648, `+/` with `=` padding).
pub fn write_base64(out: &mut Vec<u8>, data: &[u8]) {
    out.reserve(data.len().div_ceil(3) * 4 + 2);
    out.push(b'"');
    let mut chunks = data.chunks_exact(3);
    for chunk in &mut chunks {
        let group = u32::from(chunk[0]) << 16 | u32::from(chunk[1]) << 8 | u32::from(chunk[2]);
        out.extend_from_slice(&[
            BASE64[(group >> 18) as usize & 63],
            BASE64[(group >> 12) as usize & 63],
            BASE64[(group >> 6) as usize & 63],
            BASE64[group as usize & 63],
        ]);
    }
    match *chunks.remainder() {
        [a] => {
            let group = u32::from(a) << 16;
            out.extend_from_slice(&[
                BASE64[(group >> 18) as usize & 63],
                BASE64[(group >> 12) as usize & 63],
                b'=',
                b'=',
            ]);
        }
        [a, b] => {
            let group = u32::from(a) << 16 | u32::from(b) << 8;
            out.extend_from_slice(&[
                BASE64[(group >> 18) as usize & 63],
                BASE64[(group >> 12) as usize & 63],
                BASE64[(group >> 6) as usize & 63],
                b'=',
            ]);
        }
        _ => {}
    }
    out.push(b'"');
}

/// Append a quoted ISO 8601 duration for a `timedelta` given as Python stores it (`days` may be negative,
/// `0 <= seconds < 86400`, `0 <= microseconds < 1_000_000`): `"P1DT2H3M4.5S"`, `"-PT1S"`, `"PT0S"`.
/// Days are never folded into months or years, whose length varies.
pub fn write_duration(out: &mut Vec<u8>, days: i64, seconds: i64, microseconds: i64) {
    let total = i128::from(days) * 86_400_000_000
        + i128::from(seconds) * 1_000_000
        + i128::from(microseconds);
    let magnitude = total.unsigned_abs();
    let micros = (magnitude % 1_000_000) as u32;
    let whole_seconds = magnitude / 1_000_000;
    let days = whole_seconds / 86_400;
    let hours = (whole_seconds % 86_400) / 3_600;
    let minutes = (whole_seconds % 3_600) / 60;
    let secs = whole_seconds % 60;
    let mut integer = itoa::Buffer::new();
    out.push(b'"');
    if total < 0 {
        out.push(b'-');
    }
    out.push(b'P');
    if days > 0 {
        out.extend_from_slice(integer.format(days).as_bytes());
        out.push(b'D');
    }
    if hours > 0 || minutes > 0 || secs > 0 || micros > 0 || days == 0 {
        out.push(b'T');
        if hours > 0 {
            out.extend_from_slice(integer.format(hours).as_bytes());
            out.push(b'H');
        }
        if minutes > 0 {
            out.extend_from_slice(integer.format(minutes).as_bytes());
            out.push(b'M');
        }
        if secs > 0 || micros > 0 || (hours == 0 && minutes == 0) {
            out.extend_from_slice(integer.format(secs).as_bytes());
            if micros > 0 {
                let mut fraction = *b"000000";
                let mut rest = micros;
                for slot in fraction.iter_mut().rev() {
                    *slot = b'0' + (rest % 10) as u8;
                    rest /= 10;
                }
                let end = fraction
                    .iter()
                    .rposition(|&d| d != b'0')
                    .map_or(0, |at| at + 1);
                out.push(b'.');
                out.extend_from_slice(&fraction[..end]);
            }
            out.push(b'S');
        }
    }
    out.push(b'"');
}

/// Append a quoted canonical UUID (`"12345678-1234-5678-1234-567812345678"`) from its 128-bit value.
pub fn write_uuid(out: &mut Vec<u8>, value: u128) {
    let mut text = [0_u8; 38];
    text[0] = b'"';
    text[37] = b'"';
    let mut nibble = 0;
    for (index, slot) in text[1..37].iter_mut().enumerate() {
        if matches!(index, 8 | 13 | 18 | 23) {
            *slot = b'-';
        } else {
            *slot = HEX[((value >> (124 - 4 * nibble)) & 0xf) as usize];
            nibble += 1;
        }
    }
    out.extend_from_slice(&text);
}

/// Append a naive date as `"YYYY-MM-DD"` (years below 1000 are zero-padded, as `date.isoformat()` does).
pub fn write_date_fields(out: &mut Vec<u8>, year: i32, month: u8, day: u8) {
    write_padded(out, u32::try_from(year).unwrap_or(0), 4);
    out.push(b'-');
    write_padded(out, u32::from(month), 2);
    out.push(b'-');
    write_padded(out, u32::from(day), 2);
}

/// Append a naive time as `HH:MM:SS` plus `.ffffff` when the microseconds are not zero (`time.isoformat()`).
pub fn write_time_fields(out: &mut Vec<u8>, hour: u8, minute: u8, second: u8, microsecond: u32) {
    write_padded(out, u32::from(hour), 2);
    out.push(b':');
    write_padded(out, u32::from(minute), 2);
    out.push(b':');
    write_padded(out, u32::from(second), 2);
    if microsecond > 0 {
        out.push(b'.');
        write_padded(out, microsecond, 6);
    }
}

fn write_padded(out: &mut Vec<u8>, value: u32, width: usize) {
    let mut buffer = itoa::Buffer::new();
    let digits = buffer.format(value).as_bytes();
    for _ in digits.len()..width {
        out.push(b'0');
    }
    out.extend_from_slice(digits);
}

/// One step of the location of a value inside the document being encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSegment {
    /// An array element.
    Index(usize),
    /// An object member, by its key text.
    Key(String),
}

/// Render a location JSONPath-style: `$`, then `.name` for identifier-like keys, `["other key"]` for the rest
/// and `[3]` for indexes, e.g. `$.items[3].when`.
#[must_use]
pub fn render_path(segments: &[PathSegment]) -> String {
    let mut out = Vec::with_capacity(1 + segments.len() * 8);
    out.push(b'$');
    for segment in segments {
        match segment {
            PathSegment::Index(index) => {
                out.push(b'[');
                write_u64(&mut out, *index as u64);
                out.push(b']');
            }
            PathSegment::Key(key) if is_identifier(key) => {
                out.push(b'.');
                out.extend_from_slice(key.as_bytes());
            }
            PathSegment::Key(key) => {
                out.push(b'[');
                write_str(&mut out, key);
                out.push(b']');
            }
        }
    }
    String::from_utf8(out).unwrap_or_default()
}

fn is_identifier(key: &str) -> bool {
    let mut bytes = key.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The output buffer plus the layout state: compact (`indent` `None`) or pretty-printed with `\n` and `indent`
/// spaces per level. Separators are `,` and `:` when compact, `,` and `: ` when indented.
#[derive(Debug)]
pub struct Writer {
    /// The bytes written so far.
    pub buf: Vec<u8>,
    indent: Option<usize>,
    level: usize,
}

impl Writer {
    /// A writer with room for `capacity` bytes; `indent` is clamped to [`MAX_INDENT`].
    #[must_use]
    pub fn new(indent: Option<usize>, capacity: usize) -> Self {
        Self {
            buf: Vec::with_capacity(capacity),
            indent: indent.map(|n| n.min(MAX_INDENT)),
            level: 0,
        }
    }

    /// Open an array (`b'['`) or object (`b'{'`).
    #[inline]
    pub fn open(&mut self, bracket: u8) {
        self.buf.push(bracket);
        self.level += 1;
    }

    /// Start the next element of the open container; `first` is true for its first element.
    #[inline]
    pub fn element(&mut self, first: bool) {
        if !first {
            self.buf.push(b',');
        }
        if let Some(indent) = self.indent {
            self.newline(indent);
        }
    }

    /// Write the separator between an object key and its value.
    #[inline]
    pub fn colon(&mut self) {
        if self.indent.is_some() {
            self.buf.extend_from_slice(b": ");
        } else {
            self.buf.push(b':');
        }
    }

    /// Close the open container with `bracket` (`b']'` or `b'}'`); `empty` says whether it had no elements, in
    /// which case it stays on one line (`[]`, `{}`).
    #[inline]
    pub fn close(&mut self, bracket: u8, empty: bool) {
        self.level = self.level.saturating_sub(1);
        if let Some(indent) = self.indent {
            if !empty {
                self.newline(indent);
            }
        }
        self.buf.push(bracket);
    }

    fn newline(&mut self, indent: usize) {
        let width = indent.saturating_mul(self.level);
        self.buf.reserve(width.saturating_add(1));
        self.buf.push(b'\n');
        self.buf.resize(self.buf.len() + width, b' ');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn may_overflow_float_flags_large_exponents_and_long_mantissas() {
        for text in [
            "1e400",
            "[1.5E+308]",
            "2e0400",
            &format!("{}.0", "9".repeat(200)),
        ] {
            assert!(may_overflow_float(text.as_bytes()), "{text}");
        }
        for text in [
            "1e99",
            "1e-400",
            "1.5",
            "\"e500\"",
            "12345",
            &"9".repeat(5000),
            "1E+099",
        ] {
            assert!(!may_overflow_float(text.as_bytes()), "{text}");
        }
    }

    #[test]
    fn first_escape_finds_every_byte_at_every_position() {
        for byte in 0..=255_u8 {
            for len in 1..20 {
                for at in 0..len {
                    let mut text = vec![b'a'; len];
                    text[at] = byte;
                    let expected = (ESCAPE[byte as usize] != 0).then_some(at);
                    assert_eq!(
                        first_escape(&text),
                        expected,
                        "byte {byte:#x} at {at} of {len}"
                    );
                }
            }
        }
    }

    #[test]
    fn first_escape_reports_the_first_of_several() {
        assert_eq!(first_escape(b"ab\"\x01\\"), Some(2));
        assert_eq!(
            first_escape("\u{e9}\u{e9}\u{e9}\u{e9}\n".as_bytes()),
            Some(8)
        );
        assert_eq!(first_escape(b""), None);
    }

    #[test]
    fn floats_take_python_repr_layout() {
        for (value, expected) in [
            (3.0, "3.0"),
            (-42.0, "-42.0"),
            (1.5, "1.5"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1e16, "1e+16"),
            (9_999_999_999_999_998.0, "9999999999999998.0"),
            (1e-4, "0.0001"),
            (1e-5, "1e-05"),
            (123_456.789, "123456.789"),
            (1.797_693_134_862_315_7e308, "1.7976931348623157e+308"),
        ] {
            let mut out = Vec::new();
            assert!(write_f64(&mut out, value));
            assert_eq!(String::from_utf8(out).unwrap(), expected);
        }
    }

    fn string(text: &str) -> String {
        let mut out = Vec::new();
        write_str(&mut out, text);
        String::from_utf8(out).unwrap()
    }

    fn float(value: f64) -> String {
        let mut out = Vec::new();
        assert!(write_f64(&mut out, value));
        String::from_utf8(out).unwrap()
    }

    fn duration(days: i64, seconds: i64, microseconds: i64) -> String {
        let mut out = Vec::new();
        write_duration(&mut out, days, seconds, microseconds);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn escapes_quotes_backslashes_and_controls() {
        assert_eq!(string("plain"), r#""plain""#);
        assert_eq!(string(""), r#""""#);
        assert_eq!(string("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(string("\n\r\t\u{8}\u{c}"), r#""\n\r\t\b\f""#);
        assert_eq!(string("\u{0}\u{1f}x\u{7f}"), "\"\\u0000\\u001fx\u{7f}\"");
        assert_eq!(string("ñ€😀/"), "\"ñ€😀/\"");
    }

    #[test]
    fn floats_follow_python_repr() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (1.5, "1.5"),
            (-2.25, "-2.25"),
            (0.1, "0.1"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (123_456.789, "123456.789"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.234_567_890_123_456_7e16, "1.2345678901234568e+16"),
            (1e22, "1e+22"),
            (1e100, "1e+100"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (5e-324, "5e-324"),
            (9_007_199_254_740_993.0, "9007199254740992.0"),
        ];
        for &(value, expected) in cases {
            assert_eq!(float(value), expected, "{value:e}");
        }
    }

    #[test]
    fn non_finite_floats_are_refused() {
        let mut out = Vec::new();
        assert!(!write_f64(&mut out, f64::NAN));
        assert!(!write_f64(&mut out, f64::INFINITY));
        assert!(!write_f32(&mut out, f32::NEG_INFINITY));
        assert!(out.is_empty());
    }

    #[test]
    fn float32_uses_its_own_shortest_digits() {
        let mut out = Vec::new();
        assert!(write_f32(&mut out, 0.1));
        assert_eq!(out, b"0.1");
    }

    #[test]
    fn floats_round_trip() {
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let value = f64::from_bits(state);
            if !value.is_finite() {
                continue;
            }
            let text = float(value);
            assert_eq!(
                text.parse::<f64>().unwrap().to_bits(),
                value.to_bits(),
                "{text}"
            );
        }
    }

    #[test]
    fn integers() {
        let mut out = Vec::new();
        write_i64(&mut out, i64::MIN);
        out.push(b' ');
        write_u64(&mut out, u64::MAX);
        assert_eq!(out, b"-9223372036854775808 18446744073709551615");
    }

    #[test]
    fn base64_pads() {
        for (data, expected) in [
            (&b""[..], "\"\""),
            (b"f", "\"Zg==\""),
            (b"fo", "\"Zm8=\""), // codespell:ignore
            (b"foo", "\"Zm9v\""),
            (b"foob", "\"Zm9vYg==\""),
            (b"\xfb\xff", "\"+/8=\""),
        ] {
            let mut out = Vec::new();
            write_base64(&mut out, data);
            assert_eq!(String::from_utf8(out).unwrap(), expected);
        }
    }

    #[test]
    fn durations() {
        assert_eq!(duration(0, 0, 0), "\"PT0S\"");
        assert_eq!(duration(1, 7384, 500_000), "\"P1DT2H3M4.5S\"");
        assert_eq!(duration(2, 0, 0), "\"P2D\"");
        assert_eq!(duration(0, 3600, 0), "\"PT1H\"");
        assert_eq!(duration(0, 60, 0), "\"PT1M\"");
        assert_eq!(duration(0, 0, 1), "\"PT0.000001S\"");
        assert_eq!(duration(-1, 86399, 0), "\"-PT1S\"");
        assert_eq!(duration(-1, 0, 0), "\"-P1D\"");
        assert_eq!(duration(-2, 86_399, 999_999), "\"-P1DT0.000001S\"");
        assert_eq!(
            duration(999_999_999, 86_399, 999_999),
            "\"P999999999DT23H59M59.999999S\""
        );
        assert_eq!(duration(-999_999_999, 0, 0), "\"-P999999999D\"");
        assert!(duration(i64::MIN, i64::MIN, i64::MIN).starts_with("\"-P"));
    }

    #[test]
    fn uuids() {
        let mut out = Vec::new();
        write_uuid(&mut out, 0x1234_5678_1234_5678_1234_5678_1234_5678);
        assert_eq!(out, b"\"12345678-1234-5678-1234-567812345678\"");
    }

    #[test]
    fn dates_and_times() {
        let mut out = Vec::new();
        write_date_fields(&mut out, 7, 3, 9);
        out.push(b'T');
        write_time_fields(&mut out, 4, 5, 6, 70);
        out.push(b' ');
        write_time_fields(&mut out, 23, 59, 59, 0);
        assert_eq!(out, b"0007-03-09T04:05:06.000070 23:59:59");
    }

    #[test]
    fn paths() {
        assert_eq!(render_path(&[]), "$");
        let path = [
            PathSegment::Key("items".into()),
            PathSegment::Index(3),
            PathSegment::Key("when".into()),
            PathSegment::Key("a b\"".into()),
            PathSegment::Key("1x".into()),
            PathSegment::Key(String::new()),
        ];
        assert_eq!(render_path(&path), r#"$.items[3].when["a b\""]["1x"][""]"#);
    }

    #[test]
    fn writer_layouts() {
        for (indent, expected) in [
            (None, "{\"a\":[1,2],\"b\":[]}"),
            (
                Some(2),
                "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": []\n}",
            ),
            (Some(0), "{\n\"a\": [\n1,\n2\n],\n\"b\": []\n}"),
        ] {
            let mut writer = Writer::new(indent, 0);
            writer.open(b'{');
            writer.element(true);
            write_str(&mut writer.buf, "a");
            writer.colon();
            writer.open(b'[');
            for (index, value) in [1, 2].into_iter().enumerate() {
                writer.element(index == 0);
                write_i64(&mut writer.buf, value);
            }
            writer.close(b']', false);
            writer.element(false);
            write_str(&mut writer.buf, "b");
            writer.colon();
            writer.open(b'[');
            writer.close(b']', true);
            writer.close(b'}', false);
            assert_eq!(String::from_utf8(writer.buf).unwrap(), expected);
        }
    }
}
