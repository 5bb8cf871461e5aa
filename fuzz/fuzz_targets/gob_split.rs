//! Fuzz target for the gob decoder's incremental contract: an async reader calls
//! `decode_next` whenever more bytes arrive, so a value cut at any point must yield
//! `Ok(None)` (nothing learnt) and the same value once the rest arrives. The first byte seeds
//! the cut points; each value is tried at no more than `MAX_CUTS` prefixes (each attempt
//! re-parses the value from its start), so the work per input is bounded by a small multiple
//! of one decode. Any panic, or a disagreement with the one-shot pass, is a bug.
#![no_main]

use canary_judge::gob::{Decoder, Limits};
use libfuzzer_sys::fuzz_target;

const LIMITS: Limits = Limits {
    max_message_bytes: 1 << 16,
    max_depth: 64,
    max_values: 1 << 14,
};

/// Prefix attempts per value before the whole rest is offered.
const MAX_CUTS: usize = 4;

/// Decode values from `data` until it is used up or an error; returns each value's length
/// and the final outcome (true: the stream ended cleanly or incomplete, false: an error).
fn one_shot(data: &[u8]) -> (Vec<usize>, bool) {
    let mut dec = Decoder::with_limits(LIMITS);
    let mut pos = 0;
    let mut lens = Vec::new();
    while pos < data.len() {
        match dec.decode_next(&data[pos..]) {
            Ok(Some((_, used))) => {
                lens.push(used);
                pos += used;
            }
            Ok(None) => return (lens, true),
            Err(_) => return (lens, false),
        }
    }
    (lens, true)
}

/// A small xorshift so the cut points depend on the seed byte without consuming input.
fn next(state: &mut u32) -> u32 {
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;
    *state
}

fuzz_target!(|input: &[u8]| {
    let Some((&seed, data)) = input.split_first() else {
        return;
    };
    let (lens, clean) = one_shot(data);

    let mut rng = u32::from(seed) | 0x100;
    let mut dec = Decoder::with_limits(LIMITS);
    let mut pos = 0;
    let mut got = Vec::new();
    let mut ok = true;
    'values: while pos < data.len() {
        let rest = data.len() - pos;
        // Cut points strictly inside the rest, increasing, then the whole rest.
        let mut cuts: Vec<usize> = (0..MAX_CUTS)
            .map(|_| 1 + next(&mut rng) as usize % rest.max(1))
            .filter(|&c| c < rest)
            .collect();
        cuts.sort_unstable();
        cuts.push(rest);
        for avail in cuts {
            match dec.decode_next(&data[pos..pos + avail]) {
                Ok(Some((_, used))) => {
                    assert!(used <= avail);
                    got.push(used);
                    pos += used;
                    continue 'values;
                }
                Ok(None) => {}
                Err(_) => {
                    ok = false;
                    break 'values;
                }
            }
        }
        break; // the whole rest is an incomplete value
    }
    assert_eq!(got, lens, "incremental and one-shot decoding disagree");
    assert_eq!(ok, clean, "incremental and one-shot outcomes disagree");
});
