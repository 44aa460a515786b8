//! Streaming compression and decompression for HTTP content codings.
//!
//! Six codings are handled: `gzip` (alias `x-gzip`), `deflate` (the zlib-wrapped stream that HTTP calls
//! `deflate`; alias `zlib`), `br`, `zstd`, `bzip2` (alias `bz2`) and `xz` (alias `lzma`).
//!
//! [`Compressor::compress`] flushes after every chunk, so the output so far always decodes to all the input so
//! far: each server-sent event reaches the client at once. [`Decompressor`] works in bounded steps and stops as
//! soon as the output would pass the caller's maximum, so a decompression bomb fails fast with little memory.

use std::fmt;

use brotlic::decode::DecoderInfo;
use brotlic::encode::{BrotliOperation, EncodeError};
use brotlic::{
    BrotliDecoder, BrotliDecoderOptions, BrotliEncoder, BrotliEncoderOptions, Quality, WindowSize,
};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use zstd::stream::raw::{InBuffer, Operation, OutBuffer};

use crate::error::{Error, Result};

/// Size of one decompression step: the decoder never writes more than this before the limit is checked.
const STEP: usize = 64 * 1024;

/// Largest dictionary an xz stream may ask the decoder to allocate (xz -9 needs 65 MiB).
const XZ_MEMLIMIT: u64 = 256 * 1024 * 1024;

/// A content coding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Gzip,
    Deflate,
    Brotli,
    Zstd,
    Bzip2,
    Xz,
}

/// The canonical names of the supported codings, in the order a server should prefer them.
pub const SUPPORTED: [&str; 6] = ["zstd", "br", "gzip", "deflate", "bzip2", "xz"];

impl Encoding {
    /// The coding called `name` (case-insensitive, aliases included).
    pub fn from_name(name: &str) -> Result<Self> {
        const NAMES: [(&str, Encoding); 10] = [
            ("gzip", Encoding::Gzip),
            ("x-gzip", Encoding::Gzip),
            ("deflate", Encoding::Deflate),
            ("zlib", Encoding::Deflate),
            ("br", Encoding::Brotli),
            ("zstd", Encoding::Zstd),
            ("bzip2", Encoding::Bzip2),
            ("bz2", Encoding::Bzip2),
            ("xz", Encoding::Xz),
            ("lzma", Encoding::Xz),
        ];
        NAMES
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map(|(_, encoding)| *encoding)
            .ok_or_else(|| Error::UnknownEncoding {
                name: name.to_owned(),
            })
    }

    /// The canonical name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Gzip => "gzip",
            Self::Deflate => "deflate",
            Self::Brotli => "br",
            Self::Zstd => "zstd",
            Self::Bzip2 => "bzip2",
            Self::Xz => "xz",
        }
    }

    /// The valid compression levels, inclusive.
    #[must_use]
    pub fn levels(self) -> (i32, i32) {
        match self {
            Self::Gzip | Self::Deflate | Self::Xz => (0, 9),
            Self::Brotli => (0, 11),
            Self::Zstd => (
                *zstd::compression_level_range().start(),
                *zstd::compression_level_range().end(),
            ),
            Self::Bzip2 => (1, 9),
        }
    }

    /// The level used when the caller gives none.
    #[must_use]
    pub fn default_level(self) -> i32 {
        match self {
            Self::Gzip | Self::Deflate | Self::Xz => 6,
            Self::Brotli => 4,
            Self::Zstd => 3,
            Self::Bzip2 => 9,
        }
    }

    /// `level`, or the default one, checked against the valid range.
    fn level(self, level: Option<i64>) -> Result<i32> {
        let (min, max) = self.levels();
        let Some(level) = level else {
            return Ok(self.default_level());
        };
        match i32::try_from(level) {
            Ok(level) if (min..=max).contains(&level) => Ok(level),
            _ => Err(Error::InvalidArgument {
                reason: format!(
                    "{} level must be between {min} and {max}, got {level}",
                    self.name()
                ),
            }),
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn corrupt(encoding: Encoding, reason: impl fmt::Display) -> Error {
    Error::CorruptData {
        codec: encoding.name(),
        reason: reason.to_string(),
    }
}

fn finished_error(encoding: Encoding, what: &str) -> Error {
    Error::InvalidArgument {
        reason: format!("the {encoding} {what}"),
    }
}

/// Make sure `out` has at least `want` bytes of spare capacity.
fn reserve(out: &mut Vec<u8>, want: usize) {
    if out.capacity() - out.len() < want {
        out.reserve(want);
    }
}

/// How much output room to offer a compressor for `remaining` more input bytes.
fn room_for(remaining: usize) -> usize {
    remaining / 2 + 1024
}

// ---- compression ----

enum Engine {
    /// gzip and deflate: zlib-rs with or without the gzip wrapper.
    Zlib(Compress),
    Brotli(BrotliEncoder),
    Zstd(zstd::stream::raw::Encoder<'static>),
    Bzip2(bzip2::Compress),
    Xz(liblzma::stream::Stream),
}

/// Whether a write ends with a flush, so the output so far decodes to all the input so far.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flush {
    No,
    Sync,
}

/// A streaming compressor. Every [`compress`](Self::compress) call flushes; [`finish`](Self::finish) ends the
/// stream, after which the compressor refuses more work.
pub struct Compressor {
    encoding: Encoding,
    engine: Engine,
    finished: bool,
}

impl Compressor {
    /// A compressor for `encoding` at `level` (the coding's default when `None`).
    pub fn new(encoding: Encoding, level: Option<i64>) -> Result<Self> {
        let level = encoding.level(level)?;
        // Every level has been range-checked above, so the conversions below cannot fail.
        let unsigned = u32::try_from(level).unwrap_or(0);
        let engine = match encoding {
            Encoding::Gzip => Engine::Zlib(Compress::new_gzip(Compression::new(unsigned), 15)),
            Encoding::Deflate => Engine::Zlib(Compress::new(Compression::new(unsigned), true)),
            Encoding::Brotli => Engine::Brotli(
                BrotliEncoderOptions::new()
                    .quality(
                        Quality::new(u8::try_from(level).unwrap_or(0))
                            .map_err(|err| corrupt(encoding, err))?,
                    )
                    .window_size(WindowSize::new(22).map_err(|err| corrupt(encoding, err))?)
                    .build()
                    .map_err(|err| corrupt(encoding, err))?,
            ),
            Encoding::Zstd => Engine::Zstd(
                zstd::stream::raw::Encoder::new(level).map_err(|err| corrupt(encoding, err))?,
            ),
            Encoding::Bzip2 => {
                Engine::Bzip2(bzip2::Compress::new(bzip2::Compression::new(unsigned), 0))
            }
            Encoding::Xz => Engine::Xz(
                liblzma::stream::Stream::new_easy_encoder(unsigned, liblzma::stream::Check::Crc64)
                    .map_err(|err| corrupt(encoding, err))?,
            ),
        };
        Ok(Self {
            encoding,
            engine,
            finished: false,
        })
    }

    /// The coding this compressor produces.
    #[must_use]
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// Whether [`finish`](Self::finish) has been called.
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Compress `chunk` and flush, appending to `out`: `out` then decodes to everything given so far.
    pub fn compress(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<()> {
        self.write(chunk, Flush::Sync, out)
    }

    /// Compress `chunk` without flushing (better ratio; the output may lag behind the input).
    pub fn write_unflushed(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<()> {
        self.write(chunk, Flush::No, out)
    }

    #[allow(clippy::too_many_lines)] // One short loop per codec; splitting them apart would hide the pattern.
    fn write(&mut self, chunk: &[u8], flush: Flush, out: &mut Vec<u8>) -> Result<()> {
        if self.finished {
            return Err(finished_error(
                self.encoding,
                "compressor is already finished",
            ));
        }
        let encoding = self.encoding;
        let failed =
            |err: &dyn fmt::Display| corrupt(encoding, format_args!("compression failed: {err}"));
        match &mut self.engine {
            Engine::Zlib(engine) => {
                let mode = if flush == Flush::Sync {
                    FlushCompress::Sync
                } else {
                    FlushCompress::None
                };
                let mut consumed = 0;
                loop {
                    let rest = chunk.get(consumed..).unwrap_or_default();
                    reserve(out, room_for(rest.len()));
                    let before = engine.total_in();
                    engine
                        .compress_vec(rest, out, mode)
                        .map_err(|err| failed(&err))?;
                    consumed += usize::try_from(engine.total_in() - before).unwrap_or(usize::MAX);
                    // Done once all input is taken and the flush left output room unused.
                    if consumed >= chunk.len() && out.len() < out.capacity() {
                        return Ok(());
                    }
                }
            }
            Engine::Brotli(engine) => {
                let op = if flush == Flush::Sync {
                    BrotliOperation::Flush
                } else {
                    BrotliOperation::Process
                };
                let mut consumed = 0;
                // Done once all input is taken and the encoder holds no output back (a flush is complete).
                while consumed < chunk.len() || engine.has_output() {
                    consumed +=
                        brotli_step(engine, op, chunk.get(consumed..).unwrap_or_default(), out)
                            .map_err(|_| failed(&"the brotli encoder refused the input"))?;
                }
                Ok(())
            }
            Engine::Zstd(engine) => {
                let mut input = InBuffer::around(chunk);
                while input.pos() < chunk.len() {
                    reserve(out, room_for(chunk.len() - input.pos()));
                    let mut output = OutBuffer::around_pos(out, out.len());
                    engine
                        .run(&mut input, &mut output)
                        .map_err(|err| failed(&err))?;
                }
                if flush == Flush::Sync {
                    loop {
                        reserve(out, 1024);
                        let mut output = OutBuffer::around_pos(out, out.len());
                        if engine.flush(&mut output).map_err(|err| failed(&err))? == 0 {
                            break;
                        }
                    }
                }
                Ok(())
            }
            Engine::Bzip2(engine) => {
                let mut consumed = 0;
                while consumed < chunk.len() {
                    let rest = chunk.get(consumed..).unwrap_or_default();
                    reserve(out, room_for(rest.len()));
                    let before = engine.total_in();
                    engine
                        .compress_vec(rest, out, bzip2::Action::Run)
                        .map_err(|err| failed(&err))?;
                    consumed += usize::try_from(engine.total_in() - before).unwrap_or(usize::MAX);
                }
                if flush == Flush::Sync {
                    loop {
                        reserve(out, 4096);
                        let status = engine
                            .compress_vec(&[], out, bzip2::Action::Flush)
                            .map_err(|err| failed(&err))?;
                        if status == bzip2::Status::RunOk {
                            break;
                        }
                    }
                }
                Ok(())
            }
            Engine::Xz(engine) => {
                let mut consumed = 0;
                while consumed < chunk.len() {
                    let rest = chunk.get(consumed..).unwrap_or_default();
                    reserve(out, room_for(rest.len()));
                    let before = engine.total_in();
                    engine
                        .process_vec(rest, out, liblzma::stream::Action::Run)
                        .map_err(|err| failed(&err))?;
                    consumed += usize::try_from(engine.total_in() - before).unwrap_or(usize::MAX);
                }
                if flush == Flush::Sync {
                    loop {
                        reserve(out, 4096);
                        let status = engine
                            .process_vec(&[], out, liblzma::stream::Action::SyncFlush)
                            .map_err(|err| failed(&err))?;
                        if status == liblzma::stream::Status::StreamEnd {
                            break;
                        }
                    }
                }
                Ok(())
            }
        }
    }

    /// End the stream, appending its last bytes to `out`.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<()> {
        if self.finished {
            return Err(finished_error(
                self.encoding,
                "compressor is already finished",
            ));
        }
        self.finished = true;
        let encoding = self.encoding;
        let failed =
            |err: &dyn fmt::Display| corrupt(encoding, format_args!("compression failed: {err}"));
        match &mut self.engine {
            Engine::Zlib(engine) => loop {
                reserve(out, 1024);
                if engine
                    .compress_vec(&[], out, FlushCompress::Finish)
                    .map_err(|err| failed(&err))?
                    == flate2::Status::StreamEnd
                {
                    return Ok(());
                }
            },
            Engine::Brotli(engine) => {
                while !engine.is_finished() {
                    brotli_step(engine, BrotliOperation::Finish, &[], out)
                        .map_err(|_| failed(&"the brotli encoder could not finish"))?;
                }
                Ok(())
            }
            Engine::Zstd(engine) => loop {
                reserve(out, 1024);
                let mut output = OutBuffer::around_pos(out, out.len());
                if engine
                    .finish(&mut output, true)
                    .map_err(|err| failed(&err))?
                    == 0
                {
                    return Ok(());
                }
            },
            Engine::Bzip2(engine) => loop {
                reserve(out, 4096);
                if engine
                    .compress_vec(&[], out, bzip2::Action::Finish)
                    .map_err(|err| failed(&err))?
                    == bzip2::Status::StreamEnd
                {
                    return Ok(());
                }
            },
            Engine::Xz(engine) => loop {
                reserve(out, 4096);
                if engine
                    .process_vec(&[], out, liblzma::stream::Action::Finish)
                    .map_err(|err| failed(&err))?
                    == liblzma::stream::Status::StreamEnd
                {
                    return Ok(());
                }
            },
        }
    }
}

/// One call of the brotli encoder on `input`, writing into fresh room at the end of `out`; returns the bytes read.
fn brotli_step(
    engine: &mut BrotliEncoder,
    op: BrotliOperation,
    input: &[u8],
    out: &mut Vec<u8>,
) -> std::result::Result<usize, EncodeError> {
    let start = out.len();
    out.resize(start + room_for(input.len()), 0);
    let result = engine.compress(input, out.get_mut(start..).unwrap_or_default(), op);
    out.truncate(start + result.map_or(0, |done| done.bytes_written));
    result.map(|done| done.bytes_read)
}

/// Compress `data` in one go.
pub fn compress(data: &[u8], encoding: Encoding, level: Option<i64>) -> Result<Vec<u8>> {
    let mut compressor = Compressor::new(encoding, level)?;
    let mut out = Vec::with_capacity(data.len() / 3 + 64);
    compressor.write_unflushed(data, &mut out)?;
    compressor.finish(&mut out)?;
    Ok(out)
}

// ---- decompression ----

enum Decoder {
    Zlib(Decompress),
    Brotli(BrotliDecoder),
    Zstd(zstd::stream::raw::Decoder<'static>),
    Bzip2(bzip2::Decompress),
    Xz(liblzma::stream::Stream),
}

impl Decoder {
    fn new(encoding: Encoding) -> Result<Self> {
        Ok(match encoding {
            Encoding::Gzip => Self::Zlib(Decompress::new_gzip(15)),
            Encoding::Deflate => Self::Zlib(Decompress::new(true)),
            // Standard brotli only: large-window streams could ask for a 1 GiB ring buffer.
            Encoding::Brotli => Self::Brotli(
                BrotliDecoderOptions::new()
                    .large_window_size(false)
                    .build()
                    .map_err(|err| corrupt(encoding, err))?,
            ),
            Encoding::Zstd => {
                Self::Zstd(zstd::stream::raw::Decoder::new().map_err(|err| corrupt(encoding, err))?)
            }
            Encoding::Bzip2 => Self::Bzip2(bzip2::Decompress::new(false)),
            Encoding::Xz => Self::Xz(
                liblzma::stream::Stream::new_auto_decoder(XZ_MEMLIMIT, 0)
                    .map_err(|err| corrupt(encoding, err))?,
            ),
        })
    }

    /// Decode from `input` into `output`: (bytes read, bytes written, whether the stream ended).
    fn step(
        &mut self,
        encoding: Encoding,
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(usize, usize, bool)> {
        let delta = |after: u64, before: u64| usize::try_from(after - before).unwrap_or(usize::MAX);
        match self {
            Self::Zlib(decoder) => {
                let (read, written) = (decoder.total_in(), decoder.total_out());
                let status = decoder
                    .decompress(input, output, FlushDecompress::None)
                    .map_err(|err| corrupt(encoding, err))?;
                Ok((
                    delta(decoder.total_in(), read),
                    delta(decoder.total_out(), written),
                    status == flate2::Status::StreamEnd,
                ))
            }
            Self::Brotli(decoder) => {
                let done = decoder
                    .decompress(input, output)
                    .map_err(|_| corrupt(encoding, "invalid brotli stream"))?;
                Ok((
                    done.bytes_read,
                    done.bytes_written,
                    done.info == DecoderInfo::Finished,
                ))
            }
            Self::Zstd(decoder) => {
                let mut source = InBuffer::around(input);
                let mut sink = OutBuffer::around(output);
                let hint = decoder
                    .run(&mut source, &mut sink)
                    .map_err(|err| corrupt(encoding, err))?;
                // A zero hint means a frame ended and everything it holds has been written out.
                Ok((source.pos(), sink.pos(), hint == 0))
            }
            Self::Bzip2(decoder) => {
                let (read, written) = (decoder.total_in(), decoder.total_out());
                let status = decoder
                    .decompress(input, output)
                    .map_err(|err| corrupt(encoding, err))?;
                Ok((
                    delta(decoder.total_in(), read),
                    delta(decoder.total_out(), written),
                    status == bzip2::Status::StreamEnd,
                ))
            }
            Self::Xz(decoder) => {
                let (read, written) = (decoder.total_in(), decoder.total_out());
                let status = decoder
                    .process(input, output, liblzma::stream::Action::Run)
                    .map_err(|err| match err {
                        liblzma::stream::Error::MemLimit => corrupt(
                            encoding,
                            "the stream needs a dictionary larger than 256 MiB",
                        ),
                        other => corrupt(encoding, other),
                    })?;
                Ok((
                    delta(decoder.total_in(), read),
                    delta(decoder.total_out(), written),
                    status == liblzma::stream::Status::StreamEnd,
                ))
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    /// No input yet, or a stream is open.
    Open,
    /// A stream has ended; more input may start a new member (gzip, bzip2, xz) or is trailing garbage.
    Ended,
    /// `finish` was called or an error was reported.
    Closed,
}

/// A streaming decompressor with a cumulative output limit.
///
/// Concatenated gzip, bzip2 and xz members and zstd frames decode as one stream; bytes after the end of a
/// deflate or brotli stream are an error. [`finish`](Self::finish) reports a truncated stream.
pub struct Decompressor {
    encoding: Encoding,
    decoder: Decoder,
    max_size: Option<u64>,
    produced: u64,
    state: State,
    /// Whether the current stream has received any input (an empty stream is truncated).
    started: bool,
    scratch: Vec<u8>,
}

impl fmt::Debug for Decompressor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decompressor")
            .field("encoding", &self.encoding)
            .field("max_size", &self.max_size)
            .field("produced", &self.produced)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Decompressor {
    /// A decompressor for `encoding` that fails once the output passes `max_size` bytes.
    pub fn new(encoding: Encoding, max_size: Option<u64>) -> Result<Self> {
        Ok(Self {
            encoding,
            decoder: Decoder::new(encoding)?,
            max_size,
            produced: 0,
            state: State::Open,
            started: false,
            scratch: Vec::new(),
        })
    }

    /// The coding this decompressor reads.
    #[must_use]
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// Whether the input so far is complete: the last stream ended and nothing follows it.
    #[must_use]
    pub fn eof(&self) -> bool {
        self.state == State::Ended || (self.state == State::Closed && self.started)
    }

    /// Total bytes decoded so far.
    #[must_use]
    pub fn produced(&self) -> u64 {
        self.produced
    }

    /// Decode `chunk`, appending the output to `out`.
    pub fn decompress(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let result = self.feed(chunk, out);
        if result.is_err() {
            self.state = State::Closed;
        }
        result
    }

    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<()> {
        if self.state == State::Closed {
            return Err(finished_error(
                self.encoding,
                "decompressor is closed: finish() was called or an error was raised",
            ));
        }
        if self.scratch.is_empty() {
            self.scratch = vec![0; STEP];
        }
        let mut input = chunk;
        loop {
            if self.state == State::Ended {
                if input.is_empty() {
                    return Ok(());
                }
                match self.encoding {
                    Encoding::Gzip | Encoding::Bzip2 | Encoding::Xz | Encoding::Zstd => {
                        self.decoder = Decoder::new(self.encoding)?;
                        self.state = State::Open;
                        self.started = false;
                    }
                    Encoding::Deflate | Encoding::Brotli => {
                        return Err(corrupt(
                            self.encoding,
                            "trailing data after the end of the stream",
                        ));
                    }
                }
            }
            let room = match self.max_size {
                // One byte past the maximum is enough to know it is exceeded.
                Some(max) => usize::try_from(max.saturating_sub(self.produced).saturating_add(1))
                    .unwrap_or(STEP)
                    .min(STEP),
                None => STEP,
            };
            let output = self.scratch.get_mut(..room).unwrap_or_default();
            let (read, written, ended) = self.decoder.step(self.encoding, input, output)?;
            if read > 0 {
                self.started = true;
            }
            self.produced = self.produced.saturating_add(written as u64);
            if let Some(maximum) = self.max_size {
                if self.produced > maximum {
                    return Err(Error::DecompressionLimit { maximum });
                }
            }
            out.extend_from_slice(self.scratch.get(..written).unwrap_or_default());
            input = input.get(read..).unwrap_or_default();
            if ended {
                self.state = State::Ended;
                continue;
            }
            // The decoder stops when it needs more input (all taken, room left) or makes no progress at all.
            if (input.is_empty() && written < room) || (read == 0 && written == 0) {
                if !input.is_empty() {
                    return Err(corrupt(self.encoding, "the decoder made no progress"));
                }
                return Ok(());
            }
        }
    }

    /// End the input: fails when the stream is truncated. Appends any last output to `out`.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<()> {
        let _ = out;
        match self.state {
            State::Closed => Err(finished_error(
                self.encoding,
                "decompressor is closed: finish() was called or an error was raised",
            )),
            State::Ended => {
                self.state = State::Closed;
                Ok(())
            }
            State::Open => {
                self.state = State::Closed;
                self.started = false;
                Err(corrupt(
                    self.encoding,
                    "truncated stream: the input ended before the end of the stream",
                ))
            }
        }
    }
}

/// Decompress `data` in one go, failing once the output passes `max_size` bytes.
pub fn decompress(data: &[u8], encoding: Encoding, max_size: Option<u64>) -> Result<Vec<u8>> {
    let mut decompressor = Decompressor::new(encoding, max_size)?;
    let mut out = Vec::new();
    decompressor.decompress(data, &mut out)?;
    decompressor.finish(&mut out)?;
    Ok(out)
}
