//! The route table: path templates, converters, matching and reverse URLs.
//!
//! A template such as `/users/{id:int}/files/{rest:path}` is split into `/`-separated segments. Entries (routes
//! and mounts share one index space) are stored in a segment tree: static segments sit in a hash map, dynamic
//! ones (holding parameters, possibly next to literal text) in a short ordered list. Matching walks the tree
//! and keeps the lowest index that matches, pruning every subtree whose lowest index cannot beat it, so the
//! result equals "the first added entry that matches wins" while the cost stays near-constant in the number of
//! routes.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::error::{Error, Result};

/// How a parameter's text is recognised and what value it becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Converter {
    /// One non-empty segment, without `/`.
    Str,
    /// ASCII digits, at most `MAX_INT_DIGITS` of them.
    Int,
    /// A decimal number with optional sign, fraction and exponent (`1`, `-1.5`, `2.5E+10`) that is finite as `f64`.
    Float,
    /// Same text as `Float`, kept exact.
    Decimal,
    /// A canonical 8-4-4-4-12 UUID in any case.
    Uuid,
    /// The rest of the path, `/` included; only allowed as the last parameter.
    Path,
}

impl Converter {
    /// The converter called `name` in a template.
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "str" => Self::Str,
            "int" => Self::Int,
            "float" => Self::Float,
            "decimal" => Self::Decimal,
            "uuid" => Self::Uuid,
            "path" => Self::Path,
            _ => return None,
        })
    }

    /// The name used in templates.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Str => "str",
            Self::Int => "int",
            Self::Float => "float",
            Self::Decimal => "decimal",
            Self::Uuid => "uuid",
            Self::Path => "path",
        }
    }

    /// Whether `text` is a whole value of this converter.
    fn accepts(self, text: &str) -> bool {
        match self {
            Self::Str => !text.is_empty() && !text.contains('/'),
            Self::Int => is_digits(text) && text.len() <= MAX_INT_DIGITS,
            Self::Float => is_number(text) && text.parse::<f64>().is_ok_and(f64::is_finite),
            // An exact decimal type cannot hold any exponent (Python's `Decimal` refuses past 10**18).
            Self::Decimal => is_number(text) && exponent_fits(text),
            Self::Uuid => parse_uuid(text).is_some(),
            Self::Path => true,
        }
    }

    /// How far into `rest` a value of this converter can reach: the longest prefix made only of characters
    /// it may use, inside the first segment.
    fn reach(self, rest: &str) -> usize {
        let bytes = rest.as_bytes();
        let count = |allowed: fn(u8) -> bool| bytes.iter().take_while(|&&b| allowed(b)).count();
        match self {
            Self::Str => memchr::memchr(b'/', bytes).unwrap_or(bytes.len()),
            Self::Path => bytes.len(),
            Self::Int => digit_run(bytes),
            Self::Float | Self::Decimal => {
                count(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'))
            }
            Self::Uuid => count(|b| b.is_ascii_hexdigit() || b == b'-').min(36),
        }
    }

    /// `accepts` for a non-empty `text` no longer than `reach` allows, skipping what `reach` already checked.
    fn accepts_within_reach(self, text: &str) -> bool {
        match self {
            Self::Str | Self::Path => true,
            Self::Int => text.len() <= MAX_INT_DIGITS,
            Self::Float | Self::Decimal | Self::Uuid => self.accepts(text),
        }
    }

    /// The typed value of `text`, which `accepts` approved.
    fn convert(self, text: &str) -> Value<'_> {
        match self {
            Self::Str => Value::Str(text),
            Self::Path => Value::Path(text),
            Self::Int => match text.parse::<u64>() {
                Ok(small) => Value::Int(small),
                Err(_) => Value::BigInt(text),
            },
            // The grammar accepted by `is_number` is a subset of what Rust parses, and `accepts` refused infinity.
            Self::Float => Value::Float(text.parse::<f64>().unwrap_or(f64::NAN)),
            Self::Decimal => Value::Decimal(text),
            Self::Uuid => Value::Uuid(parse_uuid(text).unwrap_or_default()),
        }
    }
}

/// The most digits an `int` parameter may have: Python's default `sys.get_int_max_str_digits()`, so that the value
/// can be written back as text (in a JSON answer, in a URL) without raising. Longer text does not match.
pub const MAX_INT_DIGITS: usize = 4300;

/// One or more ASCII digits.
fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// The longest run of ASCII digits at the start of `bytes`.
fn digit_run(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|b| b.is_ascii_digit()).count()
}

/// `[+-]?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?`
fn is_number(text: &str) -> bool {
    let mut rest = text.as_bytes();
    if let [b'+' | b'-', tail @ ..] = rest {
        rest = tail;
    }
    let digits = digit_run(rest);
    if digits == 0 {
        return false;
    }
    rest = rest.get(digits..).unwrap_or_default();
    if let [b'.', tail @ ..] = rest {
        let digits = digit_run(tail);
        if digits == 0 {
            return false;
        }
        rest = tail.get(digits..).unwrap_or_default();
    }
    if let [b'e' | b'E', tail @ ..] = rest {
        let tail = match tail {
            [b'+' | b'-', signed @ ..] => signed,
            _ => tail,
        };
        let digits = digit_run(tail);
        return digits > 0 && digits == tail.len();
    }
    rest.is_empty()
}

/// Whether the exponent of a number, if any, has at most 15 significant digits.
fn exponent_fits(text: &str) -> bool {
    let Some(at) = text.find(['e', 'E']) else {
        return true;
    };
    let exponent = text
        .get(at + 1..)
        .unwrap_or_default()
        .trim_start_matches(['+', '-'])
        .trim_start_matches('0');
    exponent.len() <= 15
}

/// The little-endian unsigned bytes of the non-negative integer written with `digits` (ASCII
/// digits only; anything else counts as zero), for integers too large for 64 bits.
#[must_use]
pub fn digits_to_le_bytes(digits: &str) -> Vec<u8> {
    // Base 2**64 limbs, least significant first; each step multiplies by 10**k and adds a chunk of k digits.
    let mut limbs: Vec<u64> = Vec::with_capacity(digits.len() / 19 + 1);
    for chunk in digits.as_bytes().chunks(19) {
        let mut scale: u64 = 1;
        let mut add: u64 = 0;
        for &byte in chunk {
            scale = scale.saturating_mul(10);
            let digit = if byte.is_ascii_digit() {
                byte - b'0'
            } else {
                0
            };
            add = add.saturating_mul(10).saturating_add(u64::from(digit));
        }
        let mut carry = u128::from(add);
        for limb in &mut limbs {
            let product = u128::from(*limb) * u128::from(scale) + carry;
            *limb = product as u64;
            carry = product >> 64;
        }
        if carry > 0 {
            limbs.push(carry as u64);
        }
    }
    let mut bytes: Vec<u8> = limbs.iter().flat_map(|limb| limb.to_le_bytes()).collect();
    while bytes.last() == Some(&0) {
        bytes.pop();
    }
    bytes
}

/// The 128-bit value of a canonical 8-4-4-4-12 UUID in any case.
fn parse_uuid(text: &str) -> Option<u128> {
    let bytes = text.as_bytes();
    if bytes.len() != 36 {
        return None;
    }
    let mut value: u128 = 0;
    for (position, &byte) in bytes.iter().enumerate() {
        if matches!(position, 8 | 13 | 18 | 23) {
            if byte != b'-' {
                return None;
            }
            continue;
        }
        let digit = char::from(byte).to_digit(16)?;
        value = (value << 4) | u128::from(digit);
    }
    Some(value)
}

/// The canonical lower-case text of a UUID.
fn format_uuid(value: u128) -> String {
    let hex = format!("{value:032x}");
    let mut out = String::with_capacity(36);
    for (position, ch) in hex.chars().enumerate() {
        if matches!(position, 8 | 12 | 16 | 20) {
            out.push('-');
        }
        out.push(ch);
    }
    out
}

/// A parameter value taken from a matched path. Texts borrow from the path.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'p> {
    Str(&'p str),
    Path(&'p str),
    /// An `int` that fits in 64 bits.
    Int(u64),
    /// An `int` too large for 64 bits, as its ASCII digits.
    BigInt(&'p str),
    Float(f64),
    /// The decimal text, for an exact decimal type to parse.
    Decimal(&'p str),
    Uuid(u128),
}

/// A named parameter of a match.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Param<'r, 'p> {
    pub name: &'r str,
    pub value: Value<'p>,
}

/// The outcome of [`Router::match_path`].
#[derive(Clone, Debug, PartialEq)]
pub enum Match<'r, 'p> {
    /// A route matched the path, the scope type and the method.
    Route {
        index: usize,
        params: Vec<Param<'r, 'p>>,
    },
    /// A mount's prefix matched; `remaining_path` is empty or starts with `/`.
    Mount {
        index: usize,
        params: Vec<Param<'r, 'p>>,
        matched_path: &'p str,
        remaining_path: &'p str,
    },
    /// Nothing matched.
    NotFound,
    /// Routes matched the path but none allows the method; `allow` is their merged, sorted methods.
    MethodNotAllowed { allow: Vec<&'r str> },
}

/// The kind of connection a route serves. Mounts serve both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScopeType {
    Http,
    Websocket,
}

impl ScopeType {
    /// The scope type called `name` in an ASGI scope, if routes can serve it.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "http" => Some(Self::Http),
            "websocket" => Some(Self::Websocket),
            _ => None,
        }
    }
}

/// A value given to [`Router::url_path_for`], tagged with the type it had, so converters can refuse types that
/// their matches never produce.
#[derive(Clone, Debug, PartialEq)]
pub enum UrlValue<'a> {
    Str(Cow<'a, str>),
    /// An integer, as its decimal text (a leading `-` when negative).
    Int(Cow<'a, str>),
    Float(f64),
    /// An exact decimal, as its text.
    Decimal(Cow<'a, str>),
    Uuid(u128),
    Bool(bool),
}

/// One piece of a segment pattern: literal text or a parameter (by converter; names live in the template).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Piece {
    Literal(Box<str>),
    Param(Converter),
}

/// A template token, in order, for building URLs.
#[derive(Clone, Debug)]
enum Token {
    Literal(Box<str>),
    Param(usize),
}

/// A segment of a template.
#[derive(Clone, Debug)]
enum Segment {
    Static(Box<str>),
    Dynamic(Vec<Piece>),
}

/// The part of a template from the segment holding its `path` parameter: pieces before that parameter (inside
/// one segment), the parameter itself, then literal text (which may hold `/`).
#[derive(Clone, Debug)]
struct Tail {
    head: Vec<Piece>,
    suffix: Box<str>,
}

/// A template's parameters: names and converters, in order.
type Params = Vec<(Box<str>, Converter)>;

/// A parsed template.
#[derive(Clone, Debug)]
struct Template {
    params: Params,
    tokens: Vec<Token>,
    segments: Vec<Segment>,
    tail: Option<Tail>,
}

fn template_error(template: &str, reason: impl Into<String>) -> Error {
    Error::Template {
        template: template.to_owned(),
        reason: reason.into(),
    }
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Split a template into literal text and parameters, checking names, converters and braces.
fn tokenize(template: &str) -> Result<(Vec<Token>, Params)> {
    let mut tokens = Vec::new();
    let mut params: Params = Vec::new();
    let mut rest = template;
    while !rest.is_empty() {
        let brace = rest.find(['{', '}']).unwrap_or(rest.len());
        let (literal, after) = rest.split_at(brace);
        if !literal.is_empty() {
            tokens.push(Token::Literal(literal.into()));
        }
        rest = after;
        let Some(inner) = rest.strip_prefix('{') else {
            if rest.starts_with('}') {
                return Err(template_error(
                    template,
                    "unbalanced braces: \"}\" without \"{\"",
                ));
            }
            continue;
        };
        let close = inner.find(['{', '}']);
        let Some(close) = close.filter(|&at| inner[at..].starts_with('}')) else {
            return Err(template_error(
                template,
                "unbalanced braces: \"{\" without \"}\"",
            ));
        };
        let spec = &inner[..close];
        rest = &inner[close + 1..];
        let (name, converter) = match spec.split_once(':') {
            Some((name, converter)) => (name, converter),
            None => (spec, "str"),
        };
        if !is_identifier(name) {
            return Err(template_error(
                template,
                format!("invalid parameter name {name:?}"),
            ));
        }
        let Some(converter) = Converter::from_name(converter) else {
            return Err(template_error(
                template,
                format!("unknown converter {converter:?} for parameter {name:?}"),
            ));
        };
        if params.iter().any(|(seen, _)| &**seen == name) {
            return Err(template_error(
                template,
                format!("duplicate parameter name {name:?}"),
            ));
        }
        if params.iter().any(|&(_, seen)| seen == Converter::Path) {
            return Err(template_error(
                template,
                "a \"path\" parameter must be the last parameter",
            ));
        }
        tokens.push(Token::Param(params.len()));
        params.push((name.into(), converter));
    }
    Ok((tokens, params))
}

/// Append `piece` to `pieces`, merging adjacent literals.
fn push_piece(pieces: &mut Vec<Piece>, piece: Piece) {
    if let (Some(Piece::Literal(last)), Piece::Literal(text)) = (pieces.last_mut(), &piece) {
        let mut merged = String::from(&**last);
        merged.push_str(text);
        *last = merged.into_boxed_str();
        return;
    }
    pieces.push(piece);
}

fn into_segment(pieces: Vec<Piece>) -> Segment {
    match pieces.as_slice() {
        [] => Segment::Static("".into()),
        [Piece::Literal(text)] => Segment::Static(text.clone()),
        _ => Segment::Dynamic(pieces),
    }
}

impl Template {
    /// Parse `template`, which must start with `/`; with `mount`, trailing slashes are dropped and `path`
    /// parameters refused (the rest of the path is the mount's remaining path).
    fn parse(template: &str, mount: bool) -> Result<Self> {
        if !template.starts_with('/') {
            return Err(template_error(template, "a template must start with \"/\""));
        }
        let source = if mount {
            template.trim_end_matches('/')
        } else {
            template
        };
        let (tokens, params) = tokenize(source).map_err(|err| match err {
            Error::Template { reason, .. } => template_error(template, reason),
            other => other,
        })?;
        if mount
            && params
                .iter()
                .any(|&(_, converter)| converter == Converter::Path)
        {
            return Err(template_error(
                template,
                "a mount cannot have a \"path\" parameter",
            ));
        }
        let mut segments = Vec::new();
        let mut current: Option<Vec<Piece>> = None;
        let mut tail: Option<Tail> = None;
        for token in &tokens {
            match token {
                Token::Literal(text) => {
                    if let Some(tail) = tail.as_mut() {
                        let mut suffix = String::from(&*tail.suffix);
                        suffix.push_str(text);
                        tail.suffix = suffix.into_boxed_str();
                        continue;
                    }
                    for (position, part) in text.split('/').enumerate() {
                        if position > 0 {
                            segments.extend(current.take().map(into_segment));
                            current = Some(Vec::new());
                        }
                        if let (Some(pieces), false) = (current.as_mut(), part.is_empty()) {
                            push_piece(pieces, Piece::Literal(part.into()));
                        }
                    }
                }
                Token::Param(index) => {
                    let converter = params
                        .get(*index)
                        .map_or(Converter::Str, |&(_, converter)| converter);
                    // The template starts with "/", so a segment is always open when a parameter comes.
                    let pieces = current.get_or_insert_with(Vec::new);
                    if converter == Converter::Path {
                        tail = Some(Tail {
                            head: std::mem::take(pieces),
                            suffix: "".into(),
                        });
                        current = None;
                    } else {
                        pieces.push(Piece::Param(converter));
                    }
                }
            }
        }
        segments.extend(current.map(into_segment));
        Ok(Self {
            params,
            tokens,
            segments,
            tail,
        })
    }
}

/// The parameters of `template` as `(name, converter)` pairs, in order.
pub fn template_params(template: &str) -> Result<Vec<(String, &'static str)>> {
    let parsed = Template::parse(template, false)?;
    Ok(parsed
        .params
        .iter()
        .map(|(name, converter)| (String::from(&**name), converter.name()))
        .collect())
}

/// Match `pieces` against all of `text` (or, with `tail`, against a prefix of `text` inside its first segment,
/// the rest being captured last), pushing one capture per parameter. Parameters are greedy, like regular
/// expression groups.
fn match_pieces<'p>(
    pieces: &[Piece],
    text: &'p str,
    tail: bool,
    captures: &mut Vec<&'p str>,
) -> bool {
    // A segment that is one parameter cannot backtrack: take the fast path.
    if !tail {
        if let [Piece::Param(converter)] = pieces {
            if converter.accepts(text) {
                captures.push(text);
                return true;
            }
            return false;
        }
    }
    let mark = captures.len();
    let mut search = Backtrack {
        pieces,
        text,
        tail,
        failed: Vec::new(),
    };
    let found = search.from(0, 0, captures);
    if !found {
        captures.truncate(mark);
    }
    found
}

/// A backtracking match of segment pieces. `failed` remembers the `(piece, position)` states known not to
/// match (a bitmap allocated on the first failure), so a segment with several parameters costs at most
/// pieces × positions states rather than an exponential number.
struct Backtrack<'t, 'p> {
    pieces: &'t [Piece],
    text: &'p str,
    tail: bool,
    failed: Vec<bool>,
}

impl<'p> Backtrack<'_, 'p> {
    fn state(&self, piece: usize, position: usize) -> usize {
        piece
            .saturating_mul(self.text.len().saturating_add(1))
            .saturating_add(position)
    }

    fn from(&mut self, piece: usize, position: usize, captures: &mut Vec<&'p str>) -> bool {
        let (pieces, text) = (self.pieces, self.text);
        let Some(rest) = text.get(position..) else {
            return false;
        };
        let Some(current) = pieces.get(piece) else {
            if self.tail {
                captures.push(rest);
                return true;
            }
            return rest.is_empty();
        };
        let state = self.state(piece, position);
        if self.failed.get(state).copied().unwrap_or(false) {
            return false;
        }
        let found = match current {
            Piece::Literal(literal) => {
                rest.starts_with(&**literal)
                    && self.from(piece + 1, position + literal.len(), captures)
            }
            Piece::Param(converter) => {
                let converter = *converter;
                let reach = converter.reach(rest);
                let last = piece + 1 == self.pieces.len() && !self.tail;
                let next_literal = match pieces.get(piece + 1) {
                    Some(Piece::Literal(literal)) => Some(&**literal),
                    _ => None,
                };
                // The last piece of a whole segment must take all that is left.
                let shortest = if last { rest.len() } else { 1 };
                let mut found = false;
                for end in (shortest.max(1)..=reach).rev() {
                    if !rest.is_char_boundary(end) {
                        continue;
                    }
                    let (candidate, after) = rest.split_at(end);
                    if next_literal.is_some_and(|literal| !after.starts_with(literal)) {
                        continue;
                    }
                    if !converter.accepts_within_reach(candidate) {
                        continue;
                    }
                    captures.push(candidate);
                    if self.from(piece + 1, position + end, captures) {
                        found = true;
                        break;
                    }
                    captures.pop();
                }
                found
            }
        };
        if !found {
            if self.failed.is_empty() {
                let states = self.state(self.pieces.len(), 0);
                self.failed = vec![false; states];
            }
            if let Some(slot) = self.failed.get_mut(state) {
                *slot = true;
            }
        }
        found
    }
}

/// Split `rest` (empty or starting with `/`) into its first segment and what follows it.
fn next_segment(rest: &str) -> Option<(&str, &str)> {
    let after = rest.strip_prefix('/')?;
    let end = after.find('/').unwrap_or(after.len());
    Some(after.split_at(end))
}

/// Match a tail against `rest` (what follows the segments before it), capturing its head parameters and path.
fn match_tail<'p>(tail: &Tail, rest: &'p str, captures: &mut Vec<&'p str>) -> bool {
    let Some(text) = rest.strip_prefix('/') else {
        return false;
    };
    let Some(text) = text.strip_suffix(&*tail.suffix) else {
        return false;
    };
    match_pieces(&tail.head, text, true, captures)
}

/// What an entry is.
#[derive(Clone, Debug)]
enum Kind {
    Route {
        methods: Option<Vec<Box<str>>>,
        scope: ScopeType,
    },
    Mount,
}

#[derive(Clone, Debug)]
struct Entry {
    template: Template,
    kind: Kind,
}

impl Entry {
    /// Whether this entry fully matches `scope` and `method` (its path having matched).
    fn accepts(&self, scope: ScopeType, method: &str) -> bool {
        match &self.kind {
            Kind::Mount => true,
            Kind::Route {
                methods,
                scope: own,
            } => {
                *own == scope
                    && methods
                        .as_ref()
                        .is_none_or(|methods| methods.iter().any(|m| &**m == method))
            }
        }
    }

    /// Match this entry's template against `path`: the captures and the length of the matched prefix.
    fn match_path<'p>(&self, path: &'p str, captures: &mut Vec<&'p str>) -> Option<usize> {
        let template = &self.template;
        let mut rest = path;
        for segment in &template.segments {
            let (text, after) = next_segment(rest)?;
            let ok = match segment {
                Segment::Static(literal) => **literal == *text,
                Segment::Dynamic(pieces) => match_pieces(pieces, text, false, captures),
            };
            if !ok {
                return None;
            }
            rest = after;
        }
        let complete = match (&self.kind, &template.tail) {
            (Kind::Mount, _) => rest.is_empty() || rest.starts_with('/'),
            (Kind::Route { .. }, Some(tail)) => match_tail(tail, rest, captures),
            (Kind::Route { .. }, None) => rest.is_empty(),
        };
        complete.then(|| path.len() - rest.len())
    }
}

/// A node of the segment tree: the entries that end here and the children one segment further.
#[derive(Debug)]
struct Node {
    /// The lowest entry index anywhere in this subtree.
    lowest: usize,
    statics: HashMap<Box<str>, Node>,
    dynamics: Vec<(Vec<Piece>, Node)>,
    /// Routes whose template ends here, in index order.
    routes: Vec<usize>,
    /// Routes whose `path` parameter starts in the next segment, in index order.
    tails: Vec<(usize, Tail)>,
    /// Mounts whose prefix ends here, in index order.
    mounts: Vec<usize>,
}

impl Node {
    fn new(lowest: usize) -> Self {
        Self {
            lowest,
            statics: HashMap::new(),
            dynamics: Vec::new(),
            routes: Vec::new(),
            tails: Vec::new(),
            mounts: Vec::new(),
        }
    }
}

/// What a tree walk looks for.
#[derive(Clone, Copy)]
enum Search<'a> {
    /// The lowest index that fully matches.
    Best { scope: ScopeType, method: &'a str },
    /// Every route of the scope whose path matches, whatever its methods.
    Paths { scope: ScopeType },
}

/// The route table.
#[derive(Debug)]
pub struct Router {
    entries: Vec<Entry>,
    root: Node,
    names: HashMap<Box<str>, usize>,
}

impl Default for Router {
    fn default() -> Self {
        Self::new()
    }
}

/// Characters kept as they are in a path segment: RFC 3986 `pchar` less `%`.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');

/// Characters kept as they are in a `path` parameter: `SEGMENT` and `/`.
const PATH: &AsciiSet = &SEGMENT.remove(b'/');

impl Router {
    #[must_use]
    pub fn new() -> Self {
        Self {
            entries: Vec::new(),
            root: Node::new(usize::MAX),
            names: HashMap::new(),
        }
    }

    /// The number of entries (routes and mounts).
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The names of entry `index`'s parameters, in template order.
    pub fn param_names(&self, index: usize) -> impl Iterator<Item = &str> {
        self.entries
            .get(index)
            .into_iter()
            .flat_map(|entry| entry.template.params.iter().map(|(name, _)| &**name))
    }

    /// Add a route; `methods` are upper-cased (`None` allows any). Returns its index.
    pub fn add_route<S: AsRef<str>>(
        &mut self,
        template: &str,
        methods: Option<&[S]>,
        name: Option<&str>,
        scope: ScopeType,
    ) -> Result<usize> {
        let parsed = Template::parse(template, false)?;
        let methods = match methods {
            None => None,
            Some([]) => {
                return Err(template_error(
                    template,
                    "methods must not be empty (pass None to allow any method)",
                ))
            }
            Some(methods) => {
                let set: BTreeSet<Box<str>> = methods
                    .iter()
                    .map(|method| method.as_ref().to_ascii_uppercase().into_boxed_str())
                    .collect();
                Some(set.into_iter().collect())
            }
        };
        Ok(self.insert(
            Entry {
                template: parsed,
                kind: Kind::Route { methods, scope },
            },
            name,
        ))
    }

    /// Add a mount: a prefix (trailing slashes dropped) that matches any path continuing it with `/` or ending
    /// there, for both scope types. Returns its index, shared with routes.
    pub fn add_mount(&mut self, template: &str, name: Option<&str>) -> Result<usize> {
        let parsed = Template::parse(template, true)?;
        Ok(self.insert(
            Entry {
                template: parsed,
                kind: Kind::Mount,
            },
            name,
        ))
    }

    fn insert(&mut self, entry: Entry, name: Option<&str>) -> usize {
        let index = self.entries.len();
        let mut node = &mut self.root;
        node.lowest = node.lowest.min(index);
        for segment in &entry.template.segments {
            node = match segment {
                Segment::Static(literal) => node
                    .statics
                    .entry(literal.clone())
                    .or_insert_with(|| Node::new(index)),
                Segment::Dynamic(pieces) => {
                    let position = if let Some(position) =
                        node.dynamics.iter().position(|(own, _)| own == pieces)
                    {
                        position
                    } else {
                        node.dynamics.push((pieces.clone(), Node::new(index)));
                        node.dynamics.len() - 1
                    };
                    &mut node.dynamics[position].1
                }
            };
        }
        match (&entry.kind, &entry.template.tail) {
            (Kind::Mount, _) => node.mounts.push(index),
            (Kind::Route { .. }, Some(tail)) => node.tails.push((index, tail.clone())),
            (Kind::Route { .. }, None) => node.routes.push(index),
        }
        if let Some(name) = name {
            self.names.entry(name.into()).or_insert(index);
        }
        self.entries.push(entry);
        index
    }

    /// Match `path` (an ASGI `scope["path"]`, percent-decoded) for `scope_type` and `method`: the lowest index
    /// that matches wins; when routes match the path but none the method, their merged methods are reported.
    #[must_use]
    pub fn match_path<'r, 'p>(
        &'r self,
        scope_type: &str,
        method: &str,
        path: &'p str,
    ) -> Match<'r, 'p> {
        let Some(scope) = ScopeType::from_name(scope_type) else {
            return Match::NotFound;
        };
        if !path.is_empty() && !path.starts_with('/') {
            return Match::NotFound;
        }
        let mut scratch = Vec::new();
        let mut best = usize::MAX;
        self.walk(
            &self.root,
            path,
            Search::Best { scope, method },
            &mut best,
            &mut Vec::new(),
            &mut scratch,
        );
        if let Some(entry) = self.entries.get(best) {
            return Self::build(best, entry, path);
        }
        let mut found = Vec::new();
        self.walk(
            &self.root,
            path,
            Search::Paths { scope },
            &mut best,
            &mut found,
            &mut scratch,
        );
        let allow: BTreeSet<&str> = found
            .iter()
            .filter_map(|&index| match &self.entries.get(index)?.kind {
                Kind::Route {
                    methods: Some(methods),
                    ..
                } => Some(methods.iter().map(|m| &**m)),
                _ => None,
            })
            .flatten()
            .collect();
        if found.is_empty() {
            Match::NotFound
        } else {
            Match::MethodNotAllowed {
                allow: allow.into_iter().collect(),
            }
        }
    }

    /// Rebuild the winning entry's captures (its own template gives the same answer as the tree did).
    fn build<'r, 'p>(index: usize, entry: &'r Entry, path: &'p str) -> Match<'r, 'p> {
        let mut captures = Vec::with_capacity(entry.template.params.len());
        let Some(consumed) = entry.match_path(path, &mut captures) else {
            return Match::NotFound;
        };
        let params = entry
            .template
            .params
            .iter()
            .zip(captures)
            .map(|((name, converter), text)| Param {
                name,
                value: converter.convert(text),
            })
            .collect();
        match entry.kind {
            Kind::Route { .. } => Match::Route { index, params },
            Kind::Mount => {
                let (matched_path, remaining_path) = path.split_at(consumed);
                Match::Mount {
                    index,
                    params,
                    matched_path,
                    remaining_path,
                }
            }
        }
    }

    /// Walk the subtree of `node` with `rest` left of the path. `Search::Best` lowers `best`; `Search::Paths`
    /// collects into `found`.
    fn walk<'p>(
        &self,
        node: &Node,
        rest: &'p str,
        search: Search<'_>,
        best: &mut usize,
        found: &mut Vec<usize>,
        scratch: &mut Vec<&'p str>,
    ) {
        let pruned =
            |index: usize, best: usize| matches!(search, Search::Best { .. }) && index >= best;
        if pruned(node.lowest, *best) {
            return;
        }
        let mut consider = |index: usize, best: &mut usize| match search {
            Search::Best { scope, method } => {
                if index < *best
                    && self
                        .entries
                        .get(index)
                        .is_some_and(|entry| entry.accepts(scope, method))
                {
                    *best = index;
                }
            }
            Search::Paths { scope } => {
                let own = self.entries.get(index).map(|entry| &entry.kind);
                if matches!(own, Some(Kind::Route { scope: s, .. }) if *s == scope) {
                    found.push(index);
                }
            }
        };
        if matches!(search, Search::Best { .. }) && (rest.is_empty() || rest.starts_with('/')) {
            if let Some(&index) = node.mounts.first() {
                consider(index, best);
            }
        }
        if rest.is_empty() {
            for &index in &node.routes {
                if pruned(index, *best) {
                    break;
                }
                consider(index, best);
            }
        }
        for (index, tail) in &node.tails {
            if pruned(*index, *best) {
                break;
            }
            scratch.clear();
            if match_tail(tail, rest, scratch) {
                consider(*index, best);
            }
        }
        let Some((segment, after)) = next_segment(rest) else {
            return;
        };
        if let Some(child) = node.statics.get(segment) {
            self.walk(child, after, search, best, found, scratch);
        }
        for (pieces, child) in &node.dynamics {
            if pruned(child.lowest, *best) {
                continue;
            }
            scratch.clear();
            if match_pieces(pieces, segment, false, scratch) {
                self.walk(child, after, search, best, found, scratch);
            }
        }
    }

    /// The path of the entry called `name` with `params` filled in: every parameter given, none extra, each
    /// value accepted by its converter and percent-encoded (a `str` value's `/` too, a `path` value's not).
    pub fn url_path_for(&self, name: &str, params: &[(&str, UrlValue<'_>)]) -> Result<String> {
        let url_error = |reason: String| Error::UrlBuild {
            name: name.to_owned(),
            reason,
        };
        let Some(entry) = self
            .names
            .get(name)
            .and_then(|&index| self.entries.get(index))
        else {
            return Err(url_error("no route or mount has this name".to_owned()));
        };
        let template = &entry.template;
        let missing: Vec<&str> = template
            .params
            .iter()
            .map(|(own, _)| &**own)
            .filter(|own| !params.iter().any(|(given, _)| given == own))
            .collect();
        let extra: Vec<&str> = params
            .iter()
            .map(|&(given, _)| given)
            .filter(|given| !template.params.iter().any(|(own, _)| &**own == *given))
            .collect();
        if !missing.is_empty() || !extra.is_empty() {
            let quoted = |names: &[&str]| {
                names
                    .iter()
                    .map(|n| format!("{n:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let mut reasons = Vec::new();
            if !missing.is_empty() {
                reasons.push(format!("missing parameters {}", quoted(&missing)));
            }
            if !extra.is_empty() {
                reasons.push(format!("unexpected parameters {}", quoted(&extra)));
            }
            return Err(url_error(reasons.join("; ")));
        }
        let mut url = String::new();
        for token in &template.tokens {
            match token {
                Token::Literal(text) => url.push_str(text),
                Token::Param(index) => {
                    let Some((own, converter)) = template.params.get(*index) else {
                        continue;
                    };
                    let Some((_, value)) = params.iter().find(|(given, _)| given == &&**own) else {
                        continue;
                    };
                    let text = format_value(*converter, value).map_err(|reason| {
                        url_error(format!(
                            "parameter {own:?} ({} converter): {reason}",
                            converter.name()
                        ))
                    })?;
                    match converter {
                        Converter::Str => write!(url, "{}", utf8_percent_encode(&text, SEGMENT)),
                        Converter::Path => write!(url, "{}", utf8_percent_encode(&text, PATH)),
                        _ => write!(url, "{text}"),
                    }
                    .map_err(|_| url_error("cannot write the URL".to_owned()))?;
                }
            }
        }
        Ok(url)
    }
}

/// The text of `value` for `converter`, or why the converter refuses it.
fn format_value<'a>(
    converter: Converter,
    value: &'a UrlValue<'a>,
) -> std::result::Result<Cow<'a, str>, String> {
    let refuse = |what: &str| Err(format!("cannot take {what}"));
    match (converter, value) {
        (_, UrlValue::Bool(_)) => refuse("a bool"),
        (Converter::Str, UrlValue::Str(text)) if text.is_empty() => refuse("an empty string"),
        (
            Converter::Str | Converter::Path,
            UrlValue::Str(text) | UrlValue::Int(text) | UrlValue::Decimal(text),
        ) => Ok(Cow::Borrowed(&**text)),
        (
            Converter::Str | Converter::Path | Converter::Float | Converter::Decimal,
            UrlValue::Float(number),
        ) => format_float(*number),
        (Converter::Str | Converter::Path | Converter::Uuid, UrlValue::Uuid(uuid)) => {
            Ok(format_uuid(*uuid).into())
        }
        (Converter::Int, UrlValue::Str(text) | UrlValue::Int(text)) => {
            if !is_digits(text) {
                Err(format!("{text:?} is not a non-negative integer"))
            } else if text.len() > MAX_INT_DIGITS {
                Err(format!("the integer has more than {MAX_INT_DIGITS} digits"))
            } else {
                Ok(Cow::Borrowed(&**text))
            }
        }
        (
            Converter::Float | Converter::Decimal,
            UrlValue::Str(text) | UrlValue::Int(text) | UrlValue::Decimal(text),
        ) => {
            if !is_number(text) {
                Err(format!("{text:?} is not a finite decimal number"))
            } else if converter.accepts(text) {
                Ok(Cow::Borrowed(&**text))
            } else {
                // Only `decimal` refuses numbers, those whose exponent an exact decimal type cannot hold.
                Err(format!("{text:?} has an exponent of more than 15 digits"))
            }
        }
        (Converter::Uuid, UrlValue::Str(text)) => {
            if parse_uuid(text).is_some() {
                Ok(Cow::Borrowed(&**text))
            } else {
                Err(format!("{text:?} is not a canonical UUID"))
            }
        }
        (_, UrlValue::Int(_)) => refuse("an int"),
        (_, UrlValue::Float(_)) => refuse("a float"),
        (_, UrlValue::Decimal(_)) => refuse("a decimal"),
        (_, UrlValue::Uuid(_)) => refuse("a UUID"),
    }
}

/// The shortest text that parses back to `number`, if it is finite.
fn format_float(number: f64) -> std::result::Result<Cow<'static, str>, String> {
    if number.is_finite() {
        // `Debug` prints the shortest round-tripping form, with an exponent for very large or small values.
        Ok(format!("{number:?}").into())
    } else {
        Err(format!("{number} is not finite"))
    }
}

#[cfg(test)]
mod tests;
