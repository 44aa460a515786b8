//! Arbitrary bytes through every decoder, one-shot and streamed: never a panic, never more output than the
//! limit, the same bytes both ways when both succeed; and any input compressed (one-shot and streamed) comes
//! back unchanged.
#![no_main]

use flama_core::codecs::{compress, decompress, Compressor, Decompressor, Encoding, SUPPORTED};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [choice, size, limit, body @ ..] = data else {
        return;
    };
    let encoding =
        Encoding::from_name(SUPPORTED[usize::from(*choice) % SUPPORTED.len()]).expect("supported");
    let chunk_size = usize::from(*size).max(1);
    let max_size = u64::from(*limit) * 256;

    let whole = decompress(body, encoding, Some(max_size));
    if let Ok(out) = &whole {
        assert!(out.len() as u64 <= max_size);
    }
    let mut decoder = Decompressor::new(encoding, Some(max_size)).expect("decoder");
    let mut streamed = Vec::new();
    let mut result = Ok(());
    for chunk in body.chunks(chunk_size) {
        result = decoder.decompress(chunk, &mut streamed);
        if result.is_err() {
            break;
        }
    }
    if result.is_ok() {
        result = decoder.finish(&mut streamed);
    }
    if let (Ok(whole), Ok(())) = (&whole, &result) {
        assert_eq!(whole, &streamed);
        assert!(decoder.produced() <= max_size);
    }

    let level = Some(i64::from(encoding.levels().0));
    let packed = compress(body, encoding, level).expect("compress");
    assert_eq!(
        decompress(&packed, encoding, None).expect("round trip"),
        body
    );
    let mut encoder = Compressor::new(encoding, level).expect("encoder");
    let mut packed = Vec::new();
    for chunk in body.chunks(chunk_size) {
        encoder
            .compress(chunk, &mut packed)
            .expect("compress a chunk");
    }
    encoder.finish(&mut packed).expect("finish");
    assert_eq!(
        decompress(&packed, encoding, None).expect("streamed round trip"),
        body
    );
});
