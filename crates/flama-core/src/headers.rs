//! Header parsing and building: `Cookie`, `Set-Cookie`, `Content-Type` and `Accept-Encoding`.
//!
//! Parsers are lenient (they never fail; malformed pieces are skipped) because they read what clients send.
//! The `Set-Cookie` builder is strict because it writes what we send: anything that could break the header or
//! inject another one is refused.

use std::collections::HashSet;
use std::fmt::Write as _;

use crate::error::{Error, Result};

fn invalid(reason: impl Into<String>) -> Error {
    Error::InvalidArgument {
        reason: reason.into(),
    }
}

/// `value` without one pair of surrounding double quotes, if it has them.
fn unquote(value: &str) -> &str {
    value
        .strip_prefix('"')
        .and_then(|inner| inner.strip_suffix('"'))
        .unwrap_or(value)
}

// ---- Cookie ----

/// Parse a `Cookie` header the way browsers write it: `name=value` pairs separated by `;`.
///
/// Each pair is split at its first `=`; name and value are trimmed and one pair of double quotes around the
/// value is removed. Pieces without `=` or with an empty name are skipped. When a name repeats, the first
/// occurrence wins (browsers send the most specific path first). Never fails.
#[must_use]
pub fn parse_cookies(header: &str) -> Vec<(&str, &str)> {
    let mut seen = HashSet::new();
    let mut cookies = Vec::new();
    for piece in header.split(';') {
        let Some((name, value)) = piece.split_once('=') else {
            continue;
        };
        let name = name.trim_ascii();
        if name.is_empty() || !seen.insert(name) {
            continue;
        }
        cookies.push((name, unquote(value.trim_ascii())));
    }
    cookies
}

// ---- Set-Cookie ----

/// The `SameSite` attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SameSite {
    Lax,
    Strict,
    None,
}

impl SameSite {
    /// Parse `lax`, `strict` or `none` (case-insensitive).
    pub fn from_name(name: &str) -> Result<Self> {
        if name.eq_ignore_ascii_case("lax") {
            Ok(Self::Lax)
        } else if name.eq_ignore_ascii_case("strict") {
            Ok(Self::Strict)
        } else if name.eq_ignore_ascii_case("none") {
            Ok(Self::None)
        } else {
            Err(invalid(format!(
                "samesite must be 'lax', 'strict' or 'none', got {name:?}"
            )))
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Lax => "Lax",
            Self::Strict => "Strict",
            Self::None => "None",
        }
    }
}

/// When a cookie expires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expires<'a> {
    /// Seconds since the Unix epoch, written as an IMF-fixdate.
    Timestamp(i64),
    /// A date written verbatim (checked for characters that would break the header).
    Text(&'a str),
}

/// The attributes of a `Set-Cookie` header.
#[derive(Clone, Debug)]
#[allow(clippy::struct_excessive_bools)] // Each flag is one independent cookie attribute.
pub struct SetCookie<'a> {
    pub name: &'a str,
    pub value: &'a str,
    pub max_age: Option<i64>,
    pub expires: Option<Expires<'a>>,
    pub path: Option<&'a str>,
    pub domain: Option<&'a str>,
    pub secure: bool,
    pub httponly: bool,
    pub samesite: Option<SameSite>,
    pub partitioned: bool,
}

impl<'a> SetCookie<'a> {
    /// A cookie with the defaults of `build_set_cookie`: `Path=/`, `SameSite=Lax`.
    #[must_use]
    pub fn new(name: &'a str, value: &'a str) -> Self {
        Self {
            name,
            value,
            max_age: None,
            expires: None,
            path: Some("/"),
            domain: None,
            secure: false,
            httponly: false,
            samesite: Some(SameSite::Lax),
            partitioned: false,
        }
    }

    /// The header value, after checking every part.
    ///
    /// The name must be an RFC 6265 token; the value must be cookie-octets, optionally inside double quotes
    /// (nothing is quoted or escaped for the caller: encode other data first, e.g. with base64url). Path,
    /// domain and a textual expiry must not hold `;` or control characters. `SameSite=None` and `Partitioned`
    /// require `secure`.
    pub fn build(&self) -> Result<String> {
        if self.name.is_empty() || !self.name.bytes().all(is_tchar) {
            return Err(invalid(format!(
                "invalid cookie name {:?}: it must be a non-empty RFC 6265 token",
                self.name
            )));
        }
        if !unquote(self.value).bytes().all(is_cookie_octet) {
            return Err(invalid(format!(
                "invalid cookie value {:?}: only visible ASCII without whitespace, '\"', ',', ';' and '\\' is \
                 allowed (encode the value first)",
                self.value
            )));
        }
        if self.samesite == Some(SameSite::None) && !self.secure {
            return Err(invalid("samesite='none' requires secure=True"));
        }
        if self.partitioned && !self.secure {
            return Err(invalid("partitioned=True requires secure=True"));
        }
        let mut header = String::with_capacity(self.name.len() + self.value.len() + 64);
        header.push_str(self.name);
        header.push('=');
        header.push_str(self.value);
        match self.expires {
            Some(Expires::Timestamp(seconds)) => {
                header.push_str("; Expires=");
                write_imf_fixdate(&mut header, seconds)?;
            }
            Some(Expires::Text(text)) => {
                check_attribute("expires", text)?;
                header.push_str("; Expires=");
                header.push_str(text);
            }
            None => {}
        }
        if let Some(max_age) = self.max_age {
            // Writing to a String cannot fail.
            let _ = write!(header, "; Max-Age={max_age}");
        }
        if let Some(domain) = self.domain {
            check_attribute("domain", domain)?;
            header.push_str("; Domain=");
            header.push_str(domain);
        }
        if let Some(path) = self.path {
            check_attribute("path", path)?;
            header.push_str("; Path=");
            header.push_str(path);
        }
        if self.secure {
            header.push_str("; Secure");
        }
        if self.httponly {
            header.push_str("; HttpOnly");
        }
        if let Some(samesite) = self.samesite {
            header.push_str("; SameSite=");
            header.push_str(samesite.as_str());
        }
        if self.partitioned {
            header.push_str("; Partitioned");
        }
        Ok(header)
    }
}

/// RFC 9110 `tchar`.
fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// RFC 6265 `cookie-octet`: visible ASCII except `"`, `,`, `;` and `\`.
fn is_cookie_octet(byte: u8) -> bool {
    matches!(byte, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}

/// An attribute value must be non-empty and free of `;` and control characters (header injection).
fn check_attribute(what: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(invalid(format!("cookie {what} must not be empty")));
    }
    if value.chars().any(|c| c == ';' || c.is_control()) {
        return Err(invalid(format!(
            "invalid cookie {what} {value:?}: ';' and control characters are not allowed"
        )));
    }
    Ok(())
}

/// Append `seconds` since the Unix epoch as an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn write_imf_fixdate(out: &mut String, seconds: i64) -> Result<()> {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    // Years 1 to 9999 fit the four-digit year of the format.
    const MIN: i64 = -62_135_596_800;
    const MAX: i64 = 253_402_300_799;
    if !(MIN..=MAX).contains(&seconds) {
        return Err(invalid(format!(
            "expires timestamp {seconds} is outside the years 1 to 9999"
        )));
    }
    let days = seconds.div_euclid(86_400);
    let second_of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let weekday = DAYS
        .get(usize::try_from(days.rem_euclid(7)).unwrap_or(0))
        .unwrap_or(&"Thu");
    let month_name = MONTHS
        .get(usize::try_from(month - 1).unwrap_or(0))
        .unwrap_or(&"Jan");
    // Writing to a String cannot fail.
    let _ = write!(
        out,
        "{weekday}, {day:02} {month_name} {year:04} {:02}:{:02}:{:02} GMT",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    );
    Ok(())
}

/// (year, month 1-12, day 1-31) of the day `days` after 1970-01-01 in the proleptic Gregorian calendar.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    // Count from 0000-03-01 so that the leap day ends each 400-year era's years.
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

// ---- Content-Type ----

/// Parse `type/subtype; name=value; name="quoted \" value"`.
///
/// The media type is trimmed and lower-cased; parameter names are lower-cased; quoted values are unescaped.
/// Lenient: an empty value gives `("", [])`, malformed parameters (no `=`, empty name or value, unterminated
/// quotes) are skipped, and when a parameter repeats the first one wins. Never fails.
#[must_use]
pub fn parse_content_type(value: &str) -> (String, Vec<(String, String)>) {
    let (media_type, mut rest) = value.split_once(';').unwrap_or((value, ""));
    let media_type = media_type.trim_ascii().to_ascii_lowercase();
    let mut params: Vec<(String, String)> = Vec::new();
    while !rest.is_empty() {
        let piece = rest.trim_start_matches(|c: char| c == ';' || c.is_ascii_whitespace());
        // The name runs to `=`; a `;` first means this parameter has no value.
        let Some(end) = piece.find(['=', ';']) else {
            break;
        };
        let name = piece.get(..end).unwrap_or_default().trim_ascii();
        let after = piece.get(end..).unwrap_or_default();
        let Some(after) = after.strip_prefix('=') else {
            rest = after;
            continue;
        };
        let after = after.trim_start_matches([' ', '\t']);
        let parsed = if let Some(quoted) = after.strip_prefix('"') {
            if let Some((text, tail)) = read_quoted(quoted) {
                // Anything between the closing quote and the next `;` is junk.
                rest = tail
                    .find(';')
                    .and_then(|at| tail.get(at..))
                    .unwrap_or_default();
                Some(text)
            } else {
                rest = "";
                None
            }
        } else {
            let (token, tail) = after
                .split_once(';')
                .map_or((after, ""), |(token, tail)| (token, tail));
            rest = tail;
            let token = token.trim_ascii();
            (!token.is_empty()).then(|| token.to_owned())
        };
        if let Some(text) = parsed {
            if !name.is_empty()
                && !params
                    .iter()
                    .any(|(known, _)| known.eq_ignore_ascii_case(name))
            {
                params.push((name.to_ascii_lowercase(), text));
            }
        }
    }
    (media_type, params)
}

/// Read a quoted-string body (after the opening quote): (unescaped text, rest after the closing quote).
fn read_quoted(input: &str) -> Option<(String, &str)> {
    let mut text = String::new();
    let mut chars = input.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Some((text, input.get(at + 1..).unwrap_or_default())),
            '\\' => text.push(chars.next()?.1),
            other => text.push(other),
        }
    }
    None
}

// ---- Accept-Encoding ----

/// The outcome of content-coding negotiation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Negotiated {
    /// Use the coding at this index of the server's list.
    Coding(usize),
    /// Send the content unencoded.
    Identity,
    /// Nothing the server offers is acceptable (the caller may answer 406).
    NotAcceptable,
}

/// Quality in thousandths (RFC 9110 `qvalue`: 0 to 1 with up to three decimals).
fn parse_qvalue(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths: u16 = 0;
    for (index, digit) in fraction.bytes().enumerate() {
        let scale = [100, 10, 1].get(index).copied().unwrap_or(0);
        thousandths += u16::from(digit - b'0') * scale;
    }
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// A coding name compared case-insensitively, with `x-gzip` and `x-compress` as their modern names.
fn same_coding(a: &str, b: &str) -> bool {
    fn canonical(name: &str) -> &str {
        if name.eq_ignore_ascii_case("x-gzip") {
            "gzip"
        } else if name.eq_ignore_ascii_case("x-compress") {
            "compress"
        } else {
            name
        }
    }
    canonical(a).eq_ignore_ascii_case(canonical(b))
}

/// Pick a content coding for a response (RFC 9110 §12.5.3).
///
/// Each acceptable coding in `available` (q > 0, explicitly or through `*`) competes on its q-value; ties go
/// to the earlier entry of `available` (the server's preference). When a coding repeats in the header, its
/// first entry counts; entries with an invalid q-value are ignored. `identity` is acceptable unless the header
/// says `identity;q=0`, or `*;q=0` without an explicit `identity` entry; it wins only over codings with a lower
/// explicit q (or when none is acceptable). An empty header means `identity`.
#[must_use]
pub fn negotiate_encoding<S: AsRef<str>>(accept_encoding: &str, available: &[S]) -> Negotiated {
    let mut entries: Vec<(&str, u16)> = Vec::new();
    for element in accept_encoding.split(',') {
        let mut parts = element.split(';');
        let coding = parts.next().unwrap_or_default().trim_ascii();
        if coding.is_empty() {
            continue;
        }
        let mut quality = Some(1000);
        for param in parts {
            let (name, value) = param.split_once('=').unwrap_or((param, ""));
            if name.trim_ascii().eq_ignore_ascii_case("q") {
                quality = parse_qvalue(value.trim_ascii());
            }
        }
        if let Some(quality) = quality {
            if !entries.iter().any(|(known, _)| same_coding(known, coding)) {
                entries.push((coding, quality));
            }
        }
    }
    let lookup = |name: &str| {
        entries
            .iter()
            .find(|(known, _)| same_coding(known, name))
            .map(|(_, q)| *q)
    };
    let star = lookup("*");
    let identity = lookup("identity");
    let mut best: Option<(usize, u16)> = None;
    for (index, name) in available.iter().enumerate() {
        let name = name.as_ref();
        if name.eq_ignore_ascii_case("identity") {
            continue;
        }
        let quality = lookup(name).or(star).unwrap_or(0);
        if quality > 0 && best.is_none_or(|(_, top)| quality > top) {
            best = Some((index, quality));
        }
    }
    match (best, identity) {
        (Some((_, top)), Some(explicit)) if explicit > top => Negotiated::Identity,
        (Some((index, _)), _) => Negotiated::Coding(index),
        (None, Some(explicit)) if explicit > 0 => Negotiated::Identity,
        (None, Some(_)) => Negotiated::NotAcceptable,
        (None, None) if star == Some(0) => Negotiated::NotAcceptable,
        (None, None) => Negotiated::Identity,
    }
}
