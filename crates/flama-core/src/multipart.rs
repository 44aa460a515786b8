//! A streaming `multipart/form-data` parser (RFC 7578 over the RFC 2046 multipart syntax).
//!
//! The parser is a state machine fed one chunk at a time. Each call returns the events that chunk completes:
//! the start of a part (its parsed headers), runs of part data and the end of a part. Data is reported as
//! ranges of the chunk, so a binding can hand out slices without copying more than it must; only the few bytes
//! held back at the end of a chunk, because they might begin a delimiter, are ever buffered.
//!
//! The delimiter is `CRLF "--" boundary`. Boundary characters never include CR (RFC 2046 `bchars`), so a
//! delimiter can only start at a CR: this is what lets the parser decide, from a single CR, whether held-back
//! bytes were data after all.

use std::mem;
use std::ops::Range;

use memchr::{memchr, memchr2, memmem, memrchr};

use crate::error::{Error, Result};

/// The longest boundary RFC 2046 allows.
pub const MAX_BOUNDARY_LEN: usize = 70;

/// The default cap on the size of one part's header block, in bytes.
pub const DEFAULT_MAX_HEADER_SIZE: usize = 16 * 1024;

/// The headers of one part, read from its header block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The `name` parameter of `Content-Disposition`.
    pub name: String,
    /// The file name: `filename*` (RFC 5987) when present and decodable, else `filename`; `None` for a field.
    /// Reduced to a safe base name (see `safe_filename`); the raw value stays in `headers`.
    pub filename: Option<String>,
    /// The `Content-Type` header, as written.
    pub content_type: Option<String>,
    /// Every header in order, names lowercased, values decoded as UTF-8 (invalid bytes become U+FFFD).
    pub headers: Vec<(String, String)>,
}

/// Where the bytes of a data event are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Span {
    /// A range of the chunk just fed.
    Chunk(Range<usize>),
    /// Bytes held back from an earlier chunk because they might have begun a delimiter, and did not.
    Held(Vec<u8>),
}

impl Span {
    /// The bytes of this span, given the chunk it was reported for.
    #[must_use]
    pub fn bytes<'a>(&'a self, chunk: &'a [u8]) -> &'a [u8] {
        match self {
            Self::Chunk(range) => chunk.get(range.clone()).unwrap_or_default(),
            Self::Held(bytes) => bytes,
        }
    }
}

/// What a chunk completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A part begins; its data follows.
    PartStart(Part),
    /// A contiguous run of the current part's data.
    Data(Span),
    /// The current part ended.
    PartEnd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the first delimiter; bytes are ignored.
    Preamble,
    /// Reading headers after a delimiter line.
    Headers,
    /// Inside a part's data.
    Body,
    /// Just after a delimiter: `--`, transport padding or CRLF follow.
    AfterDelimiter,
    /// One `-` read after a delimiter.
    CloseDash,
    /// A CR read after a delimiter.
    AfterDelimiterCr,
    /// After the close delimiter; bytes are ignored.
    Epilogue,
    /// An error was reported; the parser accepts nothing more.
    Failed,
}

/// The streaming parser.
#[derive(Debug)]
pub struct MultipartParser {
    finder: memmem::Finder<'static>,
    state: State,
    /// A tail of the previous chunk that is a proper prefix of the delimiter (Preamble and Body only).
    held: Vec<u8>,
    /// The header block read so far, after a virtual leading CRLF (so an empty block is found as CRLFCRLF).
    header: Vec<u8>,
    max_header_size: usize,
    max_parts: Option<usize>,
    parts: usize,
}

impl MultipartParser {
    /// A parser for bodies delimited by `boundary` (1 to 70 RFC 2046 boundary characters).
    pub fn new(boundary: &[u8], max_header_size: usize, max_parts: Option<usize>) -> Result<Self> {
        if !is_valid_boundary(boundary) {
            return Err(Error::MissingBoundary);
        }
        let mut delimiter = Vec::with_capacity(boundary.len() + 4);
        delimiter.extend_from_slice(b"\r\n--");
        delimiter.extend_from_slice(boundary);
        Ok(Self {
            finder: memmem::Finder::new(&delimiter).into_owned(),
            state: State::Preamble,
            // The body's first line may be the delimiter line itself: pretend a CRLF came before it.
            held: b"\r\n".to_vec(),
            header: Vec::new(),
            max_header_size,
            max_parts,
            parts: 0,
        })
    }

    /// Feed the next chunk of the body and get the events it completes.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<Event>> {
        let mut events = Vec::new();
        if self.state == State::Failed {
            return Err(malformed("the parser already failed on an earlier chunk"));
        }
        if let Err(err) = self.run(chunk, &mut events) {
            self.state = State::Failed;
            return Err(err);
        }
        Ok(events)
    }

    /// Declare the body complete: an error unless the close delimiter was read.
    pub fn finish(&mut self) -> Result<()> {
        match self.state {
            State::Epilogue => Ok(()),
            State::Failed => Err(malformed("the parser already failed on an earlier chunk")),
            State::Preamble => Err(malformed("no multipart boundary found in the body")),
            _ => {
                self.state = State::Failed;
                Err(malformed("the body ended before the closing boundary"))
            }
        }
    }

    /// Whether the close delimiter has been read.
    #[must_use]
    pub fn is_complete(&self) -> bool {
        self.state == State::Epilogue
    }

    fn run(&mut self, chunk: &[u8], events: &mut Vec<Event>) -> Result<()> {
        let mut pos = 0;
        while let Some(&byte) = chunk.get(pos) {
            match self.state {
                State::Preamble | State::Body => pos = self.scan(chunk, pos, events),
                State::Headers => pos = self.read_headers(chunk, pos, events)?,
                State::AfterDelimiter => {
                    pos += 1;
                    self.state = match byte {
                        b'-' => State::CloseDash,
                        // Transport padding (RFC 2046 `LWSP`) may follow a delimiter.
                        b' ' | b'\t' => State::AfterDelimiter,
                        b'\r' => State::AfterDelimiterCr,
                        _ => return Err(malformed("unexpected bytes after a boundary")),
                    };
                }
                State::CloseDash => {
                    if byte != b'-' {
                        return Err(malformed("unexpected bytes after a boundary"));
                    }
                    pos += 1;
                    self.state = State::Epilogue;
                }
                State::AfterDelimiterCr => {
                    if byte != b'\n' {
                        return Err(malformed("a boundary line must end with CRLF"));
                    }
                    pos += 1;
                    self.header.clear();
                    self.header.extend_from_slice(b"\r\n");
                    self.state = State::Headers;
                }
                State::Epilogue => return Ok(()),
                State::Failed => {
                    return Err(malformed("the parser already failed on an earlier chunk"))
                }
            }
        }
        Ok(())
    }

    /// Look for the delimiter from `pos`, reporting data before it when inside a part. Returns the new position.
    fn scan(&mut self, chunk: &[u8], mut pos: usize, events: &mut Vec<Event>) -> usize {
        let in_body = self.state == State::Body;
        let delimiter = self.finder.needle();
        let rest = chunk.get(pos..).unwrap_or_default();
        if !self.held.is_empty() {
            let known = self.held.len();
            let wanted = delimiter.get(known..).unwrap_or_default();
            let seen = wanted.len().min(rest.len());
            if rest.get(..seen) == wanted.get(..seen) {
                if seen == wanted.len() {
                    self.held.clear();
                    return self.delimiter_found(pos + seen, events);
                }
                // Still a delimiter prefix, and the chunk ended: keep holding.
                self.held.extend_from_slice(rest);
                return chunk.len();
            }
            // Not a delimiter. It started at the held CR, the only CR it holds, so all of it is data.
            let held = mem::take(&mut self.held);
            if in_body {
                events.push(Event::Data(Span::Held(held)));
            }
        }
        if let Some(found) = self.finder.find(rest) {
            if in_body && found > 0 {
                events.push(Event::Data(Span::Chunk(pos..pos + found)));
            }
            return self.delimiter_found(pos + found + delimiter.len(), events);
        }
        // Hold back a tail that may begin a delimiter: it can only start at the last CR of the final bytes.
        let window = rest.len().saturating_sub(delimiter.len() - 1);
        let keep = match memrchr(b'\r', rest.get(window..).unwrap_or_default()) {
            Some(offset)
                if delimiter.starts_with(rest.get(window + offset..).unwrap_or_default()) =>
            {
                rest.len() - window - offset
            }
            _ => 0,
        };
        let data_end = rest.len() - keep;
        if in_body && data_end > 0 {
            events.push(Event::Data(Span::Chunk(pos..pos + data_end)));
        }
        self.held
            .extend_from_slice(rest.get(data_end..).unwrap_or_default());
        pos = chunk.len();
        pos
    }

    fn delimiter_found(&mut self, pos: usize, events: &mut Vec<Event>) -> usize {
        if self.state == State::Body {
            events.push(Event::PartEnd);
        }
        self.state = State::AfterDelimiter;
        pos
    }

    /// Accumulate the header block from `pos`; once complete, report the part. Returns the new position.
    fn read_headers(&mut self, chunk: &[u8], pos: usize, events: &mut Vec<Event>) -> Result<usize> {
        const END: &[u8] = b"\r\n\r\n";
        let rest = chunk.get(pos..).unwrap_or_default();
        // The header buffer starts with a virtual CRLF, which does not count against the limit.
        let cap = self.max_header_size.saturating_add(2);
        let scope = rest
            .get(..cap.saturating_sub(self.header.len()).min(rest.len()))
            .unwrap_or_default();
        // The end of the block may straddle the held bytes and this chunk: look at their joint first.
        let held = self.header.len().min(3);
        let mut joint = self
            .header
            .get(self.header.len() - held..)
            .unwrap_or_default()
            .to_vec();
        joint.extend_from_slice(scope.get(..3.min(scope.len())).unwrap_or_default());
        let taken = match memmem::find(&joint, END) {
            Some(index) => Some((index + END.len()).saturating_sub(held)),
            None => memmem::find(scope, END).map(|index| index + END.len()),
        };
        let Some(taken) = taken else {
            if scope.len() < rest.len() {
                return Err(Error::PayloadTooLarge {
                    limit: "max_header_size",
                    maximum: self.max_header_size as u64,
                });
            }
            self.header.extend_from_slice(scope);
            return Ok(chunk.len());
        };
        self.header
            .extend_from_slice(scope.get(..taken).unwrap_or_default());
        let block = self
            .header
            .get(2..self.header.len() - END.len())
            .unwrap_or_default();
        let part = parse_part_headers(block)?;
        self.parts += 1;
        if let Some(maximum) = self.max_parts {
            if self.parts > maximum {
                return Err(Error::PayloadTooLarge {
                    limit: "max_parts",
                    maximum: maximum as u64,
                });
            }
        }
        events.push(Event::PartStart(part));
        self.header.clear();
        self.state = State::Body;
        Ok(pos + taken)
    }
}

fn malformed(reason: &str) -> Error {
    Error::MalformedBody {
        reason: reason.to_owned(),
    }
}

/// Whether `boundary` is 1 to 70 RFC 2046 `bchars`, not ending with a space.
#[must_use]
pub fn is_valid_boundary(boundary: &[u8]) -> bool {
    (1..=MAX_BOUNDARY_LEN).contains(&boundary.len())
        && boundary.last() != Some(&b' ')
        && boundary
            .iter()
            .all(|byte| byte.is_ascii_alphanumeric() || b"'()+_,-./:=? ".contains(byte))
}

/// The boundary of a `multipart/*` content type, e.g. `multipart/form-data; boundary=xyz`.
pub fn parse_boundary(content_type: &str) -> Result<Vec<u8>> {
    let (_, params) = parse_parameters(content_type).ok_or(Error::MissingBoundary)?;
    let boundary = params
        .into_iter()
        .find(|(name, _)| name == "boundary")
        .ok_or(Error::MissingBoundary)?
        .1;
    if is_valid_boundary(boundary.as_bytes()) {
        Ok(boundary.into_bytes())
    } else {
        Err(Error::MissingBoundary)
    }
}

/// Parse a header block (lines separated by CRLF, without the final blank line) into a part.
fn parse_part_headers(block: &[u8]) -> Result<Part> {
    let mut headers = Vec::new();
    if !block.is_empty() {
        let mut start = 0;
        for end in memmem::find_iter(block, b"\r\n").chain(std::iter::once(block.len())) {
            let line = block.get(start..end).unwrap_or_default();
            start = end + 2;
            if memchr2(b'\r', b'\n', line).is_some() {
                return Err(malformed("part header lines must end with CRLF"));
            }
            headers.push(parse_header_line(line)?);
        }
    }
    let mut name = None;
    let mut filename = None;
    let mut content_type = None;
    for (header, value) in &headers {
        match header.as_str() {
            "content-disposition" if name.is_none() => {
                let (kind, params) = parse_parameters(value)
                    .ok_or_else(|| malformed("invalid Content-Disposition header"))?;
                if !kind.eq_ignore_ascii_case("form-data") {
                    return Err(malformed("a part's Content-Disposition must be form-data"));
                }
                let mut plain = None;
                let mut extended = None;
                for (param, text) in params {
                    match param.as_str() {
                        "name" if name.is_none() => name = Some(text),
                        "filename" if plain.is_none() => plain = Some(text),
                        "filename*" if extended.is_none() => extended = decode_ext_value(&text),
                        _ => {}
                    }
                }
                if name.is_none() {
                    return Err(malformed("a part's Content-Disposition has no name"));
                }
                filename = extended.or(plain).map(|text| safe_filename(&text));
            }
            "content-type" if content_type.is_none() => content_type = Some(value.clone()),
            _ => {}
        }
    }
    let name = name.ok_or_else(|| malformed("a part has no Content-Disposition header"))?;
    Ok(Part {
        name,
        filename,
        content_type,
        headers,
    })
}

/// One `name: value` header line.
fn parse_header_line(line: &[u8]) -> Result<(String, String)> {
    if line
        .first()
        .is_some_and(|&byte| byte == b' ' || byte == b'\t')
    {
        return Err(malformed("folded part header lines are not supported"));
    }
    let colon = memchr(b':', line).ok_or_else(|| malformed("a part header line has no colon"))?;
    let name = line.get(..colon).unwrap_or_default();
    if name.is_empty() || !name.iter().all(|&byte| is_token(byte)) {
        return Err(malformed("invalid part header name"));
    }
    let value = line.get(colon + 1..).unwrap_or_default().trim_ascii();
    if value.contains(&0) {
        return Err(malformed("invalid character in a part header value"));
    }
    let name = String::from_utf8_lossy(name).to_ascii_lowercase();
    Ok((name, String::from_utf8_lossy(value).into_owned()))
}

/// RFC 9110 `tchar`.
fn is_token(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// Split `type; a=b; c="d"` into its leading value and its parameters (names lowercased, quoted strings
/// unescaped). `None` when the parameters do not follow the grammar.
fn parse_parameters(value: &str) -> Option<(&str, Vec<(String, String)>)> {
    const OWS: [char; 2] = [' ', '\t'];
    let (kind, mut rest) = value.split_once(';').unwrap_or((value, ""));
    let mut params = Vec::new();
    loop {
        rest = rest.trim_start_matches([' ', '\t', ';']);
        if rest.is_empty() {
            break;
        }
        let (name, tail) = rest.split_once('=')?;
        let name = name.trim_end_matches(OWS);
        if name.is_empty() || !name.bytes().all(is_token) {
            return None;
        }
        let tail = tail.trim_start_matches(OWS);
        let text = if let Some(quoted) = tail.strip_prefix('"') {
            let mut text = String::new();
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((index, char)) = chars.next() {
                match char {
                    '\\' => text.push(chars.next()?.1),
                    '"' => {
                        end = Some(index + 1);
                        break;
                    }
                    _ => text.push(char),
                }
            }
            rest = quoted.get(end?..)?.trim_start_matches(OWS);
            if !(rest.is_empty() || rest.starts_with(';')) {
                return None;
            }
            text
        } else {
            let (text, tail) = tail
                .split_once(';')
                .map_or((tail, ""), |(text, tail)| (text, tail));
            rest = tail;
            text.trim_end_matches(OWS).to_owned()
        };
        params.push((name.to_ascii_lowercase(), text));
    }
    Some((kind.trim_matches(OWS), params))
}

/// Decode an RFC 5987 `ext-value` (`charset'language'percent-encoded`); `None` for an unknown charset.
/// The base name of a client-given file name: what follows the last `/` or `\`, without control characters
/// (NUL included), and empty for `.` or `..`. Clients send base names; anything else is a path traversal attempt.
fn safe_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base.chars().filter(|c| !c.is_control()).collect();
    if cleaned == "." || cleaned == ".." {
        String::new()
    } else {
        cleaned
    }
}

fn decode_ext_value(value: &str) -> Option<String> {
    let mut pieces = value.splitn(3, '\'');
    let charset = pieces.next()?;
    let _language = pieces.next()?;
    let encoded = pieces.next()?;
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(encoded).collect();
    if charset.eq_ignore_ascii_case("utf-8") {
        Some(String::from_utf8_lossy(&bytes).into_owned())
    } else if charset.eq_ignore_ascii_case("iso-8859-1") {
        Some(bytes.iter().map(|&byte| char::from(byte)).collect())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNDARY: &[u8] = b"xYzZY";

    /// A simplified view of the events of a whole body fed in chunks of `size`: parts with their joined data.
    fn parse_chunked(body: &[u8], size: usize) -> Result<Vec<(Part, Vec<u8>)>> {
        let mut parser = MultipartParser::new(BOUNDARY, DEFAULT_MAX_HEADER_SIZE, None)?;
        let mut parts: Vec<(Part, Vec<u8>)> = Vec::new();
        let mut open = false;
        for chunk in body.chunks(size.max(1)) {
            for event in parser.feed(chunk)? {
                match event {
                    Event::PartStart(part) => {
                        assert!(!open, "part started inside a part");
                        open = true;
                        parts.push((part, Vec::new()));
                    }
                    Event::Data(span) => {
                        assert!(open, "data outside a part");
                        let bytes = span.bytes(chunk);
                        assert!(!bytes.is_empty(), "empty data event");
                        parts
                            .last_mut()
                            .expect("open part")
                            .1
                            .extend_from_slice(bytes);
                    }
                    Event::PartEnd => {
                        assert!(open, "part ended outside a part");
                        open = false;
                    }
                }
            }
        }
        parser.finish()?;
        Ok(parts)
    }

    fn simple_body() -> Vec<u8> {
        b"preamble\r\n--xYzZY\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue\r\n\r\n-\
          -xYzZY\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.txt\"\r\nContent-Type: text/plain\r\n\r\n\
          \r\n--xYzZ \r\n--xYzZY--\r\nepilogue --xYzZY"
            .to_vec()
    }

    #[test]
    fn parses_at_every_chunk_size() {
        let body = simple_body();
        for size in 1..=body.len() {
            let parts = parse_chunked(&body, size).expect("valid body");
            assert_eq!(parts.len(), 2, "chunk size {size}");
            assert_eq!(parts[0].0.name, "a");
            assert_eq!(parts[0].0.filename, None);
            assert_eq!(parts[0].1, b"value\r\n");
            assert_eq!(parts[1].0.name, "f");
            assert_eq!(parts[1].0.filename.as_deref(), Some("x.txt"));
            assert_eq!(parts[1].0.content_type.as_deref(), Some("text/plain"));
            assert_eq!(parts[1].1, b"\r\n--xYzZ ");
        }
    }

    #[test]
    fn data_is_one_range_of_the_chunk() {
        let mut parser = MultipartParser::new(BOUNDARY, 100, None).expect("valid");
        let events = parser
            .feed(b"--xYzZY\r\nContent-Disposition: form-data; name=a\r\n\r\n")
            .expect("headers");
        assert!(matches!(&events[..], [Event::PartStart(part)] if part.name == "a"));
        assert_eq!(
            parser.feed(b"0123456789").expect("data"),
            vec![Event::Data(Span::Chunk(0..10))]
        );
        assert_eq!(
            parser.feed(b"ab\r\n--xY").expect("data"),
            vec![Event::Data(Span::Chunk(0..2))]
        );
        assert_eq!(
            parser.feed(b"q").expect("data"),
            vec![Event::Data(Span::Held(b"\r\n--xY".to_vec()))]
                .into_iter()
                .chain([Event::Data(Span::Chunk(0..1))])
                .collect::<Vec<_>>()
        );
        assert_eq!(
            parser.feed(b"\r\n--xYzZY--").expect("end"),
            vec![Event::PartEnd]
        );
        parser.finish().expect("complete");
    }

    #[test]
    fn empty_header_block_is_malformed_and_empty_part_is_fine() {
        let err =
            parse_chunked(b"--xYzZY\r\n\r\ndata\r\n--xYzZY--", 7).expect_err("no disposition");
        assert_eq!(
            err.to_string(),
            "malformed body: a part has no Content-Disposition header"
        );
        let parts = parse_chunked(
            b"--xYzZY\r\ncontent-disposition: form-data; name=e\r\n\r\n\r\n--xYzZY--",
            3,
        )
        .expect("ok");
        assert_eq!(parts[0].1, b"");
    }

    #[test]
    fn rejects_malformed_bodies() {
        let cases: &[(&[u8], &str)] = &[
            (
                b"",
                "malformed body: no multipart boundary found in the body",
            ),
            (
                b"--xYzZY\r\nContent-Disposition: form-data; name=a\r\n\r\nabc",
                "malformed body: the body ended before the closing boundary",
            ),
            (
                b"--xYzZYz\r\n",
                "malformed body: unexpected bytes after a boundary",
            ),
            (
                b"--xYzZY-x",
                "malformed body: unexpected bytes after a boundary",
            ),
            (
                b"--xYzZY\rx",
                "malformed body: a boundary line must end with CRLF",
            ),
            (
                b"--xYzZY\r\nContent-Disposition: attachment; name=a\r\n\r\n",
                "malformed body: a part's Content-Disposition must be form-data",
            ),
            (
                b"--xYzZY\r\nContent-Disposition: form-data\r\n\r\n",
                "malformed body: a part's Content-Disposition has no name",
            ),
            (
                b"--xYzZY\r\nContent-Disposition: form-data; name=\"a\r\n\r\n",
                "malformed body: invalid Content-Disposition header",
            ),
            (
                b"--xYzZY\r\nno colon\r\n\r\n",
                "malformed body: a part header line has no colon",
            ),
            (
                b"--xYzZY\r\nA: b\r\n c\r\n\r\n",
                "malformed body: folded part header lines are not supported",
            ),
            (
                b"--xYzZY\r\nA: b\nB: c\r\n\r\n",
                "malformed body: part header lines must end with CRLF",
            ),
            (
                b"--xYzZY\r\nA b: c\r\n\r\n",
                "malformed body: invalid part header name",
            ),
        ];
        for (body, message) in cases {
            let err = parse_chunked(body, body.len()).expect_err("malformed");
            assert_eq!(
                err.to_string(),
                *message,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn limits_headers_and_parts() {
        let body = b"--xYzZY\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--xYzZY--";
        let header_len = b"Content-Disposition: form-data; name=a\r\n\r\n".len();
        for size in [1, 5, body.len()] {
            let mut parser = MultipartParser::new(BOUNDARY, header_len, Some(1)).expect("valid");
            for chunk in body.chunks(size) {
                parser.feed(chunk).expect("within limits");
            }
            parser.finish().expect("complete");
            let mut parser = MultipartParser::new(BOUNDARY, header_len - 1, None).expect("valid");
            let err = body
                .chunks(size)
                .try_for_each(|chunk| parser.feed(chunk).map(drop))
                .expect_err("too big");
            assert!(
                matches!(err, Error::PayloadTooLarge { limit: "max_header_size", maximum } if maximum as usize == header_len - 1)
            );
            assert!(parser.feed(b"x").is_err(), "a failed parser stays failed");
        }
        let mut parser = MultipartParser::new(BOUNDARY, 100, Some(0)).expect("valid");
        let err = parser.feed(body).expect_err("too many parts");
        assert!(matches!(
            err,
            Error::PayloadTooLarge {
                limit: "max_parts",
                maximum: 0
            }
        ));
    }

    #[test]
    fn file_names_are_reduced_to_safe_base_names() {
        for (given, expected) in [
            ("UTF-8''%2F..%2F..%2Fetc%2Fpasswd%00", "passwd"),
            ("UTF-8''..%5C..%5Cboot.ini", "boot.ini"),
            ("UTF-8''..", ""),
            ("UTF-8''a%0Ab%7Fc.txt", "abc.txt"),
        ] {
            let block = format!("Content-Disposition: form-data; name=f; filename*={given}");
            let part = parse_part_headers(block.as_bytes()).unwrap();
            assert_eq!(part.filename.as_deref(), Some(expected), "{given}");
            assert!(part.headers[0].1.contains(given), "the raw value is kept");
        }
        let part =
            parse_part_headers(b"Content-Disposition: form-data; name=f; filename=\"../x/y.txt\"")
                .unwrap();
        assert_eq!(part.filename.as_deref(), Some("y.txt"));
    }

    #[test]
    fn reads_filenames() {
        let part = parse_part_headers(
            b"Content-Disposition: form-data; name=\"f\\\"q\"; filename=\"plain.txt\"; filename*=UTF-8''%E2%82%AC%20rates.txt\r\n\
              X-Extra:  kept  ",
        )
        .expect("valid");
        assert_eq!(part.name, "f\"q");
        assert_eq!(part.filename.as_deref(), Some("\u{20ac} rates.txt"));
        assert_eq!(part.headers[1], ("x-extra".to_owned(), "kept".to_owned()));
        let part = parse_part_headers(
            b"Content-Disposition: form-data; name=f; filename*=iso-8859-1'en'%A3",
        )
        .expect("ok");
        assert_eq!(part.filename.as_deref(), Some("\u{a3}"));
        let part = parse_part_headers(
            b"Content-Disposition: form-data; name=f; filename*=koi8-r''x; filename=a",
        )
        .expect("ok");
        assert_eq!(part.filename.as_deref(), Some("a"));
    }

    #[test]
    fn parses_boundaries() {
        assert_eq!(
            parse_boundary("multipart/form-data; boundary=abc").expect("ok"),
            b"abc"
        );
        assert_eq!(
            parse_boundary("multipart/form-data;charset=x;BOUNDARY=\"a b:c\"").expect("ok"),
            b"a b:c"
        );
        for bad in [
            "multipart/form-data",
            "multipart/form-data; boundary=",
            "multipart/form-data; boundary=\"a \"",
            "multipart/form-data; boundary=a\u{e9}",
            "multipart/form-data; boundary=\"abc",
            &format!("m; boundary={}", "a".repeat(71)),
        ] {
            assert!(
                matches!(parse_boundary(bad), Err(Error::MissingBoundary)),
                "{bad}"
            );
        }
        assert!(matches!(
            MultipartParser::new(b"a\rb", 10, None),
            Err(Error::MissingBoundary)
        ));
    }
}
