//! Fuzz target for the gob decoder: arbitrary bytes, decoded as a stream of values, both in
//! one piece and as an async reader would see them (growing prefixes split where the fuzzer
//! says). Any panic, overflow or limit breach is a bug; errors are fine.
#![no_main]

use canary_judge::gob::{Decoder, Limits};
use libfuzzer_sys::fuzz_target;

fn limits() -> Limits {
    Limits {
        max_message_bytes: 1 << 20,
        max_depth: 64,
        max_values: 1 << 16,
    }
}

/// Decode values from `data` until it is used up or an error; returns the values' lengths.
fn whole(data: &[u8]) -> Vec<usize> {
    let mut dec = Decoder::with_limits(limits());
    let mut pos = 0;
    let mut lens = Vec::new();
    while pos < data.len() {
        match dec.decode_next(&data[pos..]) {
            Ok(Some((_, used))) => {
                assert!(used > 0 && used <= data.len() - pos, "consumed {used}");
                lens.push(used);
                pos += used;
            }
            Ok(None) | Err(_) => break,
        }
    }
    lens
}

fuzz_target!(|input: &[u8]| {
    // First byte picks the split stride for the incremental pass.
    let Some((&stride, data)) = input.split_first() else {
        return;
    };
    let lens = whole(data);

    // Incremental: feed growing prefixes; results must agree with the one-shot pass.
    // Each attempt re-parses the value from its start, so bound the attempts per input
    // (at most ~32 plus one per value) to keep big seeds fast.
    let stride = usize::from(stride).max(1).max(data.len() / 32);
    let mut dec = Decoder::with_limits(limits());
    let mut skipper = Decoder::with_limits(limits());
    let mut pos = 0;
    let mut avail = 0;
    let mut got = Vec::new();
    while pos < data.len() {
        avail = (avail + stride).min(data.len());
        match dec.decode_next(&data[pos..avail]) {
            Ok(Some((_, used))) => {
                // Skipping from the same state consumes the same bytes.
                assert_eq!(skipper.skip_next(&data[pos..avail]), Ok(Some(used)));
                got.push(used);
                pos += used;
                avail = pos;
            }
            Ok(None) if avail < data.len() => {}
            Ok(None) | Err(_) => break,
        }
    }
    assert_eq!(got, lens, "incremental and one-shot decoding disagree");
});
