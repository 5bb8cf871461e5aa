//! Fuzz target for the gob decoder, one pass: arbitrary bytes decoded as a stream of values
//! until the bytes run out or the decoder reports an error. Cheap per input (one decode and
//! one skip of every value), so the fuzzer spends its time on new inputs rather than on
//! re-parsing old ones; the incremental (split-buffer) contract has its own target,
//! `gob_split`. Any panic, overflow or limit breach is a bug; errors are fine.
#![no_main]

use canary_judge::gob::{Decoder, Limits};
use libfuzzer_sys::fuzz_target;

/// Small enough that a hostile length or count fails fast, large enough for a real RunArgs
/// (about 6 KiB with its type definitions, see fuzz/README.md).
const LIMITS: Limits = Limits {
    max_message_bytes: 1 << 16,
    max_depth: 64,
    max_values: 1 << 14,
};

fuzz_target!(|data: &[u8]| {
    let mut dec = Decoder::with_limits(LIMITS);
    let mut skipper = Decoder::with_limits(LIMITS);
    let mut pos = 0;
    while pos < data.len() {
        let rest = &data[pos..];
        let decoded = dec.decode_next(rest);
        // Skipping from the same state consumes the same bytes and learns the same types.
        let skipped = skipper.skip_next(rest);
        match decoded {
            Ok(Some((_, used))) => {
                assert!(used > 0 && used <= rest.len(), "consumed {used} of {}", rest.len());
                assert_eq!(skipped, Ok(Some(used)), "skip and decode disagree");
                pos += used;
            }
            Ok(None) => {
                assert_eq!(skipped, Ok(None), "skip and decode disagree");
                break;
            }
            Err(e) => {
                assert!(skipped.is_err(), "decode failed ({e}) but skip did not: {skipped:?}");
                break;
            }
        }
    }
});
